"""Figure style from the `figures:` config section (the only config plot rules receive)."""


import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from artifacts import save_figure  # noqa: E402


def new_figure(style: dict, ncols: int = 1, nrows: int = 1, square: bool = False, **kwargs):
    width = style["width"] * ncols
    height = (style["width"] if square else style["height"]) * nrows
    return plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, **kwargs)


def save(fig, path: str, style: dict) -> None:
    save_figure(fig, path, style["dpi"])
    plt.close(fig)
