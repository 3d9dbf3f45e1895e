"""Figure for the control-flow example: f and f' on one plot (from controlflow.csv)."""


import pandas as pd

from figstyle import new_figure, save


def plot_controlflow(table: pd.DataFrame, style: dict):
    fig, axes = new_figure(style)
    ax = axes[0, 0]
    ax.plot(table["x"], table["f"], label="f(x)", color="C0")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)", color="C0")
    twin = ax.twinx()
    twin.plot(table["x"], table["df_jax_vmap"], label="f'(x), jax.vmap(grad)", color="C1")
    twin.plot(table["x"], table["df_analytic"], ":", label="f'(x), analytic", color="k")
    twin.set_ylabel("f'(x)", color="C1")
    ax.axvline(2.0, color="grey", lw=0.8, ls="--", label="_nolegend_")
    ax.set_title("Piecewise f: x>2: x += sqrt(x) ten times, else cos(x^3)")
    lines = [line for line in ax.get_lines() + twin.get_lines() if not line.get_label().startswith("_")]
    ax.legend(lines, [line.get_label() for line in lines], loc="upper left", fontsize="small")
    return fig


def main(smk) -> None:
    fig = plot_controlflow(pd.read_csv(smk.input.table), smk.params.figures)
    save(fig, smk.output.figure, smk.params.figures)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
