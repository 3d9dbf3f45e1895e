"""diffpipe's side of the inference benchmark (run in a fresh process by diffpipe.benchmark.inference).

python -m diffpipe.inference.timing TASK '<argument as JSON>' prints the timing as JSON.
"""

import json
import sys
import time


def ours_model(entry: dict) -> dict:
    """Ranking and CLs limit with band of one model, timed by stage.

    Args:
        entry: a model entry.

    Returns:
        setup_s, ranking_s, limits_s, total_s, parameters, observed.
    """
    from diffpipe.inference.analysis import prepare
    from diffpipe.inference.impacts import impacts
    from diffpipe.inference.limits import CLsScan, upper_limits
    from diffpipe.models import build_model
    from diffpipe.runtime import enable_float64

    started = time.perf_counter()
    enable_float64()
    model, data = build_model(entry)
    analysis = prepare(model, data, entry)
    analysis.best_fit()
    ready = time.perf_counter()
    rows = impacts(analysis)
    ranked = time.perf_counter()
    limits = upper_limits(CLsScan(analysis), 0.95, curve_points=0)
    done = time.perf_counter()
    return {
        "setup_s": ready - started,
        "ranking_s": ranked - ready,
        "limits_s": done - ranked,
        "total_s": done - started,
        "parameters": len(rows),
        "observed": limits["observed"],
    }


def ours_grid(signal_grid: dict) -> dict:
    """A whole signal grid from a clean start.

    Args:
        signal_grid: a signal-grid entry.

    Returns:
        total_s, patches, per_patch_s (mean over the patches after the first), shared.
    """
    from diffpipe.inference.signal import grid_limits
    from diffpipe.runtime import enable_float64

    started = time.perf_counter()
    enable_float64()
    rows, shared, _ = grid_limits("bench", signal_grid, {"cl": 0.95})
    total = time.perf_counter() - started
    later = [r["seconds"] for r in rows[1:]] or [total]
    return {"total_s": total, "patches": len(rows), "per_patch_s": sum(later) / len(later), "shared": shared["shared"]}


def ours_gradient(entry: dict) -> dict:
    """The gradient of every limit with respect to every systematic, beside the limit itself and finite differences.

    Limits and gradients are timed cold (compiling, in this fresh process) and warm (again,
    compiled); finite differences are the two refits of the model rebuilt at scale 1 ± 1e-4 of
    the systematic with the largest expected-limit gradient, timed once (the gradient of every
    systematic would take that times the number of systematics).

    Args:
        entry: a model entry with a POI.

    Returns:
        limit_cold_s, gradient_cold_s, limit_s, gradient_s, fd_one_scale_s, scales, fd_s,
        parameters, top_modifier, gradient_top, fd_top.
    """
    from diffpipe.inference.analysis import prepare
    from diffpipe.inference.gradients import InferenceGradients
    from diffpipe.inference.limits import CLsScan, upper_limits
    from diffpipe.inference.sensitivity import differentiable, refit
    from diffpipe.models import build_model
    from diffpipe.runtime import enable_float64
    from diffpipe.teststat import BAND

    enable_float64()
    analysis = prepare(*build_model(entry), entry)
    times, model = {}, None
    for when in ("cold", "warm"):
        started = time.perf_counter()
        scan = CLsScan(analysis)
        limits = upper_limits(scan, 0.95, curve_points=0)
        ready = time.perf_counter()
        model = differentiable(analysis, entry) if model is None else model
        grads = InferenceGradients(model).limits(limits, scan)
        times[when] = (ready - started, time.perf_counter() - ready)
    median = f"expected_{BAND[2]:+d}sigma"
    top = int(abs(grads[median]["modifiers"]).argmax())
    name, step = model.scales.modifiers[top].name, 1e-4
    started = time.perf_counter()
    up, _ = refit(entry, analysis, {name: 1.0 + step})
    down, _ = refit(entry, analysis, {name: 1.0 - step})
    fd_one = time.perf_counter() - started
    scales = len(model.scales.modifiers)
    return {
        "limit_cold_s": times["cold"][0],
        "gradient_cold_s": times["cold"][1],
        "limit_s": times["warm"][0],
        "gradient_s": times["warm"][1],
        "fd_one_scale_s": fd_one,
        "scales": scales,
        "fd_s": fd_one * scales,
        "parameters": len(analysis.init),
        "top_modifier": name,
        "gradient_top": float(grads[median]["modifiers"][top]),
        "fd_top": (up["expected"][2] - down["expected"][2]) / (2 * step),
    }


TASKS = {"ours_model": ours_model, "ours_grid": ours_grid, "ours_gradient": ours_gradient}

if __name__ == "__main__":
    print(json.dumps(TASKS[sys.argv[1]](json.loads(sys.argv[2]))))
