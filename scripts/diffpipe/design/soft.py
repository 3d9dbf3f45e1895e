"""The parametrised selection and binning: a cut on one observable, learnable bin edges on the other.

Parameters (a pytree): `cut`, the threshold of the selection x[:, 1] > cut, and `logits`, one per
bin, whose softmax gives the bins' widths over the binned range (each at least `min_width` of
it, so no bin can vanish). Soft histograms replace the cut by a sigmoid and each bin's indicator
by the probability mass of a Gaussian kernel of width `bandwidth` inside the bin (relaxed's and
neos's construction); as the bandwidth goes to 0 they become the hard histograms, which
`hard_histograms` computes exactly.
"""

from dataclasses import dataclass

import numpy as np

from diffpipe.design.events import SAMPLES, Events


@dataclass(frozen=True)
class Binning:
    """What the parameters do not hold: the binned range, the bandwidth, the smallest bin.

    Attributes:
        bins: number of bins.
        low, high: the binned observable's range.
        bandwidth: the soft cut's and the soft bins' width (observable units).
        min_width: the smallest bin as a fraction of the range.
    """

    bins: int
    low: float
    high: float
    bandwidth: float
    min_width: float


def start_parameters(binning: Binning, cut: float) -> dict:
    """Equal-width bins and the given cut.

    Args:
        binning: the `Binning`.
        cut: the starting threshold.

    Returns:
        {"cut": float, "logits": (bins,) zeros}.
    """
    return {"cut": np.asarray(float(cut)), "logits": np.zeros(binning.bins)}


def edges(params: dict, binning: Binning, xp=np):
    """The bin edges the parameters give.

    Args:
        params: {"cut", "logits"}.
        binning: the `Binning`.
        xp: numpy or jax.numpy.

    Returns:
        (bins + 1,) increasing edges from `low` to `high`.
    """
    logits = params["logits"]
    soft = xp.exp(logits - xp.max(logits))
    widths = binning.min_width + (1.0 - binning.bins * binning.min_width) * soft / xp.sum(soft)
    inner = binning.low + (binning.high - binning.low) * xp.cumsum(widths)[:-1]
    return xp.concatenate([xp.asarray([binning.low]), inner, xp.asarray([binning.high])])


def _histograms(events: Events, cut_weight, bin_weights, xp) -> dict:
    """Histograms from per-event selection weights and bin memberships (soft or hard)."""
    nominal, sumw2 = [], []
    for s in SAMPLES:
        x, w = events.x[s], events.w[s]
        selected, pick = cut_weight(x), bin_weights(x)
        nominal.append((pick * (w * selected)[:, None]).sum(0))
        sumw2.append((pick * (w**2 * selected)[:, None]).sum(0))
    w1 = events.w["background_1"]
    up = (bin_weights(events.shape_up) * (w1 * cut_weight(events.shape_up))[:, None]).sum(0)
    down = (bin_weights(events.shape_down) * (w1 * cut_weight(events.shape_down))[:, None]).sum(0)
    x2 = events.x["background_2"]
    selected2 = cut_weight(x2) * bin_weights(x2).sum(1)
    total2 = xp.sum(events.w["background_2"] * selected2)
    return {
        "nominal": xp.stack(nominal),
        "sumw2": xp.stack(sumw2),
        "shape_up": up,
        "shape_down": down,
        "norm_up": xp.sum(events.weight_up * selected2) / total2,
        "norm_down": xp.sum(events.weight_down * selected2) / total2,
    }


def soft_histograms(params: dict, events: Events, binning: Binning) -> dict:
    """The smoothed histograms (JAX-traceable in the parameters).

    Args:
        params: {"cut", "logits"}.
        events: the `Events`.
        binning: the `Binning`.

    Returns:
        {"nominal": (3, bins) yields in `SAMPLES` order, "sumw2": (3, bins) sums of squared
        weights, "shape_up"/"shape_down": (bins,) background 1 with its shape systematic,
        "norm_up"/"norm_down": background 2's selected total with its weight variation over the
        nominal one}.
    """
    import jax
    import jax.numpy as jnp
    from jax.scipy.stats import norm

    e = edges(params, binning, jnp)
    h = binning.bandwidth

    def cut_weight(x):
        return jax.nn.sigmoid((x[:, 1] - params["cut"]) / h)

    def bin_weights(x):
        c = norm.cdf((e[None, :] - x[:, :1]) / h)
        return c[:, 1:] - c[:, :-1]

    return _histograms(events, cut_weight, bin_weights, jnp)


def hard_histograms(params: dict, events: Events, binning: Binning) -> dict:
    """The histograms of the hard analysis: events with x[:, 1] > cut, counted in the bins.

    Args:
        params: {"cut", "logits"} (NumPy).
        events: the `Events`.
        binning: the `Binning`.

    Returns:
        As `soft_histograms` (NumPy).
    """
    e = np.asarray(edges({k: np.asarray(v, float) for k, v in params.items()}, binning), float)
    cut = float(params["cut"])

    def cut_weight(x):
        return (x[:, 1] > cut).astype(float)

    def bin_weights(x):
        index = np.clip(np.searchsorted(e, x[:, 0], side="right") - 1, 0, binning.bins - 1)
        inside = (x[:, 0] >= e[0]) & (x[:, 0] <= e[-1])
        return (np.arange(binning.bins)[None, :] == index[:, None]) * inside[:, None]

    return _histograms(events, cut_weight, bin_weights, np)
