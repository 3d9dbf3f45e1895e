"""Shared test set-up: import path, float64 JAX, and helpers that run the real pipeline."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "data"))

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SMALL_CONFIG = ROOT / "tests" / "config" / "small.yaml"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip locally when a real component is missing; in CI the same gap is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def copy_project(dest: Path) -> Path:
    """A throwaway copy of the project (code + config), so tests may edit anything in it."""
    for name in ("workflow", "scripts", "config", "profiles", "resources"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "environment.yml", dest / "environment.yml")
    shutil.copy(SMALL_CONFIG, dest / "config" / "config.yaml")
    return dest


def snakemake(workdir: Path, *args: str, timeout: int = 900, check: bool = True, env=None):
    cmd = [SNAKEMAKE, "--cores", "2", *args]
    result = subprocess.run(
        cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env or os.environ.copy()
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
    return result


def planned_jobs(workdir: Path, *args: str) -> set[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run would execute ('all' excluded)."""
    out = snakemake(workdir, "-n", *args).stdout
    jobs = set()
    for block in re.split(r"\n(?=rule \w+:)", out):
        m = re.match(r"rule (\w+):", block.strip())
        if not m or m.group(1) == "all":
            continue
        wc = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        jobs.add((m.group(1), wc.group(1).strip() if wc else ""))
    return jobs


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory):
    """One full run of the real pipeline on the small config, shared by the workflow tests."""
    workdir = copy_project(tmp_path_factory.mktemp("pipeline"))
    snakemake(workdir)
    return workdir
