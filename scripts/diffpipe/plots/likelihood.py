"""Likelihood figures from fit.json and grid.npz: profile scan, pulls, correlations, 2-D grid."""

import numpy as np

from diffpipe.artifacts import FitResult, GridScan
from diffpipe.figstyle import new_figure, save
from diffpipe.runtime import logged


def plot_profile(fit: FitResult, style: dict):
    """The POI's profile -2 Delta ln L with the Hessian parabola and the 68% interval.

    Args:
        fit: the fit artifact (its `profile` scan and the POI's autodiff sigma are drawn).
        style: the `figures` config.

    Returns:
        One panel; a note instead of curves when the model has no free POI.
    """
    fig, axes = new_figure(style)
    ax = axes[0, 0]
    prof = fit.profile
    if prof is None:
        ax.text(0.5, 0.5, "model has no free POI", ha="center", transform=ax.transAxes)
        return fig
    ax.plot(prof["values"], prof["delta_2nll"], color="C0", label="profile -2 Delta lnL")
    poi = fit.parameters.index(prof["parameter"])
    mu, sigma = fit.bestfit[poi], fit.sigma_autodiff[poi]
    x = np.asarray(prof["values"])
    ax.plot(x, ((x - mu) / sigma) ** 2, "--", color="C1", label="parabola from autodiff Hessian")
    for level, name in ((1.0, "1 sigma"), (4.0, "2 sigma")):
        ax.axhline(level, color="grey", lw=0.8, ls=":")
        ax.text(x[0], level, f" {name}", va="bottom", fontsize="small", color="grey")
    lo, hi = prof["interval_68"]
    for end in (lo, hi):
        if end is not None:
            ax.axvline(end, color="C2", lw=0.8)
    ax.set_ylim(0, max(5.0, 1.1 * min(np.max(prof["delta_2nll"]), 12)))
    ax.set_xlabel(prof["parameter"])
    ax.set_ylabel("-2 Delta ln L")
    ax.legend(fontsize="small")
    return fig


# Inches per labelled row of the pulls and correlation figures: a figure with more parameters
# than fit the panel's height grows, so every name stays readable.
ROW_INCHES = 0.16
# Beyond this many parameters the correlation matrix shows only those correlated with another
# one by at least CORRELATION_PRUNE (cabinetry's pruning_threshold): on a published-size
# likelihood most rows are a lone diagonal entry, and their labels cost most of the drawing.
CORRELATION_ALL_UP_TO = 20
CORRELATION_PRUNE = 0.2


def _labelled_height(style: dict, rows: int, square: bool = False) -> float:
    """A panel's height in inches that fits `rows` tick labels (at least the style's)."""
    base = style["width"] if square else style["height"]
    return max(base, ROW_INCHES * rows + 1.5)


def plot_pulls(fit: FitResult, style: dict):
    """Pulls of the constrained parameters with their post-fit constraints.

    Args:
        fit: the fit artifact (its `pulls`).
        style: the `figures` config.

    Returns:
        One panel with the +-1 and +-2 bands (taller with many parameters); a note when nothing is constrained.
    """
    pulls = fit.pulls
    fig, axes = new_figure({**style, "height": _labelled_height(style, len(pulls))})
    ax = axes[0, 0]
    if not pulls:
        ax.text(0.5, 0.5, "no constrained parameters", ha="center", transform=ax.transAxes)
        return fig
    y = np.arange(len(pulls))
    ax.axvspan(-2, 2, color="yellow", alpha=0.4)
    ax.axvspan(-1, 1, color="limegreen", alpha=0.4)
    ax.errorbar([p["pull"] for p in pulls], y, xerr=[p["constraint"] for p in pulls], fmt="ko")
    ax.set_yticks(y, [p["parameter"] for p in pulls])
    ax.set_ylim(-0.7, len(pulls) - 0.3)
    ax.set_xlim(-3, 3)
    ax.set_xlabel("(theta_hat - theta_0) / Delta theta")
    ax.set_title("Pulls and post-fit constraints")
    return fig


def correlated_subset(corr: np.ndarray, threshold: float = CORRELATION_PRUNE) -> np.ndarray:
    """Indices of the parameters correlated with at least one other by |rho| >= threshold.

    Args:
        corr: (n, n) correlation matrix.
        threshold: the smallest |rho| that keeps a parameter.

    Returns:
        The kept indices, in parameter order.
    """
    off = np.abs(np.asarray(corr, float))
    np.fill_diagonal(off, 0.0)
    return np.flatnonzero(off.max(axis=1, initial=0.0) >= threshold)


def plot_correlation(fit: FitResult, style: dict):
    """The correlation matrix of the free parameters.

    Args:
        fit: the fit artifact (its `correlation` and parameter names).
        style: the `figures` config.

    Returns:
        A square panel with a colour bar (values printed up to 12 parameters; beyond
        `CORRELATION_ALL_UP_TO`, only the parameters with |rho| >= `CORRELATION_PRUNE` to another).
    """
    corr = np.asarray(fit.correlation)
    names = list(fit.parameters)
    title = None
    if len(names) > CORRELATION_ALL_UP_TO:
        keep = correlated_subset(corr)
        title = f"{len(keep)} of {len(names)} parameters: those with |correlation| >= {CORRELATION_PRUNE:g} to another"
        corr, names = corr[np.ix_(keep, keep)], [names[i] for i in keep]
    side = _labelled_height(style, len(names), square=True)
    fig, axes = new_figure({**style, "width": side}, square=True)
    ax = axes[0, 0]
    image = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
    if len(names) <= 12:
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
    else:
        ax.set_xticks(range(len(names)), names, rotation=90)
    ax.set_yticks(range(len(names)), names)
    if len(names) <= 12:
        for (i, j), value in np.ndenumerate(corr):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize="small")
    if title:
        ax.set_title(title, fontsize="small")
    fig.colorbar(image, ax=ax, label="correlation")
    return fig


def plot_grid(grid: GridScan, style: dict):
    """Filled ln L contours, line contours, gradient arrows, best fit (the notebook's figure).

    Args:
        grid: the grid-scan artifact (axes, ln L, arrows, best fit, parameter names).
        style: the `figures` config (the colormap fills the contours).

    Returns:
        A square panel with a colour bar.
    """
    fig, axes = new_figure(style, square=True)
    ax = axes[0, 0]
    gx, gy = np.meshgrid(grid.x, grid.y)
    filled = ax.contourf(gx, gy, grid.lnl, levels=100, cmap=style["colormap"])
    ax.contour(gx, gy, grid.lnl, levels=20, colors="w", linewidths=0.6)
    ax.quiver(grid.arrow_x, grid.arrow_y, grid.arrow_dx, grid.arrow_dy, angles="xy")
    ax.scatter(*grid.bestfit, c="r", zorder=3, label="best fit")
    ax.set_xlabel(grid.names[0])
    ax.set_ylabel(grid.names[1])
    ax.set_xlim(grid.x[0], grid.x[-1])
    ax.set_ylim(grid.y[0], grid.y[-1])
    ax.legend(loc="upper right", fontsize="small")
    ax.set_box_aspect(1)
    fig.colorbar(filled, ax=ax, label="ln L")
    return fig


def run_plot_likelihood(job, fit_path: str, grid_path: str, style: dict, outputs: dict) -> None:
    """Rule `plot_likelihood`: grid, profile, pulls and correlation figures of one model.

    Args:
        job: the `runtime.Job` (its log receives any exception).
        fit_path: the model's fit.json.
        grid_path: its grid.npz.
        style: the `figures` config.
        outputs: figure paths by kind: `grid`, `profile`, `pulls`, `correlation`.
    """
    with logged(job):
        fit = FitResult.read(fit_path)
        save(plot_grid(GridScan.read(grid_path), style), outputs["grid"], style)
        save(plot_profile(fit, style), outputs["profile"], style)
        save(plot_pulls(fit, style), outputs["pulls"], style)
        save(plot_correlation(fit, style), outputs["correlation"], style)
