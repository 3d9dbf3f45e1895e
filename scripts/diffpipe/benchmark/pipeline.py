"""Whole-pipeline timings: clean and no-op runs in fresh copies of the project.

For each measured config: a clean `snakemake --cores N` run, a no-op rerun, and a no-op dry run
(`snakemake -n`, the cost of parsing the workflow and checking the config when nothing changed).
A synthetic config with many likelihood models measures how parsing scales with models. The seed
notebook as one script (resources/notebook_script.py) runs in the same job, and each clean run is
reported as a ratio to it.
"""

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


def measure(config: dict, label: str, cores: int, clean: bool) -> dict:
    """Time one config in a fresh copy of the project.

    Args:
        config: the config to run (replaces config/config.yaml in the copy).
        label: its name in the table.
        cores: --cores of the clean run.
        clean: also time a clean run and a no-op rerun (else only the no-op dry run, after
            one dry run that fills the parse-time check cache).

    Returns:
        config, cores, and clean_run_s, noop_rerun_s (when clean), noop_dry_run_s.
    """
    with tempfile.TemporaryDirectory(prefix="diffpipe-bench-") as tmp:
        workdir = Path(tmp)
        copy_project(workdir)
        (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
        row: dict = {"config": label, "cores": cores}
        if clean:
            row["clean_run_s"] = round(timed(workdir, "--cores", str(cores)), 2)
            row["noop_rerun_s"] = round(timed(workdir, "--cores", str(cores)), 2)
        else:
            timed(workdir, "-n")
        row["noop_dry_run_s"] = round(min(timed(workdir, "-n") for _ in range(3)), 2)
    return row


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
    with tempfile.TemporaryDirectory(prefix="diffpipe-notebook-") as tmp:
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(Path(script).resolve()), tmp], cwd=tmp, capture_output=True, text=True, timeout=3600
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"{script} failed:\n{result.stderr[-3000:]}")
    return {"config": "the notebook as one script", "cores": 1, "script_s": round(elapsed, 2)}


def versus_notebook(row: dict, script_s: float, targets: dict) -> dict:
    """Add a clean run's ratio to the notebook script, its target and whether it was met.

    Args:
        row: a `measure` row with clean_run_s.
        script_s: the notebook script's wall time.
        targets: config label -> highest ratio (`benchmark.targets.pipeline_vs_notebook`).

    Returns:
        The row with vs_notebook_script (and _target, _met where a target is set).
    """
    if "clean_run_s" not in row:
        return row
    row["vs_notebook_script"] = round(row["clean_run_s"] / script_s, 3)
    if row["config"] in targets:
        row["vs_notebook_script_target"] = targets[row["config"]]
        row["vs_notebook_script_met"] = bool(row["vs_notebook_script"] <= targets[row["config"]])
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


def run_pipeline_timing(
    job,
    configs: dict,
    many_models: int,
    cores: int,
    targets: dict,
    output: str,
    notebook_script: str | None = None,
    vs_notebook: dict | None = None,
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
    """
    from diffpipe.artifacts import PipelineTiming
    from diffpipe.provenance import Provenance, cpu_info
    from diffpipe.runtime import logged

    with logged(job):
        started = time.perf_counter()
        loaded = {label: yaml.safe_load((REPO_ROOT / path).read_text()) for label, path in configs.items()}
        rows = [measure(config, label, cores, clean=True) for label, config in loaded.items()]
        if many_models:
            base = next(iter(loaded.values()))
            rows.append(
                measure(many_models_config(base, many_models), f"{many_models} likelihood models", cores, False)
            )
        rows = [with_targets(row, targets) for row in rows]
        if notebook_script:
            baseline = notebook_script_timing(notebook_script)
            rows = [versus_notebook(row, baseline["script_s"], vs_notebook or {}) for row in rows] + [baseline]
        rows.append(snakemake_floor())
        params = {
            "configs": configs,
            "many_models": many_models,
            "cores": cores,
            "targets": targets,
            "notebook_script": notebook_script,
            "vs_notebook": vs_notebook,
        }
        prov = Provenance.record(params, "cpu", time.perf_counter() - started)
        PipelineTiming(runs=rows, cpu=cpu_info(), provenance=prov).write(output)
