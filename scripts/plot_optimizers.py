"""Optimizer figures: convergence (f - f* against evaluations of f) and evaluations bars."""


import json

import numpy as np
import pandas as pd

from figstyle import new_figure, save

MODE_STYLE = {"none": ":", "jax": "-", "hessian": "--"}
FLOOR = 1e-16  # f - f* is drawn on a log axis; exact zeros sit on this floor


def plot_convergence(traces: dict, style: dict):
    runs = traces["runs"]
    methods = list(dict.fromkeys(run["method"] for run in runs))
    # The last configured start is the far one: the notebook's "start very far from the minimum".
    first_start = runs[-1]["start"] if runs else None
    ncols = min(4, max(1, len(methods)))
    nrows = int(np.ceil(len(methods) / ncols))
    fig, axes = new_figure(style, ncols=ncols, nrows=nrows, sharey=True)
    for ax, method in zip(axes.ravel(), methods):
        for run in runs:
            if run["method"] != method or run["start"] != first_start:
                continue
            gap = np.maximum(np.minimum.accumulate(np.abs(run["f_gap"])), FLOOR)
            ax.loglog(run["evaluations"], gap, MODE_STYLE[run["gradient_mode"]], label=run["gradient_mode"])
        ax.set_title(method, fontsize="medium")
        ax.set_xlabel("evaluations of f")
        ax.legend(fontsize="small")
    for ax in axes[:, 0]:
        ax.set_ylabel("best f - f*")
    for ax in axes.ravel()[len(methods):]:
        ax.set_visible(False)
    fig.suptitle(f"{traces['problem']}: convergence from start {first_start}")
    return fig


def plot_evaluations(table: pd.DataFrame, style: dict):
    """Evaluations of f to reach the target, per method, with and without the exact gradient."""
    fig, axes = new_figure(style, ncols=1)
    ax = axes[0, 0]
    summary = (
        table.assign(evals=table["evals_to_target"].where(table["evals_to_target"] > 0))
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
                ax.text(bar.get_x() + width / 2, 0.01, "x", ha="center", va="bottom", color="red",
                        transform=ax.get_xaxis_transform())
    ax.set_yscale("log")
    ax.set_xticks(x + width * (len(modes) - 1) / 2, summary.index, rotation=30, ha="right")
    ax.set_ylabel("median evaluations of f to target")
    ax.set_title("x: target not reached (or mode not applicable)", fontsize="small")
    ax.legend(title="gradient")
    return fig


def main(smk) -> None:
    style = smk.params.figures
    traces = json.loads(open(smk.input.traces).read())
    save(plot_convergence(traces, style), smk.output.convergence, style)
    save(plot_evaluations(pd.read_csv(smk.input.table), style), smk.output.evaluations, style)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
