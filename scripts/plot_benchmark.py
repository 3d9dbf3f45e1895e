"""Benchmark figure: steady-state time per backend and size (log scale)."""


import numpy as np
import pandas as pd

from figstyle import new_figure, save


def plot_benchmark(fractals: pd.DataFrame, grid: pd.DataFrame, style: dict):
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


def main(smk) -> None:
    style = smk.params.figures
    fig = plot_benchmark(pd.read_csv(smk.input.fractals), pd.read_csv(smk.input.grid), style)
    save(fig, smk.output.figure, style)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
