"""Whole-pipeline timings: clean and no-op runs in fresh copies of the project.

For each measured config: a clean `snakemake --cores N` run, a no-op rerun, and a no-op dry run
(`snakemake -n`, the cost of parsing the workflow and checking the config when nothing changed).
A synthetic config with many likelihood models measures how parsing scales with models.
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
        raise RuntimeError(f"snakemake {' '.join(args)} failed in {workdir}:\n{result.stderr[-3000:]}")
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


def run_pipeline_timing(job, configs: dict, many_models: int, cores: int, targets: dict, output: str) -> None:
    """Rule `pipeline_timing`: clean, no-op and dry-run timings of whole configs.

    Args:
        job: the `runtime.Job`.
        configs: label -> path of a config file to time (relative to the project).
        many_models: models in the synthetic parse-scaling config (0: skip it).
        cores: --cores of the clean runs.
        targets: `benchmark.targets.pipeline`.
        output: path of pipeline.json.
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
        rows = [with_targets(row, targets) for row in rows] + [snakemake_floor()]
        params = {"configs": configs, "many_models": many_models, "cores": cores, "targets": targets}
        prov = Provenance.record(params, "cpu", time.perf_counter() - started)
        PipelineTiming(runs=rows, cpu=cpu_info(), provenance=prov).write(output)
