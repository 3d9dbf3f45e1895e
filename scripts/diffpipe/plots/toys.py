"""Pseudo-experiment figures: coverage and pulls, toy-based CLs and the toy-based limit."""

import numpy as np

from diffpipe.artifacts import Coverage, Limits, ToyHypotest, ToyLimit
from diffpipe.figstyle import new_figure, save
from diffpipe.runtime import logged


def normal_pdf(x: np.ndarray) -> np.ndarray:
    """The unit normal density (scipy.stats would cost this plot job ~1 s of import).

    Args:
        x: points.

    Returns:
        exp(-x^2 / 2) / sqrt(2 pi) at each point.
    """
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


def plot_coverage(cov: Coverage, style: dict):
    """Left: the POI's pull histogram against N(0, 1) with the coverage numbers; right: pulls.

    Args:
        cov: the coverage artifact.
        style: the `figures` config.

    Returns:
        The figure.
    """
    fig, axes = new_figure(style, ncols=2)
    ax, right = axes[0, 0], axes[0, 1]
    edges = np.asarray(cov.pull_histogram["edges"])
    counts = np.asarray(cov.pull_histogram["counts"])
    ax.stairs(counts, edges, fill=True, alpha=0.6, label=f"{cov.n_converged} toys")
    x = np.linspace(edges[0], edges[-1], 200)
    ax.plot(x, counts.sum() * np.diff(edges)[0] * normal_pdf(x), "k--", label="N(0, 1)")
    h, p = cov.hessian, cov.profile
    ax.set_title(
        f"{cov.model}: coverage of 68.3%: Hessian {100 * h['value']:.1f}±{100 * h['error']:.1f}% ({h['verdict']}), "
        f"profile {100 * p['value']:.1f}±{100 * p['error']:.1f}% ({p['verdict']})",
        fontsize="small",
    )
    ax.set_xlabel(f"pull of {cov.poi}: (μ̂ - μ_true) / σ̂_Hessian")
    ax.set_ylabel("toys")
    ax.legend(fontsize="small")
    pulls = cov.pulls[:30]
    y = np.arange(len(pulls))[::-1]
    right.errorbar([q["mean"] for q in pulls], y, xerr=[q["mean_error"] for q in pulls], fmt="ko", ms=3, label="mean")
    right.errorbar(
        [q["width"] for q in pulls], y, xerr=[q["width_error"] for q in pulls], fmt="C3s", ms=3, label="width"
    )
    for v in (0, 1):
        right.axvline(v, color="grey", lw=0.8, ls=":")
    right.set_yticks(y, [q["parameter"] for q in pulls], fontsize="small")
    right.set_xlabel("pull mean and width (ideal: 0 and 1)")
    right.legend(fontsize="small")
    return fig


def run_plot_toy_coverage(job, coverage_path: str, style: dict, output: str) -> None:
    """Rule `plot_toy_coverage`: the coverage figure of one model.

    Args:
        job: the `runtime.Job`.
        coverage_path: the model's coverage.json.
        style: the `figures` config.
        output: the figure path.
    """
    with logged(job):
        save(plot_coverage(Coverage.read(coverage_path), style), output, style)


def toy_band_and_asymptotic(ax, mu: np.ndarray, expected: list, limits: Limits, cl: float) -> None:
    """The toys' expected CLs bands beside the asymptotic curves, on one axis.

    The ±1σ and ±2σ bands from toys, the asymptotic observed and expected CLs, the 1 - CL line.

    Args:
        ax: the axis.
        mu: the tested POI values.
        expected: the toys' expected CLs (5 curves, +2 ... -2 σ).
        limits: the model's asymptotic limits (their CLs curves).
        cl: confidence level.
    """
    exp = np.asarray(expected, float)
    ax.fill_between(mu, exp[0], exp[4], color="#ffdd44", alpha=0.7, label="toys: expected ±2σ")
    ax.fill_between(mu, exp[1], exp[3], color="#44bb44", alpha=0.7, label="toys: expected ±1σ")
    curves = limits.curves
    ax.plot(curves["mu"], curves["observed"], "C0-", label="asymptotic: observed")
    ax.plot(curves["mu"], curves["expected"][2], "C0--", label="asymptotic: expected")
    ax.axhline(1 - cl, color="C3", lw=1)


def plot_toy_hypotest(toy: ToyHypotest, limits: Limits, style: dict):
    """Toy-based CLs beside the asymptotic curves, and the q̃μ distributions.

    Left: observed and expected band from toys, with the asymptotic curves; right: q̃μ under s+b
    and b-only at the tested μ closest to the observed limit.

    Args:
        toy: the toy-based CLs artifact.
        limits: the model's asymptotic limits (same POI).
        style: the `figures` config.

    Returns:
        The figure.
    """
    fig, axes = new_figure(style, ncols=2)
    ax, right = axes[0, 0], axes[0, 1]
    mu = np.asarray(toy.mu)
    toy_band_and_asymptotic(ax, mu, toy.expected, limits, toy.cl)
    ax.plot(mu, toy.cls, "ko-", label="toys: observed")
    obs = "none" if toy.observed_limit is None else f"{toy.observed_limit:.3g}"
    asym = "none" if limits.observed is None else f"{limits.observed:.3g}"
    ax.set_title(f"{toy.model}: limit {obs} (toys, {toy.ntoys}/point) vs {asym} (asymptotic)", fontsize="small")
    ax.set_xlabel(toy.poi)
    ax.set_ylabel("CLs")
    ax.legend(fontsize="x-small")
    target = toy.observed_limit if toy.observed_limit is not None else float(np.median(mu))
    k = int(np.argmin(np.abs(mu - target)))
    bins = np.linspace(0, max(10.0, float(np.percentile(toy.samples[k]["sb"], 99.5))), 50)
    right.hist(toy.samples[k]["sb"], bins=bins, histtype="step", density=True, label=f"s+b ({toy.poi} = {mu[k]:g})")
    right.hist(toy.samples[k]["b"], bins=bins, histtype="step", density=True, label="b-only")
    right.axvline(toy.qmu_observed[k], color="k", label="observed")
    right.set_yscale("log")
    right.set_xlabel("q̃μ")
    right.legend(fontsize="small")
    return fig


def run_plot_toy_hypotest(job, cls_path: str, limits_path: str, style: dict, output: str) -> None:
    """Rule `plot_toy_hypotest`: the toy-based CLs figure of one model.

    Args:
        job: the `runtime.Job`.
        cls_path: the model's toys/{model}/cls.json.
        limits_path: its inference/{model}/limits.json.
        style: the `figures` config.
        output: the figure path.
    """
    with logged(job):
        save(plot_toy_hypotest(ToyHypotest.read(cls_path), Limits.read(limits_path), style), output, style)


def plot_toy_limit(toy: ToyLimit, limits: Limits, style: dict):
    """Toy-based CLs with their Monte Carlo errors, the limits read off them, and the asymptotic curves.

    Left: CLs against the POI (observed with error bars, the expected band from toys, the
    asymptotic observed and expected curves), the limits as bands of ±1 MC error; right: toys per
    point (both hypotheses each) after the rounds.

    Args:
        toy: the toy-based limit artifact.
        limits: the model's asymptotic limits (same POI).
        style: the `figures` config.

    Returns:
        The figure.
    """
    fig, axes = new_figure(style, ncols=2)
    ax, right = axes[0, 0], axes[0, 1]
    mu = np.asarray(toy.mu, float)
    toy_band_and_asymptotic(ax, mu, toy.expected, limits, toy.cl)
    ax.errorbar(mu, toy.cls, yerr=toy.cls_error, fmt="ko", ms=3, capsize=2, label="toys: observed (MC error)")
    for value, error, color in (
        (toy.observed_limit, toy.observed_error, "k"),
        (toy.expected_limits[2], toy.expected_errors[2], "C2"),
    ):
        if value is not None:
            ax.axvspan(value - error, value + error, color=color, alpha=0.25)
    obs = "none" if toy.observed_limit is None else f"{toy.observed_limit:.3g} ± {toy.observed_error:.2g}"
    asym = "none" if limits.observed is None else f"{limits.observed:.3g}"
    ax.set_title(f"{toy.model}: limit {obs} (toys) vs {asym} (asymptotic)", fontsize="small")
    ax.set_xlabel(toy.poi)
    ax.set_ylabel("CLs")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize="x-small")
    right.bar(np.arange(len(mu)), toy.n, color="C0")
    right.set_xticks(np.arange(len(mu)), [f"{m:.3g}" for m in mu], fontsize="x-small", rotation=45)
    right.set_xlabel(f"{toy.poi} point")
    right.set_ylabel("toys per hypothesis")
    right.set_title(f"{toy.rounds} round(s), target σ(CLs) ≤ {toy.settings['cls_accuracy']:g}", fontsize="small")
    return fig


def run_plot_toy_limit(job, limit_path: str, limits_path: str, style: dict, output: str) -> None:
    """Rule `plot_toy_limit`: the toy-based limit figure of one model.

    Args:
        job: the `runtime.Job`.
        limit_path: the model's toys/{model}/limit.json.
        limits_path: its inference/{model}/limits.json.
        style: the `figures` config.
        output: the figure path.
    """
    with logged(job):
        save(plot_toy_limit(ToyLimit.read(limit_path), Limits.read(limits_path), style), output, style)
