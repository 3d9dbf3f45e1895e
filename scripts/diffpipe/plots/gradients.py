"""Figure for the control-flow example: f and f' on one plot (from controlflow.csv)."""

from diffpipe.artifacts import ControlFlowTable
from diffpipe.figstyle import new_figure, save
from diffpipe.runtime import logged


def plot_controlflow(flow: ControlFlowTable, style: dict):
    """Plot f and its derivative (vmap of value_and_grad, analytic dotted) against x.

    Args:
        flow: the control-flow artifact (table, branch threshold, steps).
        style: the `figures` config.

    Returns:
        One panel with a twin y axis for f'.
    """
    table = flow.table
    fig, axes = new_figure(style)
    ax = axes[0, 0]
    ax.plot(table["x"], table["f"], label="f(x)", color="C0")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)", color="C0")
    twin = ax.twinx()
    twin.plot(table["x"], table["df_jax_vmap"], label="f'(x), jax.vmap(grad)", color="C1")
    twin.plot(table["x"], table["df_analytic"], ":", label="f'(x), analytic", color="k")
    twin.set_ylabel("f'(x)", color="C1")
    ax.axvline(flow.threshold, color="grey", lw=0.8, ls="--", label="_nolegend_")
    ax.set_title(f"Piecewise f: x>{flow.threshold:g}: x += sqrt(x) {flow.steps} times, else cos(x^3)")
    lines = [line for line in ax.get_lines() + twin.get_lines() if not line.get_label().startswith("_")]
    ax.legend(lines, [line.get_label() for line in lines], loc="upper left", fontsize="small")
    return fig


def run_plot_controlflow(job, table_path: str, style: dict, output: str) -> None:
    """Rule `plot_controlflow`.

    Args:
        job: the `runtime.Job` (its log receives any exception).
        table_path: controlflow.csv.
        style: the `figures` config.
        output: the figure's path (format from its suffix).
    """
    with logged(job):
        save(plot_controlflow(ControlFlowTable.read(table_path), style), output, style)
