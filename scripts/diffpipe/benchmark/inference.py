"""Inference timings against the peers, each tool in its own fresh process, same machine, same run.

- ranking (impacts of every nuisance parameter: four refits each) and the CLs limit with its
  expected band: diffpipe against cabinetry 0.6 (`fit.ranking`, `fit.limit`; numpy backend,
  MINUIT, its defaults), per model;
- a signal grid: diffpipe's whole grid from a clean start, and per patch against pyhf's
  `upper_limit` (numpy backend).
Wall times include building the model and, for diffpipe, compiling. A peer that has not finished
after `peer_timeout_s` is stopped: its time is then a lower bound (`peer_capped`), and so is the
speed-up. A peer that fails (cabinetry's fit on the 3L eRJR patch: `FailedMinimization`) is a row
with its reason (`peer_failure`) and no time or speed-up; a failure of diffpipe's own timing
stops the benchmark with its error.
"""

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SCRIPTS = Path(__file__).resolve().parents[2]


def _cabinetry_model(entry: dict) -> dict:
    import cabinetry

    from diffpipe.models import build_model

    started = time.perf_counter()
    model, data = build_model(entry)
    data = [float(v) for v in data]
    fit = cabinetry.fit.fit(model, data)
    ready = time.perf_counter()
    rank = cabinetry.fit.ranking(model, data, fit_results=fit)
    ranked = time.perf_counter()
    limits = cabinetry.fit.limit(model, data)
    done = time.perf_counter()
    return {
        "setup_s": ready - started,
        "ranking_s": ranked - ready,
        "limits_s": done - ranked,
        "total_s": done - started,
        "parameters": len(rank.labels),
        "observed": float(limits.observed_limit),
    }


def _pyhf_patch(entry: dict) -> dict:
    import pyhf

    from diffpipe.models import build_model

    started = time.perf_counter()
    model, data = build_model(entry)
    obs, _ = pyhf.infer.intervals.upper_limits.upper_limit([float(v) for v in data], model)
    return {"total_s": time.perf_counter() - started, "observed": float(obs)}


def _pyhf_toys(arg: dict) -> dict:
    import pyhf

    from diffpipe.models import build_model

    model, data = build_model(arg["entry"])
    started = time.perf_counter()
    calc = pyhf.infer.calculators.ToyCalculator([float(v) for v in data], model, ntoys=arg["n"], track_progress=False)
    calc.distributions(1.0)  # ntoys under s+b and ntoys under b, each fitted twice (q̃μ)
    total = time.perf_counter() - started
    return {"total_s": total, "toys": 2 * arg["n"], "toys_per_s": 2 * arg["n"] / total}


TASKS = {"cabinetry_model": _cabinetry_model, "pyhf_patch": _pyhf_patch, "pyhf_toys": _pyhf_toys}
# diffpipe's own timings live in the stages they time (a benchmark does not import a stage):
# task -> module run as `python -m module task argument`.
MODULES = {
    "ours_model": "diffpipe.inference.timing",
    "ours_grid": "diffpipe.inference.timing",
    "ours_gradient": "diffpipe.inference.timing",
    "ours_toys": "diffpipe.toys.timing",
}


class TaskFailed(RuntimeError):
    """A timing process exited with an error (its message: the task and its last line of stderr)."""


def run_task(task: str, argument: dict, timeout_s: float) -> tuple[dict | None, float]:
    """Run one timing in a fresh Python process.

    Args:
        task: a key of TASKS or MODULES.
        argument: its argument (a model entry or a grid entry).
        timeout_s: wall-clock cap.

    Returns:
        (the task's result, or None when it was stopped at the cap; wall seconds of the process).

    Raises:
        TaskFailed: the process exited with an error.
    """
    started = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, "-m", MODULES.get(task, "diffpipe.benchmark.inference"), task, json.dumps(argument)],
            cwd=Path.cwd(),
            env=_env(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - started
    if out.returncode != 0:
        lines = [line.strip() for line in out.stderr.splitlines() if line.strip()]
        raise TaskFailed(f"{task} exited with {out.returncode}: {lines[-1] if lines else 'no message'}")
    return json.loads(out.stdout.strip().splitlines()[-1]), time.perf_counter() - started


@dataclass
class PeerRun:
    """A peer's timing: its result, or why there is none.

    Attributes:
        result: the task's result (None: stopped at the cap, or failed).
        wall_s: wall seconds of its process.
        failure: why it gave no result ("" when it finished or was capped).
    """

    result: dict | None
    wall_s: float
    failure: str = ""

    @property
    def capped(self) -> bool:
        """Whether it was stopped at the cap.

        Returns:
            True when it was (its wall time is then a lower bound).
        """
        return self.result is None and not self.failure

    def seconds(self, of) -> float:
        """The peer's time: of(result), the wall time where capped, NaN where it failed.

        Args:
            of: result -> its seconds.

        Returns:
            The seconds.
        """
        if self.failure:
            return float("nan")
        return of(self.result) if self.result is not None else self.wall_s


def run_peer(task: str, argument: dict, timeout_s: float) -> PeerRun:
    """Run a peer's timing in a fresh process, its failure recorded instead of raised.

    Args:
        task: a key of TASKS.
        argument: its argument.
        timeout_s: wall-clock cap.

    Returns:
        The `PeerRun`.
    """
    started = time.perf_counter()
    try:
        result, wall = run_task(task, argument, timeout_s)
    except TaskFailed as error:
        return PeerRun(None, time.perf_counter() - started, str(error))
    return PeerRun(result, wall)


def _env() -> dict:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SCRIPTS), env.get("PYTHONPATH", "")])
    return env


def gradient_rows(name: str, entry: dict) -> list[dict]:
    """The gradient of every limit with respect to every systematic against the limit and against finite differences.

    Args:
        name: the model's name.
        entry: its entry (with a POI).

    Returns:
        Two rows: the gradient (warm) against the limit itself (warm), and the gradient (cold,
        compilation included) against finite differences (two refits per systematic).
    """
    ours, _ = run_task("ours_gradient", entry, 3600)
    detail = json.dumps(ours)
    common = {
        "model": name,
        "parameters": ours["parameters"],
        "peer_capped": False,
        "peer_failure": "",
        "detail": detail,
    }
    return [
        {
            "kernel": f"gradient of the limits, {ours['scales']} systematics (compiled)",
            "ours_s": ours["gradient_s"],
            "peer": "the limits themselves (compiled)",
            "peer_s": ours["limit_s"],
            "speedup": ours["limit_s"] / ours["gradient_s"],
            **common,
        },
        {
            "kernel": f"gradient of the limits, {ours['scales']} systematics (cold)",
            "ours_s": ours["gradient_cold_s"],
            "peer": "finite differences: 2 refits per systematic (one timed, times the systematics)",
            "peer_s": ours["fd_s"],
            "speedup": ours["fd_s"] / ours["gradient_cold_s"],
            **common,
        },
    ]


def inference_timings(models: dict, signal_grid: dict | None, patch: str | None, timeout_s: float) -> pd.DataFrame:
    """Ranking + limits per model (diffpipe vs cabinetry) and a signal grid (diffpipe vs pyhf).

    Args:
        models: name -> model entry (likelihood.models format).
        signal_grid: a signal-grid entry (None: skip).
        patch: the patch of `signal_grid` timed against pyhf's upper_limit.
        timeout_s: cap on each peer run.

    Returns:
        One row per comparison: kernel, model, parameters, ours_s, peer, peer_s, peer_capped, peer_failure,
        speedup (a lower bound where capped), plus the stage split in `detail`.
    """
    rows = []
    for name, entry in models.items():
        ours, _ = run_task("ours_model", entry, 3600)
        peer = run_peer("cabinetry_model", entry, timeout_s)
        peer_s = peer.seconds(lambda r: r["ranking_s"] + r["limits_s"] + r["setup_s"])
        rows.append(
            {
                "kernel": "ranking + limit with band",
                "model": name,
                "parameters": ours["parameters"],
                "ours_s": ours["total_s"],
                "peer": "cabinetry 0.6 (fit.ranking + fit.limit)",
                "peer_s": peer_s,
                "peer_capped": peer.capped,
                "peer_failure": peer.failure,
                "speedup": peer_s / ours["total_s"],
                "detail": json.dumps({"ours": ours, "peer": peer.result}),
            }
        )
    if signal_grid:
        ours, _ = run_task("ours_grid", signal_grid, 3600)
        rows.append(
            {
                "kernel": "signal grid, whole grid",
                "model": f"{ours['patches']} patches",
                "parameters": None,
                "ours_s": ours["total_s"],
                "peer": "",
                "peer_s": None,
                "peer_capped": False,
                "peer_failure": "",
                "speedup": None,
                "detail": json.dumps({"ours": ours}),
            }
        )
        entry = {k: signal_grid[k] for k in ("workspace", "patchset", "measurement", "data") if k in signal_grid}
        peer = run_peer("pyhf_patch", {**entry, "patch": patch}, timeout_s)
        peer_s = peer.seconds(lambda r: r["total_s"])
        rows.append(
            {
                "kernel": "signal grid, per patch",
                "model": patch,
                "parameters": None,
                "ours_s": ours["per_patch_s"],
                "peer": "pyhf 0.7.6 upper_limit (numpy)",
                "peer_s": peer_s,
                "peer_capped": peer.capped,
                "peer_failure": peer.failure,
                "speedup": peer_s / ours["per_patch_s"],
                "detail": json.dumps({"ours": ours, "peer": peer.result}),
            }
        )
    return pd.DataFrame(rows)


def run_benchmark_inference(
    job,
    models: dict,
    signal_grid: dict | None,
    patch: str | None,
    timeout_s: float,
    output: str,
    gradient_models: dict | None = None,
) -> None:
    """Rule `benchmark_inference`: inference timings against cabinetry and pyhf, gradients against the limits.

    Args:
        job: the `runtime.Job`.
        models: name -> model entry to time ranking and limits on.
        signal_grid: the signal grid to time (None: none).
        patch: its patch timed against pyhf.
        timeout_s: cap on each peer run.
        output: results/benchmark/inference.csv.
        gradient_models: name -> model entry whose limit gradients are timed (`gradient_rows`).
    """
    gradient_models = gradient_models or {}

    def measure():
        rows = [row for name, entry in gradient_models.items() for row in gradient_rows(name, entry)]
        return pd.concat(
            [inference_timings(models, signal_grid, patch, timeout_s), pd.DataFrame(rows)], ignore_index=True
        )

    _timed_table(
        job,
        "inference",
        measure,
        {"models": models, "signal_grid": signal_grid, "patch": patch, "gradient_models": gradient_models},
        output,
    )


def _timed_table(job, what: str, measure, definition: dict, output: str) -> None:
    """Run a benchmark's measurement in a compute job and write its BenchmarkTable."""
    from diffpipe.artifacts import BenchmarkTable
    from diffpipe.provenance import Provenance, cpu_info
    from diffpipe.runtime import compute_job

    with compute_job(job) as device:
        started = time.perf_counter()
        table = measure()
        table["device"] = device.description
        prov = Provenance.record(definition, device, time.perf_counter() - started)
        BenchmarkTable(table=table, what=what, cpu=cpu_info(), provenance=prov).write(output)


TOY_PROCESSES = 2


def toy_timings(
    models: dict, n_default: int, n_pyhf_default: int, timeout_s: float, targets: dict | None = None
) -> pd.DataFrame:
    """Toys per second (complete toys: free fit and POI-held fit), diffpipe against pyhf.

    diffpipe's numbers come from `diffpipe.toys.timing.ours_toys` in a fresh process: a cold
    shard (imports and compilation included), a warm one (compiled programs from the persistent
    cache) and the steady-state rate (compiled sampler and solver), which has the scope of pyhf's
    rate (model built; toys sampled and fitted). Each is the best of TOY_PROCESSES fresh
    processes (a shared 2-core machine's speed varies by +-20% from minute to minute).

    Args:
        models: name -> model entry (its own `n` and `n_pyhf`, where given, override the two below).
        n_default: diffpipe's toys per shard.
        n_pyhf_default: pyhf's ToyCalculator toys per hypothesis (numpy backend).
        timeout_s: cap on each pyhf run.
        targets: `benchmark.targets.toys`: model -> {min_speedup, max_cold_s}.

    Returns:
        One row per model: kernel, model, toys, cold_s, warm_s, steady_s, ours_toys_per_s,
        refitted, refit_max_s (the longest MINUIT refit, seconds), outside (toys whose fit left
        the likelihood's domain), steps_per_fit (Newton steps per fit), peak_rss_mb, peer,
        peer_toys_per_s, peer_capped, peer_failure, speedup (steady state), speedup_cold (cold
        shard, everything included), target_speedup, target_cold_s, meets_target.
    """
    rows = []
    targets = targets or {}
    for name, row in models.items():
        # a model's own toy counts (the published likelihoods' are smaller) override the section's
        entry = {k: v for k, v in row.items() if k not in ("n", "n_pyhf")}
        n_ours, n_pyhf = row.get("n", n_default), row.get("n_pyhf", n_pyhf_default)
        runs = [run_task("ours_toys", {"entry": entry, "n": n_ours}, 3600)[0] for _ in range(TOY_PROCESSES)]
        ours = {**runs[0], **{k: min(r[k] for r in runs) for k in ("cold_s", "warm_s", "steady_s")}}
        ours["toys_per_s"] = n_ours / ours["steady_s"]
        ours["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
        ours["refit_max_s"] = max(r["refit_max_s"] for r in runs)
        peer = run_peer("pyhf_toys", {"entry": entry, "n": n_pyhf}, timeout_s)
        peer_rate = 2 * n_pyhf / peer.seconds(lambda r: r["total_s"])
        target = targets.get(name, {})
        speedup = ours["toys_per_s"] / peer_rate
        row = {
            "kernel": "toys (free + POI-held fit each)",
            "model": name,
            "toys": n_ours,
            "cold_s": ours["cold_s"],
            "warm_s": ours["warm_s"],
            "steady_s": ours["steady_s"],
            "ours_toys_per_s": ours["toys_per_s"],
            "refitted": ours["refitted"],
            "refit_max_s": ours["refit_max_s"],
            "outside": ours["outside"],
            "steps_per_fit": ours["steps_per_fit"],
            "peak_rss_mb": ours["peak_rss_mb"],
            "peer": "pyhf 0.7.6 ToyCalculator (numpy)",
            "peer_toys_per_s": peer_rate,
            "peer_capped": peer.capped,
            "peer_failure": peer.failure,
            "speedup": speedup,
            "speedup_cold": n_ours / ours["cold_s"] / peer_rate,
            "target_speedup": target.get("min_speedup", np.nan),
            "target_cold_s": target.get("max_cold_s", np.nan),
        }
        # a speed-up against a failed peer is no number and meets no target
        slow = speedup < row["target_speedup"] or (np.isnan(speedup) and np.isfinite(row["target_speedup"]))
        row["meets_target"] = bool(not slow and not ours["cold_s"] > row["target_cold_s"])
        rows.append(row)
    return pd.DataFrame(rows)


def run_benchmark_toys(
    job, models: dict, n_ours: int, n_pyhf: int, timeout_s: float, targets: dict, output: str
) -> None:
    """Rule `benchmark_toys`: toys per second against pyhf's ToyCalculator.

    Args:
        job: the `runtime.Job`.
        models: name -> model entry.
        n_ours: diffpipe's toys per model.
        n_pyhf: pyhf's toys per hypothesis.
        timeout_s: cap on each pyhf run.
        targets: `benchmark.targets.toys`.
        output: results/benchmark/toys.csv.
    """
    _timed_table(
        job,
        "toys",
        lambda: toy_timings(models, n_ours, n_pyhf, timeout_s, targets),
        {"models": models, "n_ours": n_ours, "n_pyhf": n_pyhf, "targets": targets},
        output,
    )


if __name__ == "__main__":
    print(json.dumps(TASKS[sys.argv[1]](json.loads(sys.argv[2]))))
