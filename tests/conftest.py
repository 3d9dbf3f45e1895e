"""Shared test set-up: import path, float64 JAX, and helpers that run the real pipeline."""

import atexit
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The suite's JAX programs are small and mostly run once: compiling them is most of its time.
# XLA's backend optimisation passes cost a quarter of test_histfactory's CPU time and change no
# result beyond the tests' tolerances (the same ops in the same order: no fast-math), so tests
# and the pipeline runs they start compile without them; `make run` and `make bench` keep them.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")
# Tests build the same kernels many times over (a fresh closure per model compiles the same
# program again): a persistent cache for this process makes the repeats loads. Pipeline jobs
# use their project's own cache (runtime.enable_compilation_cache).
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="diffpipe-test-jax-cache-")
    atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "data"))

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SMALL_CONFIG = ROOT / "config" / "experiments" / "small.yaml"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip locally when a real component is missing; in CI the same gap is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def falling_bin_model(**options):
    """A background whose histosys drives a bin without events negative below alpha ~ -1.2.

    -ln L there is the expected count itself plus alpha^2 / 2: unclipped, its minimum over alpha
    (near -2.5) has a negative expected count, outside the Poisson likelihood's domain.
    """
    import numpy as np
    import pyhf

    falling = {"name": "hs", "type": "histosys", "data": {"hi_data": [4.0, 31.0], "lo_data": [0.5, 29.0]}}
    spec = {
        "channels": [
            {
                "name": "SR",
                "samples": [
                    {
                        "name": "signal",
                        "data": [0.5, 2.0],
                        "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                    },
                    {"name": "bkg", "data": [3.0, 30.0], "modifiers": [falling]},
                ],
            }
        ],
        "observations": [{"name": "SR", "data": [0.0, 30.0]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }
    workspace = pyhf.Workspace(spec)
    model = workspace.model(**options)
    return model, np.asarray(workspace.data(model), float)


def copy_project(dest: Path) -> Path:
    """A throwaway copy of the project (code + config), so tests may edit anything in it."""
    for name in ("workflow", "scripts", "config", "profiles", "resources"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    shutil.copy(ROOT / "environment.yml", dest / "environment.yml")
    shutil.copy(SMALL_CONFIG, dest / "config" / "config.yaml")
    return dest


def snakemake(workdir: Path, *args: str, timeout: int = 900, check: bool = True, env=None):
    cmd = [SNAKEMAKE, "--cores", "2", *args]
    result = subprocess.run(
        cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env or os.environ.copy()
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        )
    return result


@contextlib.contextmanager
def parsed_workflow(workdir: Path, configfiles=(), config: dict | None = None):
    """The workflow as Snakemake parses it, in this process (~0.3 s instead of a 2 s start-up).

    Args:
        workdir: the project copy.
        configfiles: like --configfile (relative to workdir).
        config: like --config (already typed values).

    Yields:
        Snakemake's Workflow object, parsed (its config checks have run).
    """
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

    here, path, environ = os.getcwd(), list(sys.path), dict(os.environ)
    try:
        with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
            workflow_api = api.workflow(
                resource_settings=ResourceSettings(cores=2),
                config_settings=ConfigSettings(
                    configfiles=[workdir / f for f in configfiles], config=dict(config or {})
                ),
                snakefile=workdir / "workflow" / "Snakefile",
                workdir=workdir,
            )
            yield workflow_api.dag(dag_settings=DAGSettings(forceall=True)).workflow_api._workflow
    finally:
        # the workflow puts its own package first on sys.path and PYTHONPATH: not for the next test
        os.chdir(here)
        sys.path[:] = path
        os.environ.clear()
        os.environ.update(environ)


def planned_jobs(workdir: Path, *args: str) -> set[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run would execute ('all' excluded; checkpoints count
    as rules, and the jobs behind a checkpoint that reruns are not known before it runs)."""
    out = snakemake(workdir, "-n", *args).stdout
    jobs = set()
    for block in re.split(r"\n(?=(?:rule|checkpoint) \w+:)", out):
        m = re.match(r"(?:rule|checkpoint) (\w+):", block.strip())
        if not m or m.group(1) == "all":
            continue
        wc = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        jobs.add((m.group(1), wc.group(1).strip() if wc else ""))
    return jobs


# The rules that draw figures (from artifacts only: a figure setting reaches only these and the report).
PLOT_RULES = frozenset(
    {
        "plot_controlflow",
        "plot_optimizer",
        "plot_likelihood",
        "plot_inference",
        "plot_sensitivity",
        "plot_optimize_analysis",
        "plot_yields",
        "plot_signal_grid",
        "plot_toy_coverage",
        "plot_toy_hypotest",
        "plot_toy_limit",
        "plot_fractal",
        "plot_fractals",
        "plot_benchmark",
    }
)


# Documented timing fields: measurements of the run (wall clock, host, peak memory), not results:
# they differ between identical runs.
TIMING_FIELDS = (
    "elapsed_s",
    "wall_time_s",
    "host",
    "seconds",
    "peak_rss_mb",
    # the optimizer comparison's timings and the rank they give
    "compile_time_s",
    "time_to_target_s",
    "time_s",
    "time_median",
    "time_q05",
    "time_q95",
    "rank_time",
    # the sensitivity stage's timings
    "limit_s",
    "gradient_s",
    "halving_s",
    # the analysis design's
    "compile_s",
    "train_s",
    "validate_s",
)


def numeric_digest(path: Path) -> str:
    """Content hash of an artifact (read through its container), without its timing fields."""
    from diffpipe.artifacts import read_any
    from diffpipe.storage import plain

    art = read_any(path)

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in TIMING_FIELDS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    fields = {}
    for name, value in vars(art).items():
        if isinstance(value, pd.DataFrame):
            value = value.drop(columns=[c for c in TIMING_FIELDS if c in value]).to_csv(index=False)
        elif isinstance(value, np.ndarray):
            value = hashlib.sha256(value.tobytes()).hexdigest() + str(value.dtype) + str(value.shape)
        elif name == "provenance" and value is not None:
            value = value.to_dict()
        fields[name] = value
    return hashlib.sha256(json.dumps(strip(plain(fields)), sort_keys=True).encode()).hexdigest()


def numeric_digests(results: Path) -> dict[str, str]:
    """Digest of every data artifact under results/ (benchmarks, which are timings, excluded)."""
    files = [p for pattern in ("*.csv", "*.json", "*.npz") for p in results.rglob(pattern)]
    return {
        str(p.relative_to(results)): numeric_digest(p)
        for p in sorted(files)
        if "benchmark" not in p.parts and "benchmarks" not in p.parts
    }


# Wall times of the session's full runs of the small config (the SLURM test compares them).
RUN_WALL_S: dict[str, float] = {}


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory):
    """One full run of the real pipeline on the small config, shared by the workflow tests."""
    workdir = copy_project(tmp_path_factory.mktemp("pipeline"))
    started = time.perf_counter()
    snakemake(workdir)
    RUN_WALL_S["local"] = time.perf_counter() - started
    return workdir


def _pyhf_numpy() -> None:
    import pyhf

    if pyhf.get_backend()[0].name != "numpy":
        pyhf.set_backend("numpy", precision="64b")


@pytest.fixture(scope="session", autouse=True)
def _validate_once():
    """Tests validate specifications as the pipeline does: once per distinct content
    (`schemacache`; a published workspace costs pyhf's validator ~2.5 s each time it is built)."""
    from diffpipe import schemacache

    schemacache.install()


@pytest.fixture(autouse=True)
def _pyhf_backend(request):
    """Tests compute as the pipeline's jobs do: pyhf on its numpy backend (the kernel does every
    fit). A test marked `pyhf_jax` gets pyhf's JAX graph, the reference it compares with
    (autodiff gradients and Hessians of pyhf's own log-pdf), for its own duration only."""
    if request.node.get_closest_marker("pyhf_jax") is None:
        if "pyhf" in sys.modules:
            _pyhf_numpy()
        yield
        return
    from diffpipe.models import use_jax_backend

    use_jax_backend()
    yield
    _pyhf_numpy()


@pytest.fixture(autouse=True)
def _close_figures():
    """Every figure a test draws is closed after it (matplotlib warns past 20 open figures)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
