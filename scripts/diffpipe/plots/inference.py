"""Inference figures: CLs curves with the Brazil band, impact ranking, grouped impacts, signal grids, the budget."""

import numpy as np

from diffpipe.artifacts import ImpactGroups, Impacts, Limits, Sensitivity, SignalContours, SignalGrid
from diffpipe.figstyle import new_figure, save
from diffpipe.runtime import logged


def plot_cls(limits: Limits, style: dict):
    """CLs against the POI: observed, expected median and the ±1σ/±2σ band, limits marked.

    Args:
        limits: the limits artifact (its `curves`).
        style: the `figures` config.

    Returns:
        The figure.
    """
    fig, axes = new_figure(style)
    ax = axes[0, 0]
    curves = limits.curves
    mu = np.asarray(curves["mu"])
    exp = np.asarray(curves["expected"], float)
    ax.fill_between(mu, exp[0], exp[4], color="#ffdd44", label="expected ±2σ")
    ax.fill_between(mu, exp[1], exp[3], color="#44bb44", label="expected ±1σ")
    ax.plot(mu, exp[2], "k--", label="expected")
    ax.plot(mu, curves["observed"], "k-", marker=".", label="observed")
    level = 1.0 - limits.cl
    ax.axhline(level, color="C3", lw=1, label=f"CLs = {level:g}")
    if limits.observed is not None:
        ax.axvline(limits.observed, color="C3", lw=0.8, ls=":")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(limits.poi)
    ax.set_ylabel("CLs")
    obs = "none" if limits.observed is None else f"{limits.observed:.3g}"
    ax.set_title(
        f"{limits.model}: {100 * limits.cl:g}% CL limit {obs} (expected {limits.expected[2]:.3g})", fontsize="medium"
    )
    ax.legend(fontsize="small")
    return fig


def plot_groups(groups: ImpactGroups, style: dict):
    """Each group's impact on the POI by refits (bars) and from the covariance (marks), and the stat part.

    Args:
        groups: the grouped-impacts artifact.
        style: the `figures` config.

    Returns:
        The figure; a group whose refit impact is missing is drawn as its covariance mark alone.
    """
    table = groups.table[groups.table["group"] != "total"]
    n = len(table)
    fig, axes = new_figure({**style, "height": max(style["height"], 0.35 * n + 1.2)})
    ax = axes[0, 0]
    y = np.arange(n)[::-1]
    refit = table["impact"].astype(float).fillna(0.0)
    ax.barh(y, refit, color="C0", alpha=0.8, height=0.6, label="refits (profile interval)")
    ax.plot(table["impact_covariance"].astype(float), y, "k|", ms=12, label="covariance")
    labels = [f"{g} ({k})" for g, k in zip(table["group"], table["n_parameters"], strict=True)]
    ax.set_yticks(y, labels, fontsize="small")
    ax.set_xlabel(f"impact on σ({groups.poi}) (total {groups.sigma_total:.3g})")
    ax.legend(fontsize="small")
    return fig


def plot_ranking(impacts: Impacts, top: int, style: dict):
    """The `top` parameters by post-fit impact: pre-/post-fit impact bars, linearised marks, pulls.

    Args:
        impacts: the impacts artifact (ranked).
        top: number of parameters shown.
        style: the `figures` config.

    Returns:
        The figure (a note when the model has no nuisance parameter).
    """
    table = impacts.table.head(top)
    n = len(table)
    fig, axes = new_figure({**style, "height": max(style["height"], 0.3 * n + 1.2)})
    ax = axes[0, 0]
    if n == 0:
        ax.text(0.5, 0.5, "no floating nuisance parameters", ha="center", transform=ax.transAxes)
        return fig
    y = np.arange(n)[::-1]
    for column, color, alpha in (("prefit", "C0", 0.35), ("postfit", "C0", 0.9)):
        ax.barh(y, table[f"{column}_up"], color=color, alpha=alpha, height=0.6, label=f"{column} impact, up")
        ax.barh(y, table[f"{column}_down"], color="C1", alpha=alpha, height=0.6, label=f"{column} impact, down")
    ax.plot(table["linear_postfit"], y, "k|", ms=10, label="linearised ±σ")
    ax.plot(-table["linear_postfit"], y, "k|", ms=10)
    ax.set_yticks(y, table["parameter"], fontsize="small")
    ax.set_xlabel(f"Δ{impacts.poi}")
    ax.axvline(0, color="grey", lw=0.8)
    pulls = ax.twiny()
    widths = np.where(table["prior_width"] > 0, table["prior_width"], np.nan)
    pull = (table["bestfit"] - _nominal(table)) / widths
    pulls.errorbar(pull, y, xerr=table["uncertainty"] / widths, fmt="ko", ms=3, lw=1)
    pulls.set_xlim(-2.5, 2.5)
    pulls.set_xlabel("pull (θ̂ - θ0) / Δθ (constrained parameters)")
    ax.legend(fontsize="x-small", loc="lower right")
    return fig


def _nominal(table):
    """Nominal values: 1 for multiplicative (gamma-like) parameters, else 0."""
    return np.where(table["parameter"].str.contains("staterror|shapesys|gamma|lumi"), 1.0, 0.0)


def _segments(contours: SignalContours, curve: str) -> list[np.ndarray]:
    """A curve's contour segments as (n, 2) arrays of the two labels' values, in order."""
    table = contours.table[contours.table["curve"] == curve]
    return [
        part.sort_values("point")[contours.labels].to_numpy(float) for _, part in table.groupby("segment", sort=True)
    ]


def axis_label(label: str, units: dict) -> str:
    """A patchset label as an axis title, with its unit in brackets where the config gives one.

    Args:
        label: the label's name.
        units: label -> unit.

    Returns:
        "label [unit]", or the label alone.
    """
    unit = units.get(label)
    return f"{label} [{unit}]" if unit else label


def plot_signal_grid(signal_grid: SignalGrid, contours: SignalContours, style: dict, units: dict | None = None):
    """Limits across a signal grid: against the value for one label, exclusion contours for two.

    The contours are the signal-grid stage's (contours.csv), drawn as they are: the observed
    (solid) and expected (dashed) lines, the expected ±1σ band (filled where each edge is one
    open line, else dotted), the ±2σ edges dotted; excluded points are filled, the others open.

    Args:
        signal_grid: the signal-grid artifact.
        contours: its contours.
        style: the `figures` config.
        units: label -> unit (the config's `units`), shown on the axes.

    Returns:
        The figure.
    """
    units = units or {}
    table = signal_grid.table
    fig, axes = new_figure(style)
    ax = axes[0, 0]
    if len(signal_grid.labels) < 2:
        x = table[signal_grid.labels[0]] if signal_grid.labels else np.arange(len(table))
        order = np.argsort(x.to_numpy())
        x = x.to_numpy()[order]
        ax.fill_between(
            x, table["expected_p2"].to_numpy()[order], table["expected_m2"].to_numpy()[order], color="#ffdd44"
        )
        ax.fill_between(
            x, table["expected_p1"].to_numpy()[order], table["expected_m1"].to_numpy()[order], color="#44bb44"
        )
        ax.plot(x, table["expected"].to_numpy()[order], "k--", label="expected")
        ax.plot(x, table["observed"].to_numpy()[order], "ko-", label="observed")
        ax.axhline(1, color="C3", lw=0.8)
        if signal_grid.labels:
            for curve, ls in (("observed", "-"), ("expected", "--")):  # where each crosses 1
                crossed = contours.table.loc[contours.table["curve"] == curve, signal_grid.labels[0]]
                for value in crossed:
                    ax.axvline(value, color="C3", ls=ls, lw=0.8)
        ax.set_xlabel(axis_label(signal_grid.labels[0], units) if signal_grid.labels else "patch")
        ax.set_ylabel(f"{100 * signal_grid.cl:g}% CL upper limit on {signal_grid.poi}")
        ax.set_yscale("log")
    else:
        xl, yl = signal_grid.labels[:2]
        x, y = table[xl].to_numpy(), table[yl].to_numpy()
        excluded = table["excluded"].to_numpy(bool)
        colours = np.log10(table["observed"].to_numpy(float))
        finite = colours[np.isfinite(colours)]
        # one colour scale for the excluded (filled) and the other (open) points
        scale = (float(finite.min()), float(finite.max())) if finite.size else (None, None)
        sc = ax.scatter(
            x[excluded],
            y[excluded],
            c=colours[excluded],
            cmap=style["colormap"],
            vmin=scale[0],
            vmax=scale[1],
            s=50,
            zorder=3,
        )
        edges = sc.cmap(sc.norm(colours[~excluded]))
        ax.scatter(x[~excluded], y[~excluded], s=50, zorder=3, facecolors="none", edgecolors=edges, linewidths=1.5)
        fig.colorbar(sc, ax=ax, label=f"log10 observed limit on {signal_grid.poi} (filled: excluded)")
        upper, lower = _segments(contours, "expected_p1"), _segments(contours, "expected_m1")
        if len(upper) == 1 and len(lower) == 1 and not np.allclose(upper[0][0], upper[0][-1]):
            band = np.vstack([upper[0], lower[0][::-1]])
            ax.fill(band[:, 0], band[:, 1], color="#ffdd44", alpha=0.6, lw=0, label="expected ±1σ")
        else:
            for segment in upper + lower:
                ax.plot(segment[:, 0], segment[:, 1], color="#bb9900", ls=":")
            ax.plot([], [], color="#bb9900", ls=":", label="expected ±1σ")
        for curve in ("expected_p2", "expected_m2"):
            for segment in _segments(contours, curve):
                ax.plot(segment[:, 0], segment[:, 1], color="0.5", ls=":", lw=0.8)
        for curve, style_line, label in (("expected", "k--", "expected"), ("observed", "C3-", "observed")):
            for segment in _segments(contours, curve):
                ax.plot(segment[:, 0], segment[:, 1], style_line, lw=2)
            ax.plot([], [], style_line, lw=2, label=f"{label} exclusion (limit = 1)")
        ax.set_xlabel(axis_label(xl, units))
        ax.set_ylabel(axis_label(yl, units))
    ax.set_title(f"{signal_grid.grid}: {len(table)} signal hypotheses", fontsize="medium")
    ax.legend(fontsize="small")
    return fig


def run_plot_inference(
    job,
    limits_path: str,
    impacts_path: str,
    groups_path: str,
    top: int,
    style: dict,
    outputs: dict,
) -> None:
    """Rule `plot_inference`: the CLs/Brazil figure, the impact ranking and the grouped impacts of one model.

    Args:
        job: the `runtime.Job`.
        limits_path: the model's limits.json.
        impacts_path: its impacts.csv.
        groups_path: its impact_groups.csv.
        top: parameters in the ranking.
        style: the `figures` config.
        outputs: figure paths `cls`, `ranking` and `groups`.
    """
    with logged(job):
        save(plot_cls(Limits.read(limits_path), style), outputs["cls"], style)
        save(plot_ranking(Impacts.read(impacts_path), top, style), outputs["ranking"], style)
        save(plot_groups(ImpactGroups.read(groups_path), style), outputs["groups"], style)


def run_plot_signal_grid(job, grid_path: str, contours_path: str, style: dict, units: dict, output: str) -> None:
    """Rule `plot_signal_grid`: limits across one signal grid and its exclusion contours.

    Args:
        job: the `runtime.Job`.
        grid_path: the signal grid's limits.csv.
        contours_path: its contours.csv.
        style: the `figures` config.
        units: label -> unit (the config's `units`).
        output: the figure path.
    """
    with logged(job):
        grid, contours = SignalGrid.read(grid_path), SignalContours.read(contours_path)
        save(plot_signal_grid(grid, contours, style, units), output, style)


def plot_sensitivity(budget: Sensitivity, top: int, style: dict):
    """The systematics budget: d ln(limit) / d ln(scale) of the systematics that move the expected limit most.

    Args:
        budget: the model's sensitivity artifact.
        top: systematics shown.
        style: the `figures` config.

    Returns:
        The figure.
    """
    rows = [r for r in budget.modifiers if r["dln_expected_limit"] is not None]
    rows = sorted(rows, key=lambda r: -abs(r["dln_expected_limit"]))[:top][::-1]
    fig, axes = new_figure({**style, "height": max(style["height"], 0.3 * len(rows) + 1.2)})
    ax = axes[0, 0]
    y = np.arange(len(rows))
    ax.barh(y + 0.2, [r["dln_expected_limit"] for r in rows], 0.4, color="tab:blue", label="expected limit")
    observed = [r["dln_observed_limit"] for r in rows]
    ax.barh(y - 0.2, [np.nan if v is None else v for v in observed], 0.4, color="tab:orange", label="observed limit")
    ax.axvline(0.0, color="grey", lw=0.8)
    ax.set_yticks(y, [f"{r['modifier']} ({r['kinds']})" for r in rows], fontsize="small")
    ax.set_xlabel("d ln(upper limit) / d ln(scale of the systematic)")
    ax.set_title(f"{budget.model}: systematics budget ({len(budget.modifiers)} systematics)", fontsize="medium")
    if rows:
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "no gradient: " + "; ".join(budget.failures.values()), ha="center", transform=ax.transAxes)
    return fig


def run_plot_sensitivity(job, sensitivity_path: str, top: int, style: dict, output: str) -> None:
    """Rule `plot_sensitivity`: the systematics budget figure of one model.

    Args:
        job: the `runtime.Job`.
        sensitivity_path: the model's sensitivity.json.
        top: systematics shown (`inference.ranking_top`).
        style: the `figures` config.
        output: the figure path.
    """
    with logged(job):
        save(plot_sensitivity(Sensitivity.read(sensitivity_path), top, style), output, style)
