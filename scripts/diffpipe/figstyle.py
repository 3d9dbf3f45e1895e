"""Figure style from the `figures:` config section (the only config plot rules receive)."""

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
# Titles sit at the top of their panel: matplotlib's automatic placement measures every panel's
# tick labels on each draw to dodge top-side labels, which no figure here has.
matplotlib.rcParams["axes.titley"] = 1.0

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402

from diffpipe.storage import write_with  # noqa: E402

# A log axis spanning more decades than this gets no minor ticks: eight per decade add hundreds
# of tick artists to lay out (about half the drawing time of the optimizer figures) and show
# little that a major tick per decade does not.
MINOR_TICKS_MAX_DECADES = 2.0
PNG_COMPRESS_LEVEL = 1  # zlib level: ~0.1 s less per large figure than matplotlib's 6
_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


def new_figure(style: dict, ncols: int = 1, nrows: int = 1, square: bool = False, **kwargs):
    """A grid of panels sized from the style.

    Args:
        style: the `figures` config (width, height per panel in inches).
        ncols: panels per row.
        nrows: rows of panels.
        square: panels as tall as wide.
        kwargs: passed to `plt.subplots`.

    Returns:
        (figure, 2-D array of axes).
    """
    width = style["width"] * ncols
    height = (style["width"] if square else style["height"]) * nrows
    return plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, **kwargs)


def log_tick_label(value: float, _pos=None) -> str:
    """A log-axis tick label in plain text: 10 with a Unicode superscript at powers of ten.

    Matplotlib's default (LogFormatterSciNotation) typesets every label with mathtext, which
    parses each one; this reads the same and is drawn as ordinary text.

    Args:
        value: the tick's value.
        _pos: the tick's position (unused; matplotlib's formatter signature).

    Returns:
        "10⁻³" at a power of ten, else the value in %g.
    """
    if value <= 0 or not np.isfinite(value):
        return ""
    exponent = np.log10(value)
    if abs(exponent - round(exponent)) < 1e-9:
        exponent = int(round(exponent))
        return "1" if exponent == 0 else f"10{str(exponent).translate(_SUPERSCRIPT)}"
    return f"{value:g}"


def lighten(fig) -> None:
    """Cheaper log axes before drawing: plain-text labels, no minor ticks over many decades.

    Args:
        fig: the figure (changed in place).
    """
    for ax in fig.axes:
        for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            if axis.get_scale() != "log":
                continue
            axis.set_major_formatter(ticker.FuncFormatter(log_tick_label))
            low, high = sorted((low, high))
            if low > 0 and np.log10(high / low) > MINOR_TICKS_MAX_DECADES:
                axis.set_minor_locator(ticker.NullLocator())


def save(fig, path: str, style: dict) -> None:
    """Save a figure atomically (format from the file name, dpi from the style) and close it.

    Args:
        fig: the figure.
        path: destination; its suffix (png, svg, pdf) is the format.
        style: the `figures` config.
    """
    fmt = Path(path).suffix.lstrip(".")
    lighten(fig)
    extra = {"pil_kwargs": {"compress_level": PNG_COMPRESS_LEVEL}} if fmt == "png" else {}
    write_with(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=style["dpi"], bbox_inches="tight", **extra))
    plt.close(fig)


def sample_colours(samples) -> dict:
    """One colour per sample, the same in every figure of a model (its samples' order fixes it).

    Args:
        samples: the sample names in the model's order.

    Returns:
        {sample: colour}: matplotlib's tab10 cycle, tab20 beyond ten samples.
    """
    cmap = plt.get_cmap("tab10" if len(samples) <= 10 else "tab20")
    return {name: cmap(i % cmap.N) for i, name in enumerate(samples)}
