"""The README's newcomer path, run as written: the first-experiment commands and named experiments.

Both start from a copy of the finished small run (the workflow tests' pipeline_run), so that the
real runs here are the additions and the report, not the whole small DAG again.
"""

import os
import re
import shlex
import shutil
import subprocess

import pytest
from conftest import ROOT, SNAKEMAKE, planned_jobs

pytestmark = pytest.mark.workflow

EXPECTED = {  # overlay -> (rule, wildcards) its dry run schedules, as the README's table says
    "add-fractal.yaml": {
        ("fractal", "fractal=dendrite"),
        ("plot_fractal", "fractal=dendrite"),
        ("plot_fractals", ""),
        ("report", ""),
    },
    "add-workspace.yaml": {
        ("fit", "model=gauss_example"),
        ("grid_scan", "model=gauss_example"),
        ("plot_likelihood", "model=gauss_example"),
        ("inference", "model=gauss_example"),
        ("plot_inference", "model=gauss_example"),
        ("plot_yields", "model=gauss_example"),
        ("sensitivity", "model=gauss_example"),
        ("plot_sensitivity", "model=gauss_example"),
        *(("table", f"model=gauss_example, table={kind}") for kind in ("yields", "limits", "ranking")),
        ("hepdata", ""),
        ("report", ""),
    },
    "add-function.yaml": {("gradients", ""), ("report", "")},
}


def readme_block(heading: str) -> list[str]:
    """The command lines of the first bash block under a README heading."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {heading}\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def finished_small_run(pipeline_run, dest):
    """A copy of the finished small run (results, Snakemake's metadata and mtimes kept)."""
    shutil.copytree(pipeline_run, dest, symlinks=True)
    return dest


def test_readme_first_experiment_commands_schedule_exactly_what_the_readme_says(pipeline_run, tmp_path):
    """Each dry run schedules what the README's table says, on top of the additions not yet run.
    Two commands run for real: the finished small run (nothing but the report to redo) and the
    first addition, a fractal; the workspace's stages and the gradient table run in the workflow
    tests' own run, so their real runs here would repeat it."""
    work = finished_small_run(pipeline_run, tmp_path / "first")
    commands = readme_block("Your first experiment")
    assert len(commands) == 7
    pending = set()
    for k, line in enumerate(commands):
        args = shlex.split(line)
        assert args[0] == ".venv/bin/snakemake", line
        if "-n" in args:
            overlay = os.path.basename(args[-1])
            pending |= EXPECTED[overlay]
            jobs = planned_jobs(work, *[a for a in args[1:] if a != "-n"])
            assert jobs == pending, (line, jobs)
        elif k in (0, 2):
            result = subprocess.run([SNAKEMAKE, *args[1:]], cwd=work, capture_output=True, text=True, timeout=900)
            assert result.returncode == 0, result.stderr[-3000:]
            pending = set()
            # after a real run nothing is left to do for its command
            assert planned_jobs(work, *[a for a in args[1:] if a not in ("--cores", "2")]) == set()
    page = (work / "results" / "report.html").read_text()
    assert "dendrite" in page


def test_named_experiment_replaces_the_default_config(pipeline_run, tmp_path):
    work = finished_small_run(pipeline_run, tmp_path / "named")
    (work / "config" / "config.yaml").write_text((ROOT / "config" / "config.yaml").read_text())
    (work / ".venv").symlink_to(ROOT / ".venv")  # make's bootstrap sees the installed pins
    (work / "Makefile").write_text((ROOT / "Makefile").read_text())
    for name in ("requirements.txt", "requirements-dev.txt"):
        (work / name).write_text((ROOT / name).read_text())
    dry = subprocess.run(
        ["make", "-n", "run", "EXPERIMENT=small"], cwd=work, capture_output=True, text=True, timeout=60, check=True
    )
    assert "--config experiment=small" in dry.stdout
    # The small experiment alone: none of the default config's extra models, problems or functions.
    jobs = planned_jobs(work, "--config", "experiment=small", "--forceall")
    assert {w for r, w in jobs if r == "fit"} == {"model=counting", "model=no_poi"}
    assert {w for r, w in jobs if r == "optimize"} == {"problem=rosenbrock_2d"}
    # The real run: the small experiment is the finished run's config (only the report, which
    # shows the config's source, is redone) and the default config's entries appear nowhere.
    assert planned_jobs(work, "--config", "experiment=small") == {("report", "")}
    run = subprocess.run(
        ["make", "run", "EXPERIMENT=small", "CORES=2"], cwd=work, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    page = (work / "results" / "report.html").read_text()
    assert 'id="model-counting"' in page and 'id="model-notebook_counting"' not in page
    unknown = subprocess.run(
        [SNAKEMAKE, "-n", "--config", "experiment=nope"], cwd=work, capture_output=True, text=True, timeout=120
    )
    assert unknown.returncode != 0 and "config/experiments/nope.yaml" in unknown.stdout + unknown.stderr
