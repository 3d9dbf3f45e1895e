"""Fractal images from escape counts: one PNG per fractal and all of them side by side."""


import numpy as np

from figstyle import new_figure, save
from fractals import log_shade


def draw(ax, counts: np.ndarray, spec: dict, colormap: str, title: str):
    xmin, xmax, ymin, ymax = spec["viewport"]
    image = ax.imshow(
        log_shade(counts, spec["iterations"]),
        origin="lower",
        extent=(xmin, xmax, ymin, ymax),
        cmap=colormap,
        interpolation="bilinear",
    )
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.set_xlabel("Re")
    ax.set_ylabel("Im")
    return image


def title_for(name: str, spec: dict) -> str:
    if spec["kind"] == "julia":
        return f"{name}: Julia c = {spec['c'][0]:g}{spec['c'][1]:+g}i"
    return f"{name}: Mandelbrot"


def plot_single(counts, spec, name, style):
    fig, axes = new_figure(style, square=True)
    image = draw(axes[0, 0], counts, spec, style["colormap"], title_for(name, spec))
    fig.colorbar(image, ax=axes[0, 0], label="log10((n+1)/(N+1))")
    return fig


def plot_side_by_side(items: list[tuple[str, dict, np.ndarray]], style):
    fig, axes = new_figure(style, ncols=len(items), square=True)
    for ax, (name, spec, counts) in zip(axes[0], items):
        draw(ax, counts, spec, style["colormap"], title_for(name, spec))
    return fig


def main(smk) -> None:
    from artifacts import write_with

    style = smk.params.figures
    if smk.rule == "plot_fractal":
        counts = np.load(smk.input.counts)
        fig = plot_single(counts, smk.params.fractal, smk.wildcards.fractal, style)
        # The per-fractal image is always a PNG (its name says so), in the configured dpi.
        write_with(smk.output.image, lambda tmp: fig.savefig(tmp, format="png", dpi=style["dpi"], bbox_inches="tight"))
        return
    items = [(name, smk.params.fractals[name], np.load(path)) for name, path in zip(smk.params.names, smk.input.counts)]
    save(plot_side_by_side(items, style), smk.output.figure, style)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
