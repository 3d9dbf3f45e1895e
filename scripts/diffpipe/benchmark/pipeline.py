"""Whole-pipeline timings: clean and no-op runs in fresh copies of the project.

For each measured config: a clean `snakemake --cores N` run, a no-op rerun, and a no-op dry run
(`snakemake -n`, the cost of parsing the workflow and checking the config when nothing changed).
A synthetic config with many likelihood models measures how parsing scales with models. The seed
notebook as one script (resources/notebook_script.py) runs in the same job, and each clean run is
reported as a ratio to it. After a clean run, the jobs of chosen rules are run again alone, each
under `python -X importtime`, from the scripts Snakemake kept: their wall time with nothing else
running (plot jobs have a target) and how much of it was importing, by package.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from diffpipe.provenance import REPO_ROOT

PROJECT_PARTS = ("workflow", "scripts", "config", "profiles", "resources", "environment.yml")


def copy_project(dest: Path) -> None:
    """Copy the project's code, configs and resources (no results, no .snakemake).

    Args:
        dest: an empty folder.
    """
    for name in PROJECT_PARTS:
        src = REPO_ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            shutil.copy(src, dest / name)


def timed(workdir: Path, *args: str) -> float:
    """Run snakemake in `workdir` and time it.

    Args:
        workdir: the project copy.
        args: snakemake arguments.

    Returns:
        Wall time in seconds.

    Raises:
        RuntimeError: when snakemake fails (with the end of its output).
    """
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    started = time.perf_counter()
    result = subprocess.run([snakemake, *args], cwd=workdir, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-3000:]
        raise RuntimeError(f"snakemake {' '.join(args)} failed in {workdir}:\n{output}")
    return time.perf_counter() - started


IMPORT_LINE = re.compile(r"^import time:\s*(\d+)\s*\|\s*(\d+)\s*\|( +)(\S+)\s*$")
LOG_PATH = re.compile(rb"results/logs/[A-Za-z0-9_./-]+?\.log")


def import_seconds(lines: list[str]) -> tuple[float, dict[str, float]]:
    """Import time from `python -X importtime` output.

    Args:
        lines: the output (other lines are ignored).

    Returns:
        (total seconds of the top-level imports, top-level module -> cumulative seconds).
    """
    modules: dict[str, float] = {}
    for line in lines:
        match = IMPORT_LINE.match(line)
        if match and len(match.group(3)) == 1:  # one space: imported by the script itself, not nested
            modules[match.group(4)] = modules.get(match.group(4), 0.0) + int(match.group(2)) / 1e6
    return sum(modules.values()), modules


def kept_scripts(workdir: Path) -> dict[str, list[Path]]:
    """The job scripts Snakemake kept (`--skip-script-cleanup`), by rule.

    Args:
        workdir: the project copy after a run.

    Returns:
        rule -> its jobs' scripts (`.snakemake/scripts/tmp<random>.<rule>.py`), in name order.
    """
    scripts: dict[str, list[Path]] = {}
    for path in sorted((workdir / ".snakemake" / "scripts").glob("tmp*.py")):
        scripts.setdefault(path.name.split(".")[-2], []).append(path)
    return scripts


def profile_job(workdir: Path, script: Path, rule: str) -> dict:
    """Run one job's kept script again, alone, under `python -X importtime`.

    Imports before the job opens its log go to standard error; those after (the lazy ones
    inside functions: JAX, pyhf, TensorFlow) to the job's log, whose path is in the script.

    Args:
        workdir: the project copy.
        script: the kept script.
        rule: its rule.

    Returns:
        rule, job (the log's name under results/logs), job_s, import_s, import_share and
        top_imports (the three costliest top-level imports).

    Raises:
        RuntimeError: when the job fails.
    """
    found = LOG_PATH.search(script.read_bytes())
    log = workdir / found.group(0).decode() if found else None
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(script)], cwd=workdir, capture_output=True, text=True, timeout=3600
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"job script {script.name} failed:\n{result.stderr[-3000:]}")
    lines = result.stderr.splitlines() + (log.read_text(errors="replace").splitlines() if log and log.is_file() else [])
    total, modules = import_seconds(lines)
    top = sorted(modules.items(), key=lambda item: -item[1])[:3]
    name = str(Path(found.group(0).decode()).relative_to("results/logs").with_suffix("")) if found else rule
    return {
        "rule": rule,
        "job": name,
        "job_s": round(elapsed, 2),
        "import_s": round(total, 2),
        "import_share": round(total / elapsed, 2) if elapsed > 0 else None,
        "top_imports": ", ".join(f"{module} {seconds:.2f}" for module, seconds in top),
    }


def plot_floor(workdir: Path) -> dict:
    """What any plot job pays before drawing: Python importing matplotlib's pyplot and NumPy.

    Measured beside the plot jobs so that their times can be read against this machine's speed
    at that moment (a shared machine's speed drifts by 2x over an hour).

    Args:
        workdir: where to run it.

    Returns:
        A `profile_job`-shaped row with rule "(floor)".
    """
    code = "import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot, numpy"
    elapsed = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=workdir, check=True, capture_output=True, timeout=600)
        elapsed.append(time.perf_counter() - started)
    return {
        "rule": "(floor)",
        "job": "python -c 'import matplotlib.pyplot, numpy' (best of 3)",
        "job_s": round(min(elapsed), 2),
        "import_s": None,
        "import_share": None,
        "top_imports": "",
    }


def profile_jobs(workdir: Path, which: str) -> list[dict]:
    """Profile the kept jobs of a run: one job per rule ("rules") or every plot job ("plots").

    Args:
        workdir: the project copy after a run with `--skip-script-cleanup`.
        which: "rules" or "plots".

    Returns:
        `profile_job` rows, costliest first; for "plots", after a `plot_floor` row.
    """
    rows = []
    for rule, scripts in kept_scripts(workdir).items():
        if which == "plots" and rule.startswith("plot_"):
            rows += [profile_job(workdir, script, rule) for script in scripts]
        elif which == "rules":
            rows.append(profile_job(workdir, scripts[0], rule))
    rows.sort(key=lambda row: -row["job_s"])
    return [plot_floor(workdir), *rows] if which == "plots" else rows


def many_models_config(base: dict, models: int) -> dict:
    """A config with `models` copies of the first likelihood model (parse-time scaling).

    Args:
        base: a config (as loaded from YAML).
        models: number of models.

    Returns:
        The new config.
    """
    config = dict(base)
    first = next(iter(base["likelihood"]["models"].values()))
    likelihood = dict(base["likelihood"])
    likelihood["models"] = {f"model_{i:02d}": first for i in range(models)}
    config["likelihood"] = likelihood
    config["optimizers"] = {
        **base["optimizers"],
        "problems": {k: v for k, v in base["optimizers"]["problems"].items() if "likelihood_model" not in v},
    }
    config["toys"] = {}  # toy studies name models that the copies replace
    if config.get("benchmark"):
        config["benchmark"] = {**config["benchmark"], "enabled": False}
    return config


def measure(config: dict, label: str, cores: int, clean: bool, jobs: str | None = None) -> tuple[dict, list[dict]]:
    """Time one config in a fresh copy of the project.

    Args:
        config: the config to run (replaces config/config.yaml in the copy).
        label: its name in the table.
        cores: --cores of the clean run.
        clean: also time a clean run and a no-op rerun (else only the no-op dry run, after
            one dry run that fills the parse-time check cache).
        jobs: after the clean run, profile one job per rule ("rules"), every plot job
            ("plots") or none (None); see `profile_jobs`.

    Returns:
        (row, job rows): the row has config, cores, and clean_run_s, noop_rerun_s (when
        clean), noop_dry_run_s; each job row is a `profile_job` row with the config's label.
    """
    profiled: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="diffpipe-bench-") as tmp:
        workdir = Path(tmp)
        copy_project(workdir)
        (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
        row: dict = {"config": label, "cores": cores}
        if clean:
            keep = ["--skip-script-cleanup"] if jobs else []
            row["clean_run_s"] = round(timed(workdir, "--cores", str(cores), *keep), 2)
            row["noop_rerun_s"] = round(timed(workdir, "--cores", str(cores)), 2)
            if jobs:
                profiled = [{"config": label, **job} for job in profile_jobs(workdir, jobs)]
        else:
            timed(workdir, "-n")
        row["noop_dry_run_s"] = round(min(timed(workdir, "-n") for _ in range(3)), 2)
    return row, profiled


def snakemake_floor() -> dict:
    """The no-op `snakemake -n` of a one-rule workflow: what Snakemake itself costs on this machine.

    Returns:
        A row labelled "one-rule workflow (Snakemake's floor)" with noop_dry_run_s.
    """
    with tempfile.TemporaryDirectory(prefix="diffpipe-floor-") as tmp:
        workdir = Path(tmp)
        (workdir / "Snakefile").write_text('rule one:\n    output: "one.txt"\n    shell: "touch {output}"\n')
        timed(workdir, "--cores", "1")
        row = {"config": "one-rule workflow (Snakemake's floor)", "cores": 1}
        row["noop_dry_run_s"] = round(min(timed(workdir, "-n") for _ in range(3)), 2)
    return row


def notebook_script_timing(script: str) -> dict:
    """Run the seed notebook as one script (a fresh process, figures to a temporary folder).

    Args:
        script: path of resources/notebook_script.py.

    Returns:
        A row labelled "the notebook as one script" with script_s.

    Raises:
        RuntimeError: when the script fails (with the end of its output).
    """
    # the notebook's own 1000 fractal iterations, whatever the environment says (the tests lower it)
    env = {k: v for k, v in os.environ.items() if k != "NOTEBOOK_FRACTAL_ITERATIONS"}
    with tempfile.TemporaryDirectory(prefix="diffpipe-notebook-") as tmp:
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(Path(script).resolve()), tmp],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=3600,
            env=env,
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"{script} failed:\n{result.stderr[-3000:]}")
    return {"config": "the notebook as one script", "cores": 1, "script_s": round(elapsed, 2)}


def versus_notebook(row: dict, script_s: float, targets: dict) -> dict:
    """Add a clean run's ratio to the notebook script, its target and whether it was met.

    Only configs with a target are compared: the notebook's scope is; the default experiment,
    which does far more than the notebook, is not.

    Args:
        row: a `measure` row with clean_run_s.
        script_s: the notebook script's wall time.
        targets: config label -> highest ratio (`benchmark.targets.pipeline_vs_notebook`).

    Returns:
        The row with vs_notebook_script, _target and _met where a target is set.
    """
    if "clean_run_s" not in row or row["config"] not in targets:
        return row
    row["vs_notebook_script"] = round(row["clean_run_s"] / script_s, 3)
    row["vs_notebook_script_target"] = targets[row["config"]]
    row["vs_notebook_script_met"] = bool(row["vs_notebook_script"] <= targets[row["config"]])
    return row


def over_floor(row: dict, floor_s: float) -> dict:
    """Add how much longer a config's no-op dry run takes than Snakemake's own floor.

    Args:
        row: a `measure` row.
        floor_s: the one-rule workflow's no-op dry run, same run (`snakemake_floor`).

    Returns:
        The row with `dry_run_over_floor_s` (the parse and DAG time diffpipe adds) and
        `floor_dry_run_s`.
    """
    if "noop_dry_run_s" in row:
        row["floor_dry_run_s"] = floor_s
        row["dry_run_over_floor_s"] = round(row["noop_dry_run_s"] - floor_s, 2)
    return row


def with_targets(row: dict, targets: dict) -> dict:
    """Add each measured quantity's target and whether it was met.

    Args:
        row: a `measure` row.
        targets: quantity -> seconds (`benchmark.targets.pipeline`).

    Returns:
        The row with `<quantity>_target` and `<quantity>_met` added.
    """
    for key, target in targets.items():
        if key in row:
            row[f"{key}_target"] = target
            row[f"{key}_met"] = bool(row[key] <= target)
    return row


def with_plot_target(row: dict, plot_job_s: float | None) -> dict:
    """Add the plot-job target to a plot job's profile row.

    Args:
        row: a `profile_job` row.
        plot_job_s: the target (None: no target).

    Returns:
        The row, with job_s_target and job_s_met for a plot job.
    """
    if plot_job_s is not None and row["rule"].startswith("plot_"):
        row["job_s_target"] = plot_job_s
        row["job_s_met"] = bool(row["job_s"] <= plot_job_s)
    return row


def run_pipeline_timing(
    job,
    configs: dict,
    many_models: int,
    cores: int,
    targets: dict,
    output: str,
    notebook_script: str | None = None,
    vs_notebook: dict | None = None,
    profile: dict | None = None,
    plot_job_s: float | None = None,
) -> None:
    """Rule `pipeline_timing`: clean, no-op and dry-run timings of whole configs.

    Args:
        job: the `runtime.Job`.
        configs: label -> path of a config file to time (relative to the project).
        many_models: models in the synthetic parse-scaling config (0: skip it).
        cores: --cores of the clean runs.
        targets: `benchmark.targets.pipeline`.
        output: path of pipeline.json.
        notebook_script: the notebook as one script (None: no baseline).
        vs_notebook: `benchmark.targets.pipeline_vs_notebook`.
        profile: config label -> which jobs to profile after its clean run ("rules", "plots").
        plot_job_s: the longest a plot job may take alone (`benchmark.targets.plot_job_s`).
    """
    from diffpipe.artifacts import PipelineTiming
    from diffpipe.provenance import Provenance, cpu_info
    from diffpipe.runtime import logged

    with logged(job):
        started = time.perf_counter()
        loaded = {label: yaml.safe_load((REPO_ROOT / path).read_text()) for label, path in configs.items()}
        rows, jobs = [], []
        for label, config in loaded.items():
            row, profiled = measure(config, label, cores, clean=True, jobs=(profile or {}).get(label))
            rows.append(row)
            jobs += [with_plot_target(job_row, plot_job_s) for job_row in profiled]
        if many_models:
            base = next(iter(loaded.values()))
            row, _ = measure(many_models_config(base, many_models), f"{many_models} likelihood models", cores, False)
            rows.append(row)
        floor = snakemake_floor()
        rows = [with_targets(over_floor(row, floor["noop_dry_run_s"]), targets) for row in rows]
        if notebook_script:
            baseline = notebook_script_timing(notebook_script)
            rows = [versus_notebook(row, baseline["script_s"], vs_notebook or {}) for row in rows] + [baseline]
        rows.append(floor)
        params = {
            "configs": configs,
            "many_models": many_models,
            "cores": cores,
            "targets": targets,
            "notebook_script": notebook_script,
            "vs_notebook": vs_notebook,
            "profile": profile,
            "plot_job_s": plot_job_s,
        }
        prov = Provenance.record(params, "cpu", time.perf_counter() - started)
        PipelineTiming(runs=rows, jobs=jobs, cpu=cpu_info(), provenance=prov).write(output)
