"""Data/model figures of a model's yields (yields.csv), pre-fit and post-fit, in HEP style.

Each channel is one column: the samples stacked with mplhep's `histplot` over the channel's
binning (the model entry's `binning`: an observable and its bin edges; the bin index where a
channel has none), the total's uncertainty hatched, the data with Poisson errors, and a
data/model panel below. A stack spanning more than `LOG_DECADES` decades gets a log axis. Every
sample keeps one colour across both figures (`figstyle.sample_colours`).
"""

import numpy as np

from diffpipe.artifacts import Yields
from diffpipe.figstyle import new_figure, sample_colours, save
from diffpipe.runtime import logged

STAGES = {"prefit": "Pre-fit", "postfit": "Post-fit"}
# A stack whose largest bin total exceeds its smallest positive sample yield by more than this
# many decades is drawn on a log axis (the smaller samples would be invisible on a linear one).
LOG_DECADES = 2.0
RATIO_RANGE = (0.5, 1.5)


def channel_axis(channel: str, nbins: int, binning: dict) -> tuple[np.ndarray, str]:
    """A channel's bin edges and x-axis label.

    Args:
        channel: the channel's name.
        nbins: its number of bins.
        binning: the model entry's `binning` ({channel: {observable, edges}}; may lack the channel).

    Returns:
        (edges (nbins + 1,), label): the observable's edges and name, else 0..nbins and "bin".
    """
    entry = binning.get(channel)
    if entry is None:
        return np.arange(nbins + 1, dtype=float), "bin"
    return np.asarray(entry["edges"], float), entry["observable"]


def wants_log(stack: np.ndarray) -> bool:
    """Whether a stack (samples x bins) spans more than `LOG_DECADES` decades.

    Args:
        stack: the samples' yields per bin.

    Returns:
        True where the largest bin total over the smallest positive yield exceeds 10^LOG_DECADES.
    """
    positive = stack[stack > 0]
    if positive.size == 0:
        return False
    return float(stack.sum(axis=0).max()) / float(positive.min()) > 10.0**LOG_DECADES


def experiment_label(ax, label: dict) -> None:
    """The figure's neutral experiment label (mplhep's `exp_label`), with luminosity and energy where given.

    Args:
        ax: the top panel.
        label: {experiment, luminosity_ifb, energy_tev} from the `figures` config (None: not shown).
    """
    import mplhep

    energy = label["energy_tev"]
    mplhep.label.exp_label(
        exp=label["experiment"],
        llabel="",
        data=True,
        lumi=label["luminosity_ifb"],
        lumi_format="{0:g}",
        com=None if energy is None else f"{energy:g}",
        ax=ax,
        loc=0,
        fontsize="small",
    )


def plot_yields(yields: Yields, stage: str, style: dict, binning: dict, label: dict):
    """One stage's stacked yields per channel with the uncertainty band, data, and a data/model panel.

    Args:
        yields: the yields artifact.
        stage: "prefit" or "postfit".
        style: the `figures` config (size, dpi).
        binning: the model entry's `binning` (may be empty).
        label: the experiment label settings (`experiment_label`).

    Returns:
        The figure: one column per channel, the stack on top, data/model below.
    """
    import mplhep

    table = yields.table
    rows = table[(table["stage"] == stage) & (table["scope"] == "bin")]
    colours = sample_colours(yields.samples)
    fig, axes = new_figure(style, ncols=len(yields.channels), nrows=2, gridspec_kw={"height_ratios": [3, 1]})
    for c, channel in enumerate(yields.channels):
        ax, ratio = axes[0, c], axes[1, c]
        ratio.sharex(ax)
        here = rows[rows["channel"] == channel].sort_values("bin")
        edges, xlabel = channel_axis(channel, yields.bins[channel], binning)
        stack = np.array([here[here["sample"] == s]["yield"].to_numpy(float) for s in yields.samples])
        mplhep.histplot(
            list(stack),
            edges,
            stack=True,
            histtype="fill",
            label=list(yields.samples),
            color=[colours[s] for s in yields.samples],
            alpha=0.85,
            ax=ax,
            flow="none",
        )
        total = here[here["sample"] == "total"]
        model, err = total["yield"].to_numpy(float), total["stdev"].to_numpy(float)
        data = total["data"].to_numpy(float)
        ax.stairs(model + err, edges, baseline=model - err, fill=True, color="none", hatch="////", ec="grey", lw=0)
        ax.stairs(model, edges, color="k", lw=0.8, label=f"{STAGES[stage].lower()} total ± 1σ")
        mplhep.histplot(
            data, edges, yerr=np.sqrt(data), histtype="errorbar", color="k", label="data", ax=ax, flow="none"
        )
        ax.set_title(channel, fontsize="medium", pad=14)
        ax.set_ylabel("events")
        ax.set_xlabel("")
        if wants_log(stack):
            ax.set_yscale("log")
            ax.set_ylim(max(float(stack[stack > 0].min()) / 2, 1e-3), float(np.max(model + err)) * 30)
        else:
            ax.set_ylim(0, 1.35 * float(np.max(np.concatenate([model + err, data + np.sqrt(data)]))))
        safe = np.where(model > 0, model, np.nan)
        ratio.stairs(
            1 + err / safe, edges, baseline=1 - err / safe, fill=True, color="none", hatch="////", ec="grey", lw=0
        )
        centres = 0.5 * (edges[1:] + edges[:-1])
        ratio.errorbar(centres, data / safe, yerr=np.sqrt(data) / safe, fmt="ko", ms=3)
        ratio.axhline(1, color="grey", lw=0.8)
        ratio.set_ylim(*RATIO_RANGE)
        ratio.set_xlim(edges[0], edges[-1])
        ratio.set_xlabel(xlabel)
        ratio.set_ylabel("data / model")
        ax.tick_params(labelbottom=False)
    experiment_label(axes[0, 0], label)
    axes[0, 0].legend(fontsize="x-small", ncols=2)
    fig.suptitle(f"{yields.model}: {STAGES[stage].lower()} yields", fontsize="medium")
    return fig


def run_plot_yields(job, yields_path: str, style: dict, binning: dict, label: dict, outputs: dict) -> None:
    """Rule `plot_yields`: a model's pre-fit and post-fit data/model figures.

    Args:
        job: the `runtime.Job`.
        yields_path: the model's yields.csv.
        style: the `figures` size and dpi.
        binning: the model entry's `binning`.
        label: the experiment label settings (`experiment_label`).
        outputs: figure paths `prefit` and `postfit`.
    """
    with logged(job):
        yields = Yields.read(yields_path)
        for stage in STAGES:
            save(plot_yields(yields, stage, style, binning, label), outputs[stage], style)
