"""Benchmark figure: steady-state time per backend and size (log scale)."""

import numpy as np
import pandas as pd

from diffpipe.artifacts import BenchmarkTable
from diffpipe.figstyle import new_figure, save
from diffpipe.runtime import logged


def plot_benchmark(fractals: pd.DataFrame, grid: pd.DataFrame, style: dict):
    """Fractal backends (bars per size) and grid-scan time against grid points.

    Args:
        fractals: the fractal timing table.
        grid: the grid-scan timing table.
        style: the `figures` config.

    Returns:
        Two panels, both on log scales.
    """
    fig, axes = new_figure(style, ncols=2)
    ax = axes[0, 0]
    sizes = list(dict.fromkeys(fractals["size"]))
    backends = list(dict.fromkeys(fractals["backend"]))
    width = 0.8 / len(backends)
    x = np.arange(len(sizes))
    for k, backend in enumerate(backends):
        rows = fractals.loc[fractals["backend"] == backend].set_index("size")
        values = [rows["steady_s"].get(s, np.nan) * 1e3 for s in sizes]
        ax.bar(x + k * width, np.nan_to_num(values), width, label=backend)
    ax.set_xticks(x + width * (len(backends) - 1) / 2, sizes)
    ax.set_yscale("log")
    ax.set_ylabel("steady-state time [ms]")
    ax.set_title(f"Mandelbrot, {int(fractals['iterations'].iloc[0])} iterations")
    ax.legend(fontsize="small")
    ax = axes[0, 1]
    ax.loglog(grid["points"], grid["steady_s"] * 1e3, "o-", label="jit(vmap(logpdf))")
    ax.set_xlabel("grid points")
    ax.set_ylabel("steady-state time [ms]")
    ax.set_title("2-D likelihood grid scan")
    ax.legend(fontsize="small")
    return fig


def run_plot_benchmark(job, fractals_path: str, grid_path: str, style: dict, output: str) -> None:
    """Rule `plot_benchmark`: the timing figure, titled with the CPU it was measured on.

    Args:
        job: the `runtime.Job` (its log receives any exception).
        fractals_path: benchmark/fractals.csv.
        grid_path: benchmark/gridscan.csv.
        style: the `figures` config.
        output: the figure's path.
    """
    with logged(job):
        fractals, grid = BenchmarkTable.read(fractals_path), BenchmarkTable.read(grid_path)
        fig = plot_benchmark(fractals.table, grid.table, style)
        fig.suptitle(
            f"{fractals.cpu['model']}, {fractals.cpu['cores']} cores, {'/'.join(fractals.cpu['vector'][-2:])}",
            fontsize="small",
        )
        save(fig, output, style)
