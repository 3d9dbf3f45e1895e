"""diffpipe's side of the inference benchmark (run in a fresh process by diffpipe.benchmark.inference).

python -m diffpipe.inference.timing TASK '<argument as JSON>' prints the timing as JSON.
"""

import json
import sys
import time


def ours_model(spec: dict) -> dict:
    """Ranking and CLs limit with band of one model, timed by stage.

    Args:
        spec: a model entry.

    Returns:
        setup_s, ranking_s, limits_s, total_s, parameters, observed.
    """
    from diffpipe.inference.analysis import prepare
    from diffpipe.inference.impacts import impacts
    from diffpipe.inference.limits import CLsScan, upper_limits
    from diffpipe.models import build_model, use_jax_backend

    started = time.perf_counter()
    use_jax_backend()
    model, data = build_model(spec)
    analysis = prepare(model, data, spec.get("bounds"))
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
    from diffpipe.models import use_jax_backend

    started = time.perf_counter()
    use_jax_backend()
    rows, shared, _ = grid_limits("bench", signal_grid, {"cl": 0.95})
    total = time.perf_counter() - started
    later = [r["seconds"] for r in rows[1:]] or [total]
    return {"total_s": total, "patches": len(rows), "per_patch_s": sum(later) / len(later), "shared": shared["shared"]}


TASKS = {"ours_model": ours_model, "ours_grid": ours_grid}

if __name__ == "__main__":
    print(json.dumps(TASKS[sys.argv[1]](json.loads(sys.argv[2]))))
