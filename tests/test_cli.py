"""The `diffpipe` command line from a fresh copy of the project, installed with `pip install -e .`.

In order, as a pyhf user would type them: the patches of a shipped patchset, a limit on a shipped
workspace and patch (against pyhf's `upper_limit`), a signal grid split over two jobs, the same
limit again (nothing reruns), an experiment file outside config/ holding one model (only its jobs
and the report), and bad arguments (one line naming the file or name, exit 2, nothing written).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, copy_project, planned_jobs, require

pytestmark = pytest.mark.workflow

WORKSPACE = "resources/pyhf/example_bkgonly.json"
PATCHSET = "resources/pyhf/example_patchset.json"
PATCH = "patch_channel1_signal_syst1"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(project copy, the `diffpipe` command of a fresh virtual environment holding it editable)."""
    work = copy_project(tmp_path_factory.mktemp("cli-project"))
    for name in ("pyproject.toml", "requirements.txt", "README.md"):
        shutil.copy(ROOT / name, work / name)
    uv = Path(sys.executable).with_name("uv")
    require(uv.exists(), "uv (installed by `make test`'s bootstrap) makes the fresh environment from the pins' cache")
    venv = tmp_path_factory.mktemp("cli-venv") / "venv"
    subprocess.run([str(uv), "venv", "-q", str(venv), "--python", sys.executable], check=True, timeout=120)
    subprocess.run(
        [str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-e", str(work)],
        check=True,
        timeout=600,
    )
    return work, venv / "bin"


def diffpipe(installed, *args, cwd=None, timeout=600):
    work, bin_dir = installed
    return subprocess.run(
        [str(bin_dir / "diffpipe"), *args],
        cwd=cwd or work,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def results_listing(work: Path) -> list[str]:
    root = work / "results"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_installed_package_imports_and_runs_from_another_folder(installed, tmp_path):
    work, bin_dir = installed
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import diffpipe, diffpipe.cli; print(diffpipe.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where) == work / "scripts" / "diffpipe" / "__init__.py"
    help_text = diffpipe(installed, "--help", cwd=tmp_path)
    assert help_text.returncode == 0, help_text.stderr
    for command in ("fit", "limit", "significance", "ranking", "grid", "toys", "patches", "run"):
        assert f"  {command} " in help_text.stdout


def test_patches_lists_names_and_values(installed):
    out = diffpipe(installed, "patches", PATCHSET, "--json")
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    patchset = json.loads((installed[0] / PATCHSET).read_text())
    assert listed["labels"] == patchset["metadata"]["labels"]
    assert listed["patches"] == [
        {"name": p["metadata"]["name"], "values": p["metadata"]["values"]} for p in patchset["patches"]
    ]
    table = diffpipe(installed, "patches", PATCHSET).stdout
    assert PATCH in table and "x" in table.splitlines()[0]


@pytest.fixture(scope="module")
def limit_run(installed):
    out = diffpipe(installed, "limit", WORKSPACE, "--patchset", PATCHSET, "--patch", PATCH, "--cores", "2", "--json")
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout)


def test_limit_agrees_with_pyhf_upper_limit(installed, limit_run):
    import pyhf

    work = installed[0]
    workspace = pyhf.Workspace(json.loads((work / WORKSPACE).read_text()))
    patched = pyhf.PatchSet(json.loads((work / PATCHSET).read_text())).apply(workspace, PATCH)
    model = patched.model()
    data = patched.data(model)
    observed, expected = pyhf.infer.intervals.upper_limits.upper_limit(data, model, rtol=1e-6)
    assert limit_run["poi"] == model.config.poi_name
    assert limit_run["obs_limit"] == pytest.approx(float(observed), rel=1e-3)
    assert limit_run["exp_limits"] == pytest.approx([float(e) for e in expected], rel=1e-3)
    experiment = work / "results" / "experiments" / f"limit-example_bkgonly_{PATCH}.yaml"
    assert str(work / WORKSPACE) in experiment.read_text()  # the run, reproducible with plain Snakemake


def test_grid_over_two_jobs(installed):
    out = diffpipe(
        installed,
        "grid",
        "resources/generated/bkgonly.json",
        "--patchset",
        "resources/generated/patchset.json",
        "--patches",
        "sig_400_0,sig_400_100",
        "--jobs",
        "2",
        "--cores",
        "2",
        "--json",
    )
    assert out.returncode == 0, out.stderr[-4000:]
    grid = json.loads(out.stdout)
    assert [p["patch"] for p in grid["points"]] == ["sig_400_0", "sig_400_100"]
    assert grid["labels"] == ["m_parent", "m_lsp"] and grid["points"][1]["values"] == [400, 100]
    assert all(p["obs_limit"] > 0 and p["exp_limits"] == sorted(p["exp_limits"]) for p in grid["points"])
    blocks = sorted(p.name for p in (installed[0] / "results" / "signal" / "patchset").glob("block*.csv"))
    assert blocks == ["block0.csv", "block1.csv"]


def test_same_limit_again_reruns_nothing(installed, limit_run):
    out = diffpipe(installed, "limit", WORKSPACE, "--patchset", PATCHSET, "--patch", PATCH, "--cores", "2", "--json")
    assert out.returncode == 0, out.stderr[-4000:]
    assert "Nothing to be done" in out.stderr and "rule inference" not in out.stderr
    assert json.loads(out.stdout) == limit_run


def test_experiment_outside_config_runs_its_model_and_the_report(installed, tmp_path):
    work = installed[0]
    experiment = tmp_path / "mine.yaml"
    experiment.write_text(
        f"likelihood:\n  models:\n    mine:\n      workspace: {work / 'resources/pyhf/2-bin_1-channel.json'}\n"
    )
    jobs = planned_jobs(work, "--config", f"experiment={experiment}")
    assert {rule for rule, _ in jobs} == {
        "fit",
        "grid_scan",
        "plot_likelihood",
        "inference",
        "plot_inference",
        "plot_yields",
        "sensitivity",
        "plot_sensitivity",
        "table",
        "hepdata",
        "report",
    }
    assert all(wildcards == "" or wildcards.split(", ")[0] == "model=mine" for _, wildcards in jobs)


@pytest.mark.parametrize(
    "args, named",
    [
        (["limit", "missing.json"], "missing.json"),
        (["limit", WORKSPACE, "--patchset", PATCHSET, "--patch", "no_such_patch"], "no_such_patch"),
        (["limit", WORKSPACE, "--patch-file", "PATCHFILE"], "PATCHFILE"),
        (["grid", WORKSPACE, "--patchset", "missing_patchset.json"], "missing_patchset.json"),
        (["run", "no/such/experiment.yaml"], "no/such/experiment.yaml"),
        (["limit", "NOPOI"], "needs a parameter of interest"),  # a measurement POI not in the workspace
    ],
)
def test_bad_arguments_name_the_culprit_and_write_nothing(installed, tmp_path, args, named):
    work = installed[0]
    patch_file = tmp_path / "bad_patch.json"
    patch_file.write_text(json.dumps([{"op": "remove", "path": "/channels/9"}]))
    no_poi = tmp_path / "no_poi.json"
    workspace = json.loads((work / WORKSPACE).read_text())
    workspace["measurements"] = workspace["measurements"][:1]
    workspace["measurements"][0]["config"]["poi"] = "mu_not_declared"
    no_poi.write_text(json.dumps(workspace))
    args = [{"PATCHFILE": str(patch_file), "NOPOI": str(no_poi)}.get(a, a) for a in args]
    named = str(patch_file) if named == "PATCHFILE" else named
    before = results_listing(work)
    out = diffpipe(installed, *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("diffpipe: error:") and named in lines[0], out.stderr
    assert results_listing(work) == before
