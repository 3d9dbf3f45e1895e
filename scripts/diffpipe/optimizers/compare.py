"""Optimizer comparison: scipy, optimistix and optax on one problem, repeated, on three axes.

Every run is measured against the same reference f* with the same bookkeeping: f - f* at
every evaluation of f, the gradient evaluations and the wall time so far at each, and from
them evaluations, gradient evaluations and seconds to reach `ftol_target`. Compilation is
measured apart (a warm-up before the timed runs) and never enters a run's wall time. Each run
is repeated `repeats` times: the methods are deterministic, so the repetitions take the same
steps and their spread is the spread of the wall time, shown as 5-95% bands.

The reference f* is the function's known minimum (registry functions, a likelihood model's fit,
or `fstar` in the config). Without one, gaps are measured against f_best, the lowest f found by
any method from any start of the problem, and the table, traces and report say so.

Failures of a method are data; a problem whose every run fails, or whose configured f* lies
above a value actually found, is an error (the config made the result wrong).
"""

import logging
import time

import numpy as np
import pandas as pd

from diffpipe.optimizers.native import build_runner, checkpoints
from diffpipe.optimizers.problems import Problem, build_problem
from diffpipe.optimizers.scipy_runs import Compiled, applicable, run_scipy

log = logging.getLogger("diffpipe")

TRACE_POINTS = 200  # stored points per trace (log-spaced over the evaluations)
TRAJECTORY_MAX_DIMENSION = 10  # iterates are stored for problems up to this dimension
CHECKPOINT_CALLS = 3  # timed calls per checkpoint of a JAX-native run (the least is kept)
# A value found below a known f* by more than this (relative, at least absolute 1) means f* is
# not the minimum.
FSTAR_RTOL = 1e-9
SUMMARY_METRICS = ("time_to_target_s", "evals_to_target", "gradient_evals_to_target", "wall_time_s")


def thin_positions(n: int, points: int = TRACE_POINTS) -> np.ndarray:
    """Log-spaced 0-based positions of a history of n entries, keeping the first and last.

    Args:
        n: the history's length.
        points: the most positions kept.

    Returns:
        Increasing positions (empty for n = 0).
    """
    if n <= 0:
        return np.zeros(0, dtype=int)
    return np.unique(np.geomspace(1, n, min(points, n)).astype(int)) - 1


def run_native(
    problem: Problem, runner, x0, settings: dict, repeats: int, compiled: Compiled
) -> list[tuple[dict, dict]]:
    """One JAX-native method from one start: a counted run, then `repeats` timed replays.

    A replay runs the compiled loop to each checkpoint's step count (log-spaced), timing each as
    the least of CHECKPOINT_CALLS calls; times are non-decreasing in the step count (a longer
    replay measured shorter is noise) and linear in the evaluations between checkpoints.

    Args:
        problem: the problem.
        runner: the method's `native.NativeRunner` (compiled).
        x0: the start.
        settings: maxiter, max_evaluations, gtol.
        repeats: timed repetitions.
        compiled: the problem's compiled f and gradient (for the final point's record).

    Returns:
        Per repetition (record without gap columns, trace as `scipy_runs.run_scipy` gives it).
    """
    import jax
    import jax.numpy as jnp

    x0 = jnp.asarray(np.asarray(x0, float))
    counts = runner.counts
    counts.reset()
    jax.block_until_ready(runner.run(x0, settings["maxiter"], True))
    budget = settings["max_evaluations"]
    ends = np.asarray(counts.step_ends, dtype=int)
    steps = int(np.searchsorted(ends, budget, side="right"))  # the steps within the budget
    over_budget = steps < len(ends)
    n_eval = int(ends[steps - 1]) if steps else 0
    f_hist, grad_hist = counts.f[:n_eval], counts.grad[:n_eval]
    nhev = counts.nhev
    marks = checkpoints(steps)
    results = []
    for _ in range(repeats):
        seconds = []
        for k in marks:
            best = np.inf  # timeit's estimator: the least of a few calls is the least disturbed
            for _ in range(CHECKPOINT_CALLS):
                started = time.perf_counter()
                out = jax.block_until_ready(runner.run(x0, k, False))
                best = min(best, time.perf_counter() - started)
            seconds.append(best)
        # k + 1 steps cannot take less time than the first k: a shorter measurement is noise
        seconds = np.maximum.accumulate(seconds).tolist()
        x, _, grad_norm, converged, failed = (np.asarray(v) for v in out) if marks else (x0, 0, np.inf, False, False)
        # wall time at each evaluation: measured at the checkpoints' step ends, linear between
        times = np.interp(np.arange(1, n_eval + 1), [0, *ends[np.asarray(marks) - 1]], [0.0, *seconds]).tolist()
        if over_budget:
            message = f"stopped after {budget} evaluations of f (max_evaluations)"
        elif bool(failed):
            message = "the solver failed (a non-finite value or a failed linear solve)"
        elif bool(converged):
            message = f"gradient max-norm {float(grad_norm):.2e} <= gtol after {steps} steps"
        elif steps >= settings["maxiter"]:
            message = f"stopped after maxiter = {settings['maxiter']} steps"
        else:
            message = "stopped: the iterates no longer move (stagnation before gtol)"
        final_f = final_value(problem, compiled, x)
        record = {
            "family": runner.family,
            "method": runner.method,
            "gradient_mode": runner.gradient_mode,
            "wall_time_s": seconds[-1] if seconds else 0.0,
            "compile_time_s": runner.compile_time_s,
            "success": bool(converged) and not over_budget and not bool(failed),
            "message": message,
            "nit": steps,
            "nfev": n_eval,
            "njev": int(grad_hist[-1]) if grad_hist else 0,
            "nhev": nhev,
            "final_f": final_f,
            "grad_norm": float(np.linalg.norm(np.asarray(compiled.grad(np.asarray(x, float))))),
            "distance_to_minimiser": distance(problem, x),
        }
        trace = {"f": list(f_hist), "time_s": times, "gradient_evaluations": list(grad_hist), "iterates": None}
        results.append((record, trace))
    return results


def final_value(problem: Problem, compiled: Compiled, x) -> float:
    """The value at a final point, uncounted (NumPy f where the problem has one, as scipy runs).

    Args:
        problem: the problem.
        compiled: its compiled f.
        x: the point.

    Returns:
        f(x) as a float (NaN when not finite).
    """
    value = float((problem.numpy_fn or compiled.f)(np.asarray(x, float)))
    return value if np.isfinite(value) else float("nan")


def distance(problem: Problem, x) -> float:
    """Distance of a final point to the problem's unique minimiser.

    Args:
        problem: the problem.
        x: the point (None: the run produced none).

    Returns:
        The Euclidean distance, NaN without a point or a unique minimiser.
    """
    if x is None or problem.minimiser is None:
        return float("nan")
    return float(np.linalg.norm(np.asarray(x, float) - problem.minimiser))


def reference_value(problem: Problem, records: list[dict], traces: list[dict]) -> float:
    """The f* that gaps are measured against: the known minimum, else f_best.

    Args:
        problem: the problem.
        records: every run's record (with final_f).
        traces: every run's trace (with the f history).

    Returns:
        f*, or the lowest finite f of any run when none is known.

    Raises:
        ValueError: a known f* (configured, a registry function's, or a fit's) lies above a
            value that was found, so gaps would be negative and a run that stopped short could
            count as reaching the target; or no run found any finite f (nothing to measure
            against).
    """
    found = [v for t in traces for v in t["f"] if np.isfinite(v)]
    found += [r["final_f"] for r in records if np.isfinite(r["final_f"])]
    f_best = min(found) if found else None
    if problem.fstar is not None:
        if f_best is not None and f_best < problem.fstar - FSTAR_RTOL * max(1.0, abs(problem.fstar)):
            source = problem.definition["fstar_source"]
            raise ValueError(
                f"problem {problem.name}: f* = {problem.fstar!r} from {source}, but f = {f_best!r} "
                "was found: f* is not the minimum"
            )
        return problem.fstar
    if f_best is None:
        raise ValueError(f"problem {problem.name}: no run evaluated f to a finite number; f_best is undefined")
    return f_best


def add_gaps(record: dict, trace: dict, fstar: float, target: float) -> None:
    """Measure a run against the reference: its gap and what it took to reach the target.

    Args:
        record: the run's record (gains f_minus_fstar, reached_target, evals_to_target,
            gradient_evals_to_target, time_to_target_s; the last three None if never reached).
        trace: the run's trace (gains `gaps`, f - f* at every evaluation).
        fstar: the reference f*.
        target: the tolerance on f - f*.
    """
    gaps = [value - fstar for value in trace["f"]]
    hit = next((i for i, gap in enumerate(gaps) if gap <= target), None)
    f_gap = record["final_f"] - fstar
    record.update(
        f_minus_fstar=f_gap,
        reached_target=bool(np.isfinite(f_gap) and f_gap <= target),
        evals_to_target=None if hit is None else hit + 1,
        gradient_evals_to_target=None if hit is None else int(trace["gradient_evaluations"][hit]),
        time_to_target_s=None if hit is None else float(trace["time_s"][hit]),
    )
    trace["gaps"] = gaps


def stored_trace(run: dict, repetitions: list[dict], dimension: int) -> dict:
    """One (method, mode, start)'s trace as stored: thinned, with the repetitions' times.

    Args:
        run: family, method, gradient_mode, start.
        repetitions: the repetitions' traces (each with gaps, time_s, gradient_evaluations).
        dimension: the problem's dimension (iterates are kept up to TRAJECTORY_MAX_DIMENSION).

    Returns:
        The trace: evaluations (1-based), f_gap, gradient_evaluations, time_s per repetition,
        time_median/time_q05/time_q95 at those evaluations, deterministic (every repetition
        evaluated the same f values), iterations and trajectory (first repetition).
    """
    first = repetitions[0]
    idx = thin_positions(len(first["gaps"]))
    times = np.array([np.asarray(r["time_s"])[idx] for r in repetitions]) if len(idx) else np.zeros((1, 0))
    gap = [float(first["gaps"][i]) if np.isfinite(first["gaps"][i]) else None for i in idx]
    stored = {
        **run,
        "evaluations": (idx + 1).tolist(),
        "f_gap": gap,
        "gradient_evaluations": [int(first["gradient_evaluations"][i]) for i in idx],
        "time_s": times.tolist(),
        "time_median": np.median(times, axis=0).tolist(),
        "time_q05": np.quantile(times, 0.05, axis=0).tolist(),
        "time_q95": np.quantile(times, 0.95, axis=0).tolist(),
        "deterministic": all(np.array_equal(r["f"], first["f"], equal_nan=True) for r in repetitions),
        "iterations": [],
        "trajectory": [],
    }
    iterates = first["iterates"]
    if iterates and dimension <= TRAJECTORY_MAX_DIMENSION:
        steps = thin_positions(len(iterates))
        stored["iterations"] = (steps + 1).tolist()
        stored["trajectory"] = [iterates[i] for i in steps]
    return stored


def summarise(table: pd.DataFrame) -> list[dict]:
    """Per (family, method, gradient mode): what reached the target, how fast, and the ranks.

    The metrics' median and 5-95% quantiles are over starts and repetitions.

    Args:
        table: the runs table with gap columns.

    Returns:
        One entry per method and mode, in the table's order (a timing never reorders an
        artifact); rank_time and rank_evaluations count from 1 among the methods that reached
        the target, those reaching it from more runs first, then by the median (null: never
        reached).
    """
    rows = []
    for (family, method, mode), group in table.groupby(["family", "method", "gradient_mode"], sort=False):
        entry = {
            "family": family,
            "method": method,
            "gradient_mode": mode,
            "runs": len(group),
            # runs whose f came within the target at some evaluation (the metrics' runs)
            "reached": int(group["evals_to_target"].notna().sum()),
        }
        for metric in SUMMARY_METRICS:
            # over the runs that reached the target (wall time: every run)
            values = pd.to_numeric(group[metric], errors="coerce").dropna().to_numpy(float)
            entry[metric] = (
                {
                    "median": float(np.median(values)),
                    "q05": float(np.quantile(values, 0.05)),
                    "q95": float(np.quantile(values, 0.95)),
                }
                if len(values)
                else None
            )
        rows.append(entry)
    for metric, rank in (("time_to_target_s", "rank_time"), ("evals_to_target", "rank_evaluations")):
        ranked = sorted((r for r in rows if r["reached"]), key=lambda r: (-r["reached"], r[metric]["median"]))
        for position, r in enumerate(ranked, 1):
            r[rank] = position
        for r in rows:
            r.setdefault(rank, None)
    return rows


def compare(problem: Problem, starts, settings: dict) -> tuple[pd.DataFrame, list[dict], list[dict]]:
    """Every start x method x applicable gradient mode x repetition of one problem.

    Args:
        problem: the problem.
        starts: start points.
        settings: methods, gradient_modes, native_methods, repeats, learning_rate and the
            tolerances and caps.

    Returns:
        (runs table: one row per (family, method, mode, start, repetition); traces: one per
        (family, method, mode, start); summary: `summarise` of the table).

    Raises:
        ValueError: every run failed, or `reference_value`'s errors.
    """
    repeats = settings.get("repeats", 1)
    runs: list[tuple[dict, list[tuple[dict, dict]]]] = []  # (run key, repetitions)
    compiled = Compiled(problem)
    scipy_compile = compiled.warm_up(starts[0])
    native = [build_runner(problem.fn, method, settings) for method in settings.get("native_methods", [])]
    for runner in native:
        runner.compile(starts[0])
    labels = [str(list(map(float, x0))) for x0 in starts]  # a start's name in the table and traces
    for x0, label in zip(starts, labels):
        for method in settings["methods"]:
            for mode in settings["gradient_modes"]:
                if not applicable(method, mode):
                    continue
                reps = [run_scipy(problem, method, mode, x0, settings, compiled) for _ in range(repeats)]
                uses_jax = mode != "none" or problem.numpy_fn is None
                for record, _ in reps:
                    record["compile_time_s"] = scipy_compile if uses_jax else 0.0
                runs.append(({"family": "scipy", "method": method, "gradient_mode": mode, "start": label}, reps))
        for runner in native:
            reps = run_native(problem, runner, x0, settings, repeats, compiled)
            key = {"family": runner.family, "method": runner.method, "gradient_mode": runner.gradient_mode}
            runs.append(({**key, "start": label}, reps))
    starts_index = {label: i for i, label in enumerate(labels)}
    for key, reps in runs:
        record = reps[0][0]
        log.info(
            "start %d, %s %s: success %s, nfev %d, %.3g s",
            starts_index[key["start"]],
            key["method"],
            key["gradient_mode"],
            record["success"],
            record["nfev"],
            record["wall_time_s"],
        )
    records = [r for _, reps in runs for r, _ in reps]
    traces = [t for _, reps in runs for _, t in reps]
    fstar = reference_value(problem, records, traces)
    problem.definition["reference_fstar"] = fstar
    rows, stored = [], []
    for key, reps in runs:
        for repetition, (record, trace) in enumerate(reps):
            add_gaps(record, trace, fstar, settings["ftol_target"])
            rows.append({"problem": problem.name, **key, "repetition": repetition, **record})
        stored.append(stored_trace(key, [t for _, t in reps], len(starts[0])))
    # Against f_best some run always "reaches the target": only a reported success counts then.
    known = problem.fstar is not None
    if rows and not any(r["success"] or (known and r["reached_target"]) for r in rows):
        reasons = sorted({r["message"].split(" [warnings")[0] for r in rows})
        raise ValueError(
            f"optimizers.problems.{problem.name}: all {len(runs)} runs failed (none converged or reached the "
            f"target): {'; '.join(reasons[:3])}. Check the function, its starts, maxiter and max_evaluations"
        )
    table = pd.DataFrame(rows)
    return table, stored, summarise(table)


def run_optimize(job, name: str, entry: dict, settings: dict, fit_path: str | None, outputs: dict) -> None:
    """Rule `optimize`: every (start, method, gradient mode, repetition) of one problem.

    Args:
        job: the `runtime.Job`.
        name: the problem's name.
        entry: its `optimizers.problems` entry.
        settings: the other `optimizers` keys (methods, modes, native methods, repeats,
            tolerances, caps).
        fit_path: fit.json of the problem's likelihood model (None for a function).
        outputs: paths `table` (runs CSV) and `traces` (JSON).
    """
    from diffpipe.artifacts import FitResult, OptimizerRuns, OptimizerTraces
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job

    with compute_job(job) as device:
        started = time.perf_counter()
        fit = FitResult.read(fit_path) if fit_path else None
        problem = build_problem(name, entry, fit)
        # a problem's own gtol and repeats replace the stage's
        settings = {**settings, **{key: entry[key] for key in ("gtol", "repeats") if key in entry}}
        table, traces, summary = compare(problem, problem.starts, settings)
        for column in ("evals_to_target", "gradient_evals_to_target"):
            table[column] = table[column].astype("Int64")
        prov = Provenance.record(
            {"problem": entry, "settings": settings, "fit": fit_path}, device, time.perf_counter() - started
        )
        definition = problem.definition | {"note": problem.note}
        OptimizerTraces(problem=definition, runs=traces, summary=summary, provenance=prov).write(outputs["traces"])
        OptimizerRuns(table=table, problem=definition, provenance=prov).write(outputs["table"])
