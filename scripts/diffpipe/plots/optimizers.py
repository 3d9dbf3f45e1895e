"""Optimizer figures: convergence (f - f* against evaluations of f) and evaluations bars."""

import numpy as np
import pandas as pd

from diffpipe.artifacts import OptimizerRuns, OptimizerTraces
from diffpipe.figstyle import new_figure, save
from diffpipe.runtime import logged

MODE_STYLE = {"none": ":", "jax": "-", "hessian": "--"}
FLOOR = 1e-16  # f - f* is drawn on a log axis; exact zeros sit on this floor


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


def plot_convergence(traces: OptimizerTraces, style: dict):
    """Best f - f* against evaluations of f, one panel per method, from the farthest start.

    Args:
        traces: the optimizer traces artifact.
        style: the `figures` config.

    Returns:
        Up to four panels per row, sharing the y axis; a line per gradient mode.
    """
    runs = traces.runs
    methods = list(dict.fromkeys(run["method"] for run in runs))
    far_start = farthest_start(runs)
    ncols = min(4, max(1, len(methods)))
    nrows = int(np.ceil(len(methods) / ncols))
    fig, axes = new_figure(style, ncols=ncols, nrows=nrows, sharey=True)
    for ax, method in zip(axes.ravel(), methods):
        for run in runs:
            if run["method"] != method or run["start"] != far_start:
                continue
            gap = np.maximum(np.fmin.accumulate(np.abs(np.asarray(run["f_gap"], dtype=float))), FLOOR)
            ax.loglog(run["evaluations"], gap, MODE_STYLE[run["gradient_mode"]], label=run["gradient_mode"])
        ax.set_title(method, fontsize="medium")
        ax.set_xlabel("evaluations of f")
    handles = {}  # one legend for the figure: every panel draws the same gradient modes
    for ax in axes.ravel():
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.subplots_adjust(hspace=0.35)
    spare = axes.ravel()[len(methods) :]
    if len(spare):  # in the first unused panel's place, else above the panels' right edge
        legend_at = {"loc": "center", "bbox_to_anchor": spare[0].get_position().bounds}
    else:
        legend_at = {"loc": "upper right"}
    fig.legend(handles.values(), handles.keys(), title="gradient", **legend_at)
    reference = "f*" if traces.problem.get("fstar") is not None else "f_best"  # no known minimum: f_best
    for ax in axes[:, 0]:
        ax.set_ylabel(f"best f - {reference}")
    for ax in spare:
        ax.set_visible(False)
    fig.suptitle(f"{traces.problem['name']}: convergence from start {far_start}")
    return fig


def plot_evaluations(table: pd.DataFrame, style: dict):
    """Median evaluations of f to reach the target per method and gradient mode.

    Args:
        table: the runs table (evals_to_target empty where the target was never reached).
        style: the `figures` config.

    Returns:
        Grouped bars on a log axis; a red x where no run of a mode reached the target.
    """
    fig, axes = new_figure(style, ncols=1)
    ax = axes[0, 0]
    summary = (
        table.assign(evals=pd.to_numeric(table["evals_to_target"], errors="coerce").astype(float))
        .groupby(["method", "gradient_mode"])["evals"]
        .median()
        .unstack("gradient_mode")
    )
    modes = [m for m in ("none", "jax", "hessian") if m in summary]
    x = np.arange(len(summary.index))
    width = 0.8 / max(1, len(modes))
    for k, mode in enumerate(modes):
        values = summary[mode].to_numpy()
        bars = ax.bar(x + k * width, np.nan_to_num(values, nan=0.0), width, label=mode)
        for bar, value in zip(bars, values):
            if np.isnan(value):  # marked at the bottom of the axes, whatever the scale
                ax.text(
                    bar.get_x() + width / 2,
                    0.01,
                    "x",
                    ha="center",
                    va="bottom",
                    color="red",
                    transform=ax.get_xaxis_transform(),
                )
    ax.set_yscale("log")
    ax.set_xticks(x + width * (len(modes) - 1) / 2, summary.index, rotation=30, ha="right")
    ax.set_ylabel("median evaluations of f to target")
    ax.set_title("x: target not reached (or mode not applicable)", fontsize="small")
    ax.legend(title="gradient")
    return fig


def run_plot_optimizer(job, table_path: str, traces_path: str, style: dict, outputs: dict) -> None:
    """Rule `plot_optimizer`: convergence and evaluation figures of one problem.

    Args:
        job: the `runtime.Job` (its log receives any exception).
        table_path: the problem's runs CSV.
        traces_path: its traces JSON.
        style: the `figures` config.
        outputs: figure paths `convergence` and `evaluations`.
    """
    with logged(job):
        save(plot_convergence(OptimizerTraces.read(traces_path), style), outputs["convergence"], style)
        save(plot_evaluations(OptimizerRuns.read(table_path).table, style), outputs["evaluations"], style)
