"""Optimizer figures: convergence on three axes and the methods' ranking.

Convergence against evaluations of f, of the gradient and wall time (with the repetitions'
5-95% band); the ranking by time and by evaluations to the target.
"""

import numpy as np
from matplotlib.ticker import NullFormatter

from diffpipe.artifacts import OptimizerTraces
from diffpipe.figstyle import new_figure, save
from diffpipe.runtime import logged

MODE_STYLE = {"none": ":", "jax": "-", "hessian": "--"}
FLOOR = 1e-16  # f - f* is drawn on a log axis; exact zeros sit on this floor
SCIPY, NATIVE = "scipy", "JAX-native (optimistix, optax)"
AXES = {
    "evaluations": ("evaluations", "evaluations of f"),
    "gradients": ("gradient_evaluations", "exact gradient evaluations"),
    "time": ("time_median", "wall time [s]"),
}


def farthest_start(runs: list[dict]) -> str | None:
    """The start with the largest initial f - f* (the notebook's "start very far away").

    Args:
        runs: the traces' runs (each with `start` and `f_gap`, f - f* per evaluation).

    Returns:
        That start's label (None when there are no runs).
    """
    gaps: dict[str, float] = {}
    for run in runs:
        first = run["f_gap"][0] if run["f_gap"] else None
        gap = abs(first) if first is not None else np.inf  # null: f was not finite there
        gaps[run["start"]] = max(gaps.get(run["start"], -np.inf), gap)
    return max(gaps, key=gaps.get) if gaps else None


def start_label(traces: OptimizerTraces, width: int = 40) -> str:
    """The farthest start as a title shows it: the point, or its number when that is long.

    Args:
        traces: the optimizer traces artifact.
        width: the most characters of a point shown.

    Returns:
        The start's label, or "#k of n (see the table)" for a long one.
    """
    far = farthest_start(traces.runs)
    if far is None or len(far) <= width:
        return str(far)
    labels = list(dict.fromkeys(run["start"] for run in traces.runs))
    return f"#{labels.index(far) + 1} of {len(labels)} (see the table)"


def best_gap(run: dict) -> np.ndarray:
    """Best f - f* so far at each stored evaluation, floored for a log axis.

    Args:
        run: one stored trace.

    Returns:
        The running minimum of |f - f*| (non-finite values skipped).
    """
    gap = np.abs(np.asarray([np.inf if g is None else g for g in run["f_gap"]], dtype=float))
    return np.maximum(np.fmin.accumulate(gap), FLOOR)


def plot_convergence(traces: OptimizerTraces, style: dict):
    """Best f - f* on three axes, scipy beside the JAX-native methods, from the farthest start.

    Args:
        traces: the optimizer traces artifact.
        style: the `figures` config.

    Returns:
        Rows: against evaluations of f, exact gradient evaluations, wall time (median of the
        repetitions with their 5-95% band); columns: scipy, JAX-native (optimistix, optax).
        A colour per method, a line style per gradient mode; runs without exact gradients are
        not drawn against gradient evaluations (a log axis has no 0).
    """
    runs = [run for run in traces.runs if run["start"] == farthest_start(traces.runs)]
    groups = [g for g in (SCIPY, NATIVE) if any((run["family"] == "scipy") == (g == SCIPY) for run in runs)]
    fig, axes = new_figure(style, ncols=len(groups), nrows=len(AXES), sharey=True)
    colours = {}
    for col, group in enumerate(groups):
        members = [run for run in runs if (run["family"] == "scipy") == (group == SCIPY)]
        for run in members:
            colours.setdefault(run["method"], f"C{len(colours) % 10}")
        for row, (axis, (key, label)) in enumerate(AXES.items()):
            ax = axes[row, col]
            for run in members:
                x, gap = np.asarray(run[key], dtype=float), best_gap(run)
                drawn = x > 0
                if not drawn.any():
                    continue
                colour = colours[run["method"]]
                ax.loglog(x[drawn], gap[drawn], MODE_STYLE[run["gradient_mode"]], color=colour, label=run["method"])
                if axis == "time":
                    low, high = np.asarray(run["time_q05"])[drawn], np.asarray(run["time_q95"])[drawn]
                    ax.fill_betweenx(gap[drawn], low, high, color=colour, alpha=0.2, linewidth=0)
            ax.set_xlabel(label)
            ax.xaxis.set_minor_formatter(NullFormatter())  # a narrow log range labels its minor ticks
            if row == 0:
                ax.set_title(group, fontsize="medium")
        handles = dict(zip(*reversed(axes[0, col].get_legend_handles_labels())))
        axes[0, col].legend(handles.values(), handles.keys(), fontsize="x-small", ncols=2)
    reference = "f*" if traces.problem.get("fstar") is not None else "f_best"  # no known minimum: f_best
    for ax in axes[:, 0]:
        ax.set_ylabel(f"best f - {reference}")
    fig.suptitle(
        f"{traces.problem['name']}: from start {start_label(traces)}; dotted: finite differences, "
        "solid: exact gradient, dashed: exact Hessian; time: median, 5-95% band"
    )
    return fig


def plot_ranking(traces: OptimizerTraces, style: dict):
    """Median time and evaluations of f to the target per method and mode, 5-95% whiskers.

    Args:
        traces: the optimizer traces artifact (its `summary`).
        style: the `figures` config.

    Returns:
        Two panels of horizontal bars on log axes, fastest first; a red x where no run of a
        method reached the target.
    """
    summary = sorted(traces.summary, key=lambda s: (s["rank_time"] is None, s["rank_time"] or 0))
    fig, axes = new_figure(style, ncols=2, sharey=True)
    labels = [f"{s['method']} ({s['gradient_mode']})" for s in summary]
    y = np.arange(len(summary))[::-1]
    for ax, metric, title in (
        (axes[0, 0], "time_to_target_s", "time to target [s]"),
        (axes[0, 1], "evals_to_target", "evaluations of f to target"),
    ):
        for yi, entry in zip(y, summary):
            stats = entry[metric]
            if stats is None:
                ax.text(0.02, yi, "x", color="red", va="center", transform=ax.get_yaxis_transform())
                continue
            err = [[stats["median"] - stats["q05"]], [stats["q95"] - stats["median"]]]
            ax.barh(yi, stats["median"], xerr=err, color="C0" if entry["family"] == "scipy" else "C1")
        ax.set_xscale("log")
        ax.set_xlabel(title)
    axes[0, 0].set_yticks(y, labels, fontsize="small")
    axes[0, 0].set_title("blue: scipy, orange: optimistix / optax; x: never reached", fontsize="small")
    fig.suptitle(f"{traces.problem['name']}: ranking over starts and repetitions")
    return fig


def run_plot_optimizer(job, traces_path: str, style: dict, outputs: dict) -> None:
    """Rule `plot_optimizer`: the convergence figure and the ranking of one problem.

    Args:
        job: the `runtime.Job` (its log receives any exception).
        traces_path: the problem's traces JSON.
        style: the `figures` config.
        outputs: figure paths convergence and ranking.
    """
    with logged(job):
        traces = OptimizerTraces.read(traces_path)
        save(plot_convergence(traces, style), outputs["convergence"], style)
        save(plot_ranking(traces, style), outputs["ranking"], style)
