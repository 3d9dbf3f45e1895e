"""Kernel timings: fractal backends (incl. the notebook's eager TF loop) and the grid scan.

Each measurement separates the first call (compilation, tracing) from the steady state (the
best of `repeats` further calls), so a JIT's one-off cost is not mistaken for its speed.
Targets come from the benchmark's config (`benchmark.targets`), never from this code.
"""

import functools
import time

import numpy as np
import pandas as pd

NOTEBOOK_VIEWPORT = (-1.5, 1.5, -1.5, 1.5)


def time_calls(fn, repeats: int) -> tuple[float, float]:
    """Time a call's first run apart from its steady state.

    One untimed call follows the first: XLA's first runs after compiling are still warming up.

    Args:
        fn: the call (no arguments).
        repeats: timed calls after the warm-up.

    Returns:
        (first call, best of `repeats` later calls), seconds.
    """
    started = time.perf_counter()
    fn()
    first = time.perf_counter() - started
    if repeats > 1:
        fn()
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return first, best


def _target(targets: dict, key: str) -> float:
    value = targets.get(key)
    return float(value) if value is not None else np.nan


def fractal_timings(backends, sizes, iterations: int, repeats: int, targets: dict | None = None) -> pd.DataFrame:
    """Mandelbrot timings per backend and size (the notebook's viewport).

    Args:
        backends: keys of `escape.COUNTERS`.
        sizes: square image sizes.
        iterations: iterations per pixel.
        repeats: steady-state repeats.
        targets: `benchmark.targets.fractals`: "backend@size" -> seconds, and
            min_speedup_vs_eager for the compiled backends.

    Returns:
        One row per (backend, size) with first_call_s, steady_s, target_s, meets_target and,
        where the eager loop ran, speedup_vs_eager.
    """
    from diffpipe.escape import COUNTERS, Plane

    targets = targets or {}

    rows = []
    for backend in backends:
        counter = COUNTERS[backend]
        # The eager loop takes seconds per call: time it once, on the smallest size only.
        for size in sizes[:1] if backend == "tensorflow_eager" else sizes:
            call = functools.partial(counter, Plane("mandelbrot", None, NOTEBOOK_VIEWPORT, size, size, iterations, 4.0))
            first, best = time_calls(call, 1 if backend == "tensorflow_eager" else repeats)
            rows.append(
                {
                    "kernel": "mandelbrot",
                    "backend": backend,
                    "size": f"{size}x{size}",
                    "points": size * size,
                    "iterations": iterations,
                    "first_call_s": first,
                    "steady_s": best,
                    "target_s": _target(targets, f"{backend}@{size}"),
                }
            )
    table = pd.DataFrame(rows)
    table["meets_target"] = ~(table["steady_s"] > table["target_s"])
    eager = table.loc[table["backend"] == "tensorflow_eager"]
    if len(eager):
        ref = eager.iloc[0]
        same = table["size"] == ref["size"]
        table["speedup_vs_eager"] = np.where(same, ref["steady_s"] / table["steady_s"], np.nan)
        compiled = same & table["backend"].isin(["jax", "tensorflow"])
        minimum = targets.get("min_speedup_vs_eager")
        if minimum is not None:
            table.loc[compiled, "meets_target"] &= table.loc[compiled, "speedup_vs_eager"] >= minimum
    return table


def grid_timings(model_entry: dict, sizes, repeats: int, targets: dict | None = None) -> pd.DataFrame:
    """Ln L grid-scan timings (one jit(vmap) call over n x n points).

    Args:
        model_entry: a `likelihood.models` entry.
        sizes: points per axis.
        repeats: steady-state repeats.
        targets: `benchmark.targets.gridscan`: str(points per axis) -> seconds.

    Returns:
        One row per size with first_call_s, steady_s, per_point_s, target_s, meets_target.
    """
    from diffpipe.compiled import make_grid_evaluator
    from diffpipe.models import build_model
    from diffpipe.runtime import enable_float64

    targets = targets or {}

    enable_float64()
    model, data = build_model(model_entry)
    base = np.asarray(model.config.suggested_init(), float)
    evaluate = make_grid_evaluator(model, data, base, 0, 1)
    rows = []
    for n in sizes:
        gx, gy = np.meshgrid(np.linspace(0.5, 1.5, n), np.linspace(0.5, 1.5, n))
        xs, ys = gx.ravel(), gy.ravel()
        first, best = time_calls(functools.partial(lambda a, b: evaluate(a, b).block_until_ready(), xs, ys), repeats)
        rows.append(
            {
                "kernel": "lnL grid jit(vmap)",
                "backend": "jax",
                "size": f"{n}x{n}",
                "points": n * n,
                "first_call_s": first,
                "steady_s": best,
                "per_point_s": best / (n * n),
                "target_s": _target(targets, str(n)),
                "meets_target": not best > _target(targets, str(n)),
            }
        )
    return pd.DataFrame(rows)


def run_benchmark(job, cfg: dict, grid_model: dict, outputs: dict) -> None:
    """Rule `benchmark`: time the fractal backends and the grid scan.

    Args:
        job: the `runtime.Job`.
        cfg: the `benchmark` config section.
        grid_model: the `likelihood.models` entry the grid scan is timed on.
        outputs: paths `fractals` and `grid` (CSV).
    """
    from diffpipe.artifacts import BenchmarkTable
    from diffpipe.provenance import Provenance, cpu_info
    from diffpipe.runtime import compute_job

    with compute_job(job) as device:
        started = time.perf_counter()
        targets = cfg["targets"]
        fractal = fractal_timings(cfg["backends"], cfg["sizes"], cfg["iterations"], cfg["repeats"], targets["fractals"])
        grid = grid_timings(grid_model, cfg["grid_sizes"], cfg["repeats"], targets["gridscan"])
        cpu = cpu_info()
        for table in (fractal, grid):
            table["device"] = device.description
        prov = Provenance.record({"benchmark": cfg, "grid_model": grid_model}, device, time.perf_counter() - started)
        BenchmarkTable(table=grid, what="gridscan", cpu=cpu, provenance=prov).write(outputs["grid"])
        BenchmarkTable(table=fractal, what="fractals", cpu=cpu, provenance=prov).write(outputs["fractals"])
