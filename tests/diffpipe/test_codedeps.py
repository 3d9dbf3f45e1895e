"""Code inputs come from each entry script's import closure (ast), checked against ModuleFinder."""

import modulefinder

from conftest import ROOT

from diffpipe.codedeps import import_closure, imported_names, user_code_files

SCRIPTS = ROOT / "scripts"


def modulefinder_closure(script):
    """Independent reference: the stdlib's bytecode scanner, restricted to the package."""
    finder = modulefinder.ModuleFinder(path=[str(SCRIPTS)])
    finder.run_script(str(script))
    return {mod.__file__ for name, mod in finder.modules.items() if name.startswith("diffpipe") and mod.__file__}


def test_closure_equals_modulefinder_for_every_entry_script():
    scripts = sorted(SCRIPTS.glob("*.py"))
    assert len(scripts) >= 15
    for script in scripts:
        ours = {str(p) for p in import_closure(script, SCRIPTS)}
        assert ours == modulefinder_closure(script), script.name


def test_relative_and_lazy_imports_count(tmp_path):
    pkg = tmp_path / "diffpipe"
    (pkg / "stage").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "stage" / "__init__.py").write_text("")
    (pkg / "shared.py").write_text("X = 1\n")
    (pkg / "stage" / "helper.py").write_text("Y = 2\n")
    (pkg / "stage" / "main.py").write_text(
        "from . import helper\n\ndef f():\n    from ..shared import X\n    return X\n"
    )
    entry = tmp_path / "entry.py"
    entry.write_text("try:\n    from diffpipe.stage.main import f\nexcept ImportError:\n    pass\n")
    names = {p.relative_to(tmp_path).as_posix() for p in import_closure(entry, tmp_path)}
    assert names == {
        "diffpipe/__init__.py",
        "diffpipe/stage/__init__.py",
        "diffpipe/stage/main.py",
        "diffpipe/stage/helper.py",
        "diffpipe/shared.py",
    }
    assert "diffpipe.shared" in imported_names(pkg / "stage" / "main.py", tmp_path)


def test_a_user_reference_reaches_its_module_and_what_it_imports_from_the_project(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "__init__.py").write_text("")
    (tmp_path / "mine" / "shapes.py").write_text("import numpy\nfrom .util import K\nfrom helpers import H\n")
    (tmp_path / "mine" / "util.py").write_text("K = 1\n")
    (tmp_path / "helpers.py").write_text("def H():\n    import mine.unused_elsewhere\n")
    (tmp_path / "mine" / "unused_elsewhere.py").write_text("")
    (tmp_path / "mine" / "other.py").write_text("")  # not imported: not an input
    files = {p.relative_to(tmp_path).as_posix() for p in user_code_files("mine.shapes:bowl", tmp_path)}
    assert files == {"mine/__init__.py", "mine/shapes.py", "mine/util.py", "helpers.py", "mine/unused_elsewhere.py"}
    assert user_code_files("rosenbrock", tmp_path) == ()  # a registry name
    assert user_code_files("numpy.linalg:norm", tmp_path) == ()  # installed, not the project's


def test_the_check_cache_salt_covers_every_module_the_checks_import():
    from diffpipe.configcheck.cache import check_code

    names = {p.relative_to(SCRIPTS / "diffpipe").as_posix() for p in check_code()}
    parts = {f"configcheck/{p.name}" for p in (SCRIPTS / "diffpipe" / "configcheck").glob("*.py")}
    assert parts | {"runtime.py", "models.py", "histfactory.py", "functions.py", "starts.py"} <= names


def test_stage_modules_do_not_import_each_other():
    stages = {
        "gradients",
        "optimizers",
        "likelihood",
        "inference",
        "toys",
        "fractals",
        "benchmark",
        "plots",
        "report",
        "tables",
        "hepdata",
    }
    package = SCRIPTS / "diffpipe"
    for path in package.rglob("*.py"):
        own = path.relative_to(package).parts[0] if path.parent != package else None
        for name in imported_names(path, SCRIPTS):
            parts = name.split(".")
            if len(parts) > 1 and parts[1] in stages:
                assert parts[1] == own, f"{path.relative_to(SCRIPTS)} imports stage module {name}"
            if own is None and len(parts) > 1:
                assert parts[1] not in stages, f"shared module {path.name} imports stage {name}"


def test_no_entry_script_shadows_an_installed_module():
    """scripts/ is on sys.path in every job: an entry script named like a module a library
    imports (numba imports `coverage` when it can) would run in its place."""
    import importlib.machinery
    import sys
    from pathlib import Path

    # what a job's interpreter sees besides scripts/: not the test folders pytest adds
    elsewhere = [p for p in sys.path if p and not Path(p).resolve().is_relative_to(ROOT.resolve())]
    for script in SCRIPTS.glob("*.py"):
        found = importlib.machinery.PathFinder.find_spec(script.stem, elsewhere)
        assert found is None and script.stem not in sys.builtin_module_names, script.name


def test_the_import_cache_answers_until_a_file_or_the_package_changes(tmp_path, monkeypatch):
    from diffpipe import codedeps

    pkg = tmp_path / "diffpipe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from diffpipe import b\n")
    (pkg / "b.py").write_text("")
    cache = tmp_path / "imports.json"
    names = codedeps.imported_names.__wrapped__  # past the in-process memo
    monkeypatch.setattr(codedeps, "_store", None)
    codedeps.use_import_cache(cache, tmp_path)()  # nothing read yet: nothing written
    assert not cache.exists()
    save = codedeps.use_import_cache(cache, tmp_path)
    assert names(pkg / "a.py", tmp_path) == {"diffpipe", "diffpipe.b"}
    save()
    reads = []
    monkeypatch.setattr(codedeps, "_read_imports", lambda *a: reads.append(a[0]) or frozenset({"read"}))
    codedeps.use_import_cache(cache, tmp_path)
    assert names(pkg / "a.py", tmp_path) == {"diffpipe", "diffpipe.b"} and reads == []  # from the cache
    (pkg / "a.py").write_text("from diffpipe import b  # edited\n")
    assert names(pkg / "a.py", tmp_path) == {"read"} and reads == [pkg / "a.py"]  # its stamp changed
    save = codedeps.use_import_cache(cache, tmp_path)
    save()
    (pkg / "c.py").write_text("")  # a new module: every answer is read again
    codedeps.use_import_cache(cache, tmp_path)
    reads.clear()
    names(pkg / "b.py", tmp_path)
    assert reads == [pkg / "b.py"]
