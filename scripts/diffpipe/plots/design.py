"""Analysis design figure: the training curve and the hard histograms before and after training."""

import numpy as np

from diffpipe.artifacts import AnalysisDesign
from diffpipe.figstyle import new_figure, save
from diffpipe.runtime import logged

COLORS = {"signal": "tab:red", "background_1": "tab:blue", "background_2": "tab:green"}
LOSS_LABELS = {
    "cls": "expected CLs at μ = {mu_test:g}",
    "limit": "expected upper limit on μ",
    "inverse_significance": "1 / Z_A",
}


def plot_design(design: AnalysisDesign, style: dict):
    """Three panels: the soft loss per step, then the start's and the trained design's hard yields per bin.

    Args:
        design: the design's artifact.
        style: the `figures` config.

    Returns:
        The figure.
    """
    fig, axes = new_figure(style, ncols=3)
    ax = axes[0, 0]
    steps = [h["step"] for h in design.history]
    ax.plot(steps, [h["loss"] for h in design.history], "k-", marker=".", ms=3)
    if design.best_step is not None:
        ax.axvline(design.best_step, color="C3", lw=0.8, label=f"trained (step {design.best_step})")
        ax.legend(fontsize="small")
    ax.set_xlabel("optax step")
    ax.set_ylabel(LOSS_LABELS[design.loss].format(mu_test=design.definition.get("mu_test", 1.0)))
    ax.set_title(f"{design.design}: training (soft cuts and bins)", fontsize="medium")
    check = design.validation or {}
    for ax, which in zip(axes[0, 1:], ("start", "trained")):
        hists = design.histograms.get(which)
        if hists is None:
            ax.text(
                0.5,
                0.5,
                "no trained design: " + "; ".join(design.failures.values()),
                ha="center",
                wrap=True,
                transform=ax.transAxes,
            )
            continue
        edges = np.asarray(hists["edges"])
        bottom = np.zeros(len(edges) - 1)
        for sample in ("background_2", "background_1", "signal"):
            yields = np.asarray(hists["hard"][sample])
            ax.stairs(bottom + yields, edges, baseline=bottom, fill=True, alpha=0.6, color=COLORS[sample], label=sample)
            bottom = bottom + yields
        cut = getattr(design, which)["cut"]
        limit = (check.get(which) or {}).get("pyhf_expected_limit")
        note = f"; pyhf expected limit {limit:.3g}" if limit is not None else ""
        ax.set_title(f"{which}: cut x₂ > {cut:.3g}{note}", fontsize="medium")
        ax.set_xlabel("binned observable x₁")
        ax.set_ylabel("events (hard cuts and bins)")
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def run_plot_design(job, design_path: str, style: dict, output: str) -> None:
    """Rule `plot_optimize_analysis`: one design's figure.

    Args:
        job: the `runtime.Job`.
        design_path: the design's JSON.
        style: the `figures` config.
        output: the figure path.
    """
    with logged(job):
        save(plot_design(AnalysisDesign.read(design_path), style), output, style)
