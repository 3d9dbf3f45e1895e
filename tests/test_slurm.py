"""The pipeline on a real single-node SLURM cluster (slurmctld, slurmd, slurmdbd, MariaDB, munge).

tests/harness/slurm_start.sh installs Debian's packages and starts the daemons; the session
fixture stops exactly the daemons it started. Every Snakemake call has a hard time limit: the
SLURM plugin can hang when accounting misbehaves.
"""

import json
import os
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
from conftest import ROOT, RUN_WALL_S, copy_project, numeric_digests, require, snakemake

from diffpipe.runtime import COMPILE_CACHE

pytestmark = pytest.mark.slurm
HARNESS = ROOT / "tests" / "harness"
RUN_LIMIT_S = 900


@pytest.fixture(scope="session")
def slurm_cluster():
    require(
        os.geteuid() == 0 and shutil.which("apt-get") is not None,
        "a real SLURM needs root and apt-get to install slurm-wlm (as on CI)",
    )
    env = {**os.environ, "WITH_DBD": "1", "FAKE_GPUS": "1", "STARTED": "/run/diffpipe-slurm.started"}
    start = subprocess.run(
        ["bash", str(HARNESS / "slurm_start.sh")], env=env, capture_output=True, text=True, timeout=900
    )
    if start.returncode != 0:
        pytest.fail(f"SLURM did not start:\n{start.stdout[-3000:]}\n{start.stderr[-3000:]}")
    yield
    subprocess.run(["bash", str(HARNESS / "slurm_stop.sh")], env=env, capture_output=True, text=True, timeout=300)


def sacct(*fields: str, since_job: int = 0) -> list[dict]:
    out = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-a", "-S", "now-1days", "-o", ",".join(("JobID", *fields))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    rows = [dict(zip(("JobID", *fields), line.split("|"))) for line in out.splitlines() if line]
    return [r for r in rows if r["JobID"].isdigit() and int(r["JobID"]) > since_job]


def last_job_id() -> int:
    ids = [int(r["JobID"]) for r in sacct()]
    return max(ids, default=0)


def run_on_slurm(workdir: Path, *args: str):
    return snakemake(workdir, "--profile", "profiles/slurm", "--jobs", "4", *args, timeout=RUN_LIMIT_S)


# What the SLURM run makes: the small config's toy shards and their merge, a signal grid's block and
# its merge, both fractals and their figures, and the gradient table (6 submissions, the merges and
# figures local). The whole small config runs locally (`pipeline_run`); each further compute rule on
# SLURM would only repeat a submission (5-6 s of SLURM and Snakemake start-up each, measured below).
SLURM_TARGETS = (
    "results/figures/toys/counting_coverage.png",
    "results/figures/signal/example.png",
    "results/figures/fractals.png",
    "results/gradients/gradients.csv",
)
# The gradient job of the SLURM run carries what a cluster must handle besides plain jobs: a user
# function that fails on its first attempt in a SLURM job (the profile's retries rerun it) and a
# GPU request (SLURM grants the fake GPU; the job finds no CUDA device behind it).
INJECTED = "rule_gradients"
INJECTED_CONFIG = {
    "gradients": {"functions": {"flaky": {"function": "flaky_functions:flaky_square", "points": [[1.0, 2.0]]}}},
    "compute": {"gpu_overrides": {"gradients": 1}},
}


@pytest.fixture(scope="session")
def slurm_run(slurm_cluster, pipeline_run, tmp_path_factory):
    """A clean run of `SLURM_TARGETS` of the small config on SLURM (empty results/ and Snakemake
    metadata), with `INJECTED_CONFIG` added. Its jobs share the local run's compiled XLA programs
    (`runtime.COMPILE_CACHE`), as a second run of a user's would: the same executables, so the
    numbers are the same."""
    workdir = copy_project(tmp_path_factory.mktemp("slurm"))
    shutil.copytree(pipeline_run / COMPILE_CACHE, workdir / COMPILE_CACHE)
    # a user module in the project folder (as a user's would be), not in scripts/: the pipeline's
    # code version, recorded in every artifact, stays the local run's
    shutil.copy(ROOT / "tests" / "data" / "flaky_functions.py", workdir / "flaky_functions.py")
    injected = workdir / "config" / "injected.yaml"
    injected.write_text(json.dumps(INJECTED_CONFIG))
    first = last_job_id()
    started = time.perf_counter()
    # the targets before --configfile, which takes every value after it
    run_on_slurm(workdir, *SLURM_TARGETS, "--configfile", str(injected))
    RUN_WALL_S["slurm"] = time.perf_counter() - started
    return workdir, sacct("JobName", "Comment", "State", "AllocTRES", "Submit", "Start", "End", since_job=first)


def local_rules() -> set[str]:
    """The Snakefile's `localrules:` (figures, merges, the report: they run in Snakemake's process)."""
    block = (ROOT / "workflow" / "Snakefile").read_text().split("localrules:")[1].split("\n\n")[0]
    return {name.strip() for name in block.replace("\n", " ").split(",") if name.strip()}


def test_every_job_went_through_slurm_and_completed(slurm_run):
    workdir, jobs = slurm_run
    local_jobs = local_rules()
    assert {"all", "report", "plot_optimizer", "toy_coverage"} <= local_jobs
    log = sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"))[-1].read_text()
    ran = {line.split("Rule: ")[1].rstrip(")") for line in log.splitlines() if "Finished jobid" in line}
    assert ran - local_jobs, "no jobs ran"
    submitted_rules = {j["Comment"].split("_wildcards")[0].removeprefix("rule_") for j in jobs}
    assert ran - local_jobs <= submitted_rules
    assert not submitted_rules & local_jobs  # figures and the report never wait in the queue
    # a signal grid's blocks are submissions (one each), their merge runs in Snakemake's process
    assert "signal_grid_block" in submitted_rules and "signal_grid" in local_jobs
    # every job completed (the injected one on its second attempt: test_a_failing_job_is_retried...)
    assert jobs and all(j["State"] == "COMPLETED" for j in jobs if j["Comment"] != INJECTED), jobs
    assert all((workdir / target).is_file() for target in SLURM_TARGETS)


def test_toy_shards_ran_as_separate_slurm_jobs(slurm_run):
    _, jobs = slurm_run
    shards = [j for j in jobs if j["Comment"].startswith("rule_toys_")]
    assert len(shards) == 2 and all(j["State"] == "COMPLETED" for j in shards), shards
    # ... and merged into the same coverage as a local run: test_two_clean_runs_local_and_on_slurm_give_identical_numbers


def test_two_clean_runs_local_and_on_slurm_give_identical_numbers(slurm_run, pipeline_run):
    """Determinism: two clean runs (this one on SLURM, the workflow tests' local one) give the
    same numbers in every data artifact the SLURM run made, compared by content hash (timing
    fields aside)."""
    workdir, _ = slurm_run
    on_slurm = numeric_digests(workdir / "results")
    on_slurm.pop("gradients/gradients.csv")  # it holds the injected function besides the small config's
    # two toy shards and their coverage, a grid block, its table and its contours, two fractals' counts
    assert len(on_slurm) == 8, sorted(on_slurm)
    local = numeric_digests(pipeline_run / "results")
    assert len(local) == 35 and on_slurm == {name: local[name] for name in on_slurm}


def test_a_gpu_rule_is_submitted_with_a_gpu_and_sees_the_device(slurm_run):
    workdir, jobs = slurm_run
    assert all(("gres/gpu=1" in j["AllocTRES"]) == (j["Comment"] == INJECTED) for j in jobs), jobs
    log = (workdir / "results" / "logs" / "gradients.log").read_text()
    # The fake GPU is /dev/null: SLURM exports CUDA_VISIBLE_DEVICES, the job finds no CUDA
    # device behind it and falls back to the CPU, saying so.
    assert "CUDA_VISIBLE_DEVICES=0" in log and "falling back to CPU" in log


def test_a_failing_job_is_retried_and_leaves_nothing_half_written(slurm_run):
    workdir, jobs = slurm_run
    assert [j["State"] for j in jobs if j["Comment"] == INJECTED] == ["FAILED", "COMPLETED"], jobs
    assert "flaky" in (workdir / "results" / "gradients" / "gradients.csv").read_text()
    assert not list((workdir / "results").rglob("*.partial*"))


def test_slurm_overhead_per_submission_is_measured(slurm_run, pipeline_run, tmp_path):
    """What a submission costs on this SLURM: each job's queue wait and run time against the same
    job's run time in the local run of the small config (its benchmark file; the local run compiles
    every XLA program, the SLURM run finds them in the compile cache).

    A measurement, not a speed check (speed targets live in `make bench`): written as JSON to
    $DIFFPIPE_SLURM_TIMING (.ci/run prints it). The run time on SLURM includes Snakemake starting
    and parsing the workflow inside the job.
    """
    _, all_jobs = slurm_run
    # Snakemake's rule jobs (the comment names the rule); the plugin's own checks and the injected
    # job (two attempts, a config the local run does not have) aside
    jobs = [j for j in all_jobs if j["Comment"].startswith("rule_") and j["Comment"] != INJECTED]
    seconds = {}
    for job in jobs:
        submit, start, end = (datetime.fromisoformat(job[k]) for k in ("Submit", "Start", "End"))
        # the comment is rule_<rule>_wildcards_<values joined by _>; the benchmark file joins them
        # by - (no wildcard value of the targets holds a _)
        rule, _, wildcards = job["Comment"].removeprefix("rule_").partition("_wildcards_")
        bench = pipeline_run / "results" / "benchmarks" / rule / f"{wildcards.replace('_', '-')}.tsv"
        local = float(bench.read_text().splitlines()[1].split("\t")[0])
        seconds[job["Comment"]] = {
            "queued_s": (start - submit).total_seconds(),
            "ran_s": (end - start).total_seconds(),
            "local_s": round(local, 1),
        }
    record = {
        "config": "config/experiments/small.yaml",
        "targets": list(SLURM_TARGETS),
        "compile_cache": "the SLURM run starts with the local run's",
        "local_run_s": round(RUN_WALL_S["local"], 1),
        "slurm_s": round(RUN_WALL_S["slurm"], 1),
        "submissions": len(jobs),
        "queued_s_total": round(sum(s["queued_s"] for s in seconds.values()), 1),
        "ran_s_total": round(sum(s["ran_s"] for s in seconds.values()), 1),
        "local_s_total": round(sum(s["local_s"] for s in seconds.values()), 1),
        "jobs": seconds,
    }
    out = Path(os.environ.get("DIFFPIPE_SLURM_TIMING") or tmp_path / "slurm_timing.json")
    out.write_text(json.dumps(record, indent=1, sort_keys=True))
    assert record["submissions"] == len({j["Comment"] for j in jobs})  # one submission per job: no group here
    assert all(s["queued_s"] >= 0 and s["ran_s"] >= 0 and s["local_s"] > 0 for s in seconds.values()), seconds
    # Two CPUs: at most two submissions run at once, so their run times fit in twice the wall time.
    assert record["slurm_s"] > record["ran_s_total"] / 2
