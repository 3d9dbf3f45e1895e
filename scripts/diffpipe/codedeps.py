"""Code dependencies of a rule: the package modules its entry script imports, directly or not.

Read with `ast` (nothing is imported), so the workflow can declare each rule's code as inputs
while parsing, without a hand-kept list: an edit to a module reruns exactly the rules whose
scripts reach it. Imports inside functions count (a lazy import is still used code); importing
`a.b.c` runs the `__init__.py` of `a` and `a.b` too, so those count as well. The same walk finds
the files of a user's `module:function` reference in the project folder (any package there).
"""

import ast
import atexit
import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

PACKAGE = "diffpipe"

# imported_names' answers kept on disk between workflow parses (see `use_import_cache`)
_store: dict | None = None


@functools.cache
def module_file(name: str, root: Path) -> Path | None:
    """The file of a dotted module name under `root` (the folder that holds the package).

    Args:
        name: dotted module name, e.g. "diffpipe.likelihood.fit".
        root: the folder on sys.path that holds the package.

    Returns:
        The module's .py file or its package's __init__.py; None when neither exists.
    """
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def use_import_cache(cache_file: Path, root: Path) -> Callable[[], None]:
    """Keep `imported_names`' answers in a file between parses of the workflow.

    An answer is reused while its file has the same modification time and size and the
    package's set of module files is the same (a module added or removed can change what an
    import names); the file is rewritten at exit when something new was read.

    Args:
        cache_file: the cache (under .snakemake/).
        root: the folder that holds the package.

    Returns:
        The function that writes the cache (registered to run at exit).
    """
    global _store
    listing = hashlib.sha256("\n".join(sorted(map(str, root.rglob("*.py")))).encode()).hexdigest()
    try:
        stored = json.loads(cache_file.read_text())
        files = stored["files"] if stored.get("listing") == listing else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        files = {}
    _store = {"listing": listing, "files": files, "dirty": False}

    def save() -> None:
        if _store is not None and _store["dirty"]:
            from diffpipe.storage import write_text

            try:
                write_text(cache_file, json.dumps({"listing": _store["listing"], "files": _store["files"]}))
            except OSError:  # a cache: the next parse reads the files again
                pass

    atexit.register(save)
    return save


@functools.cache
def imported_names(path: Path, root: Path, package: str | None = PACKAGE) -> frozenset[str]:
    """Every package module one file imports (at any depth of its code).

    Args:
        path: a Python file.
        root: the folder that holds the package.
        package: the top-level package followed (None: every module found under `root`).

    Returns:
        Dotted names of the package's modules it imports, parents included.
    """
    if _store is None:
        return _read_imports(path, root, package)
    stat = path.stat()
    key, stamp = f"{path}|{root}|{package}", [stat.st_mtime_ns, stat.st_size]
    hit = _store["files"].get(key)
    if hit is not None and hit[:2] == stamp:
        return frozenset(hit[2])
    found = _read_imports(path, root, package)
    _store["files"][key] = [*stamp, sorted(found)]
    _store["dirty"] = True
    return found


def _read_imports(path: Path, root: Path, package: str | None) -> frozenset[str]:
    """`imported_names` read from the file itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    inside = path.is_relative_to(root / package) if package else path.is_relative_to(root)
    current = _module_name(path, root) if inside else ""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = current.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if package and target.split(".")[0] != package:
                continue
            for name in _with_parents(target):
                if module_file(name, root) is not None:
                    found.add(name)
    return frozenset(found)


def _import_nodes(tree: ast.AST):
    """Import statements at any depth (skipping expressions, which cannot hold statements)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt) or isinstance(child, (ast.excepthandler, ast.match_case)):
                stack.append(child)


@functools.cache
def import_closure(script: Path, root: Path, package: str | None = PACKAGE) -> tuple[Path, ...]:
    """The package files a script runs when it runs, found by following imports.

    Args:
        script: an entry script (or any Python file).
        root: the folder that holds the package (scripts/).
        package: the top-level package followed (None: every module found under `root`).

    Returns:
        The package's files the script reaches, sorted (the script itself excluded).
    """
    seen: set[str] = set()
    pending = sorted(imported_names(script, root, package))
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(sorted(imported_names(module_file(name, root), root, package) - seen))
    return tuple(sorted(module_file(name, root) for name in seen))


def user_code_files(reference: str, root: Path) -> tuple[Path, ...]:
    """The project-folder files a user's `module:function` reference runs.

    Args:
        reference: a registry name or `package.module:function`.
        root: the project folder (the working directory of every job).

    Returns:
        The module's file and every module under `root` it imports, directly or not, sorted;
        () for a registry name or a module that is not a file under `root` (an installed one).
    """
    if ":" not in reference:
        return ()
    name = reference.partition(":")[0]
    path = module_file(name, root)
    if path is None:
        return ()
    parents = [module_file(p, root) for p in _with_parents(name)[:-1]]
    found = {path, *import_closure(path, root, None), *(p for p in parents if p is not None)}
    return tuple(sorted(found))
