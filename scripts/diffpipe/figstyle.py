"""Figure style from the `figures:` config section (the only config plot rules receive)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from diffpipe.io import write_with  # noqa: E402


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


def save(fig, path: str, style: dict) -> None:
    """Save a figure atomically (format from the file name, dpi from the style) and close it.

    Args:
        fig: the figure.
        path: destination; its suffix (png, svg, pdf) is the format.
        style: the `figures` config.
    """
    fmt = Path(path).suffix.lstrip(".")
    write_with(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=style["dpi"], bbox_inches="tight"))
    plt.close(fig)
