"""Fractal images from escape counts: one PNG per fractal and all of them side by side.

Everything a figure needs (viewport, iterations, the Julia constant) comes from the counts
artifact itself.
"""

from diffpipe.artifacts import FractalCounts
from diffpipe.escape import log_shade
from diffpipe.figstyle import new_figure, save
from diffpipe.runtime import logged


def draw(ax, fractal: FractalCounts, colormap: str):
    """Draw one fractal's shaded counts on its complex-plane axes.

    Args:
        ax: a matplotlib axes.
        fractal: the counts artifact.
        colormap: a matplotlib colormap name.

    Returns:
        The AxesImage.
    """
    xmin, xmax, ymin, ymax = fractal.viewport
    image = ax.imshow(
        log_shade(fractal.counts, fractal.iterations),
        origin="lower",
        extent=(xmin, xmax, ymin, ymax),
        cmap=colormap,
        interpolation="bilinear",
    )
    ax.set_aspect("equal")
    ax.set_title(title_for(fractal))
    ax.set_xlabel("Re")
    ax.set_ylabel("Im")
    return image


def title_for(fractal: FractalCounts) -> str:
    """A figure title naming the fractal and, for Julia sets, its constant.

    Args:
        fractal: the counts artifact.

    Returns:
        The title.
    """
    if fractal.kind == "julia":
        return f"{fractal.name}: Julia c = {fractal.c[0]:g}{fractal.c[1]:+g}i"
    return f"{fractal.name}: Mandelbrot"


def plot_single(fractal: FractalCounts, style: dict):
    """One fractal with a colour bar.

    Args:
        fractal: the counts artifact (counts, viewport, iterations, name).
        style: the `figures` config.

    Returns:
        A square figure.
    """
    fig, axes = new_figure(style, square=True)
    image = draw(axes[0, 0], fractal, style["colormap"])
    fig.colorbar(image, ax=axes[0, 0], label="log10((n+1)/(N+1))")
    return fig


def plot_side_by_side(fractals: list[FractalCounts], style: dict):
    """All fractals in one row.

    Args:
        fractals: the counts artifacts, drawn left to right.
        style: the `figures` config (one square panel each).

    Returns:
        The figure.
    """
    fig, axes = new_figure(style, ncols=len(fractals), square=True)
    for ax, fractal in zip(axes[0], fractals):
        draw(ax, fractal, style["colormap"])
    return fig


def run_plot_fractal(job, counts_path: str, style: dict, output: str) -> None:
    """Rule `plot_fractal`: one fractal's image (a PNG, whatever `figures.format` says).

    Args:
        job: the `runtime.Job` (its log receives any exception).
        counts_path: the fractal's counts.npz.
        style: the `figures` config (dpi, colormap, size).
        output: the image's path (.png).
    """
    with logged(job):
        save(plot_single(FractalCounts.read(counts_path), style), output, style)


def run_plot_fractals(job, counts_paths: list[str], style: dict, output: str) -> None:
    """Rule `plot_fractals`: every fractal side by side.

    Args:
        job: the `runtime.Job` (its log receives any exception).
        counts_paths: every fractal's counts.npz, in config order.
        style: the `figures` config.
        output: the figure's path (format from its suffix).
    """
    with logged(job):
        save(plot_side_by_side([FractalCounts.read(p) for p in counts_paths], style), output, style)
