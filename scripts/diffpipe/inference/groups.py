"""Grouped impacts on the POI: how much of its uncertainty each group of nuisance parameters carries.

For a group G (a set of nuisance parameters) the POI's uncertainty with G held at its best fit,
σ(G held), is computed two ways, as the per-parameter impacts are:

- by refits: the profile-likelihood interval of μ with G held at θ̂_G, where
  2 (nll(μ; G held) - nll(μ̂)) = 1 on each side (CMS Combine's `--freezeNuisanceGroups` with
  `--algo singles`), each crossing found by fits of the POI held at μ, all groups in one batch;
- from the covariance C of the free fit: σ²(G held) = C_μμ - C_μG C_GG⁻¹ C_Gμ (the conditional
  variance of the Gaussian approximation).

The group's impact is the quadrature difference √(σ_total² - σ²(G held)); the statistical part is
σ with every nuisance parameter held (normalisation factors too: only the POI floats). On a
Gaussian likelihood both ways agree exactly; they differ where the profile is not parabolic over
±1σ (Poisson terms with few events; on the 3L eRJR patch the σ(G held) agree within 2%, and the
impacts, differences of nearly equal numbers, within 25%). Groups may overlap (a parameter with both a normsys
and a histosys modifier is in both kind groups of a configured list), so the impacts need not add
up to the total in quadrature; nor do they when the groups are correlated with each other.

Groups: `inference.impact_groups` ({group: [a parameter or a vector parameter's name, or
`kind:<modifier type>`]}); absent, one automatic group per combination of modifier types a
parameter carries (`normsys`, `histosys+normsys`, `staterror`, ...).
"""

import math
from collections.abc import Mapping

import numpy as np

from diffpipe.inference.analysis import Analysis
from diffpipe.models import parameter_kinds

TOTAL, STAT = "total", "stat"
MAX_STEPS = 30
Q_TOL = 1e-9  # |2 Δnll - 1| at a crossing
SPAN = 5.0  # the refits' POI may go this many (covariance) σ below μ̂, whatever its lower bound


def resolve_groups(model, groups: Mapping | None) -> dict[str, list[str]]:
    """The parameters (pyhf names, vector elements expanded) of each group.

    Args:
        model: the pyhf model.
        groups: {group: [parameter names, or "kind:<type>"]}, or None for the automatic groups.
            A name the model lacks is left out (a config check refuses names no model has).

    Returns:
        group -> parameter names, in the model's order (never the POI: an automatic group of
        nothing else, such as `normfactor` with the POI alone, is left out).
    """
    config = model.config
    kinds = parameter_kinds(model)

    def members(set_name: str) -> list[str]:
        return [] if set_name == config.poi_name else list(config.par_names)[config.par_slice(set_name)]

    out: dict[str, list[str]] = {}
    if groups is None:
        for set_name in config.par_order:
            if members(set_name):
                out.setdefault("+".join(kinds.get(set_name, ["free"])), []).extend(members(set_name))
        return out
    names = list(config.par_names)
    for group, items in groups.items():
        chosen = set()
        for item in items:
            if item.startswith("kind:"):
                for set_name, types in kinds.items():
                    if item[5:] in types:
                        chosen.update(members(set_name))
            elif item in config.par_order:
                chosen.update(members(item))
            elif item in names and item != config.poi_name:
                chosen.add(item)
        out[group] = [n for n in names if n in chosen]
    return out


def grouped_impacts(analysis: Analysis, groups: dict[str, list[str]]) -> list[dict]:
    """σ(G held) by refits and from the covariance, and each group's impact.

    Args:
        analysis: the prepared model (must have a POI).
        groups: group -> parameter names (`resolve_groups`); held parameters are skipped.

    Returns:
        One row per group, first `total` (nothing held) and last `stat` (every nuisance
        parameter held): group, n_parameters, sigma_up, sigma_down (the refits' interval
        ends, offsets from μ̂; None where the crossing lies beyond the POI's bound), sigma
        (their mean, or the one found), sigma_covariance, impact, impact_covariance, converged.
    """
    poi = analysis.poi
    best = analysis.best_fit()
    x0, nll0 = best.x[0], float(best.nll[0])
    cov = analysis.covariance()
    free = analysis.free_mask()
    index = {name: i for i, name in enumerate(analysis.names)}
    nuisance = [i for i in np.flatnonzero(free) if i != poi]
    sets = {TOTAL: []}
    for group, names in groups.items():
        sets[group] = [index[n] for n in names if n in index and free[index[n]] and index[n] != poi]
    sets[STAT] = nuisance
    sigma_cov = {g: _conditional_sigma(cov, poi, held) for g, held in sets.items()}
    ends, converged = _profile_crossings(analysis, sets, sigma_cov, x0, nll0)
    total_sigma = _mean_width(ends[TOTAL])
    rows = []
    for group, held in sets.items():
        up, down = ends[group]
        sigma = _mean_width(ends[group])
        rows.append(
            {
                "group": group,
                "n_parameters": len(held),
                "sigma_up": up,
                "sigma_down": down,
                "sigma": sigma,
                "sigma_covariance": sigma_cov[group],
                "impact": _quadrature(total_sigma, sigma),
                "impact_covariance": _quadrature(sigma_cov[TOTAL], sigma_cov[group]),
                "converged": converged[group],
            }
        )
    return rows


def quadrature_sum(rows: list[dict], key: str) -> float | None:
    """√(stat² + Σ group impacts²) of one method ("impact" or "impact_covariance").

    Beside the total it shows how far the groups' correlations and overlaps keep the breakdown
    from adding up.

    Args:
        rows: `grouped_impacts` output.
        key: which impacts.

    Returns:
        The sum, or None where a part is missing.
    """
    by_group = {r["group"]: r for r in rows}
    stat = by_group[STAT]["sigma" if key == "impact" else "sigma_covariance"]
    parts = [r[key] for r in rows if r["group"] not in (TOTAL, STAT)]
    if stat is None or any(p is None for p in parts):
        return None
    return float(math.sqrt(stat**2 + sum(p**2 for p in parts)))


def _mean_width(ends: tuple) -> float | None:
    """The mean of an interval's half-widths found (None where neither end was)."""
    found = [abs(v) for v in ends if v is not None]
    return float(np.mean(found)) if found else None


def _conditional_sigma(cov: np.ndarray, poi: int, held: list[int]) -> float:
    """√(C_μμ - C_μG C_GG⁻¹ C_Gμ): the POI's Gaussian uncertainty with G held."""
    if not held:
        return float(math.sqrt(cov[poi, poi]))
    c_pg = cov[poi, held]
    reduced = cov[poi, poi] - c_pg @ np.linalg.solve(cov[np.ix_(held, held)], c_pg)
    return float(math.sqrt(max(reduced, 0.0)))


def _quadrature(total: float | None, held: float | None) -> float | None:
    if total is None or held is None:
        return None
    return float(math.sqrt(max(total**2 - held**2, 0.0)))


def _profile_crossings(analysis: Analysis, sets: dict, guess: dict, x0: np.ndarray, nll0: float):
    """Both ends of each set's profile interval of the POI, all sets' fits in one batch per step.

    Each end starts at μ̂ ± σ(covariance) and moves by the parabola through μ̂ and the last
    point (μ ← μ̂ + (μ - μ̂) / √q with q = 2 Δnll): exact in one step on a Gaussian likelihood,
    a few on a published one. The interval is the likelihood's own: the POI may go below its
    lower bound (to SPAN σ below μ̂; a signal strength bounded at 0 with μ̂ within 1σ of it would
    otherwise lose its lower end). An end where the fits fail (the likelihood undefined there: a
    bin's expected count negative) or beyond the POI's range with q < 1 is None.

    Returns:
        ({set: (up offset, down offset)}, {set: whether every fit converged}).
    """
    poi = analysis.poi
    bounds = analysis.bounds.copy()
    reach = x0[poi] - SPAN * max(guess.values())
    bounds[poi, 0] = min(bounds[poi, 0], reach)
    low, high = bounds[poi]
    keys = [(g, side) for g in sets for side in (1.0, -1.0)]
    mu = np.array([x0[poi] + side * max(guess[g], 1e-9) for g, side in keys])
    n = len(keys)
    fixed = np.tile(analysis.fixed, (n, 1))
    for k, (g, _) in enumerate(keys):
        fixed[k, sets[g]] = True
    fixed[:, poi] = True
    starts = np.tile(x0, (n, 1))
    done = np.zeros(n, bool)
    beyond = np.zeros(n, bool)
    ok = np.ones(n, bool)
    for _ in range(MAX_STEPS):
        mu = np.clip(mu, low, high)
        values = starts.copy()
        values[:, poi] = mu
        todo = np.flatnonzero(~done)
        batch = analysis.fit(held=(fixed[todo], values[todo]), start=values[todo], bounds=bounds)
        q = 2.0 * (batch.nll - nll0)
        ok[todo] &= batch.converged
        starts[todo] = batch.x
        at_bound = (mu[todo] <= low) | (mu[todo] >= high)
        beyond[todo] = at_bound & (q < 1.0)
        settled = (np.abs(q - 1.0) < Q_TOL) | beyond[todo] | ~batch.converged
        done[todo[settled]] = True
        step = todo[~settled]
        if len(step) == 0:
            break
        scale = np.sqrt(np.maximum(q[~settled], 1e-12))
        mu[step] = x0[poi] + (mu[step] - x0[poi]) / scale
    ends, converged = {}, {}
    for k, (g, side) in enumerate(keys):
        value = None if beyond[k] or not ok[k] else float(mu[k] - x0[poi])
        ends.setdefault(g, [None, None])[0 if side > 0 else 1] = value
        converged[g] = converged.get(g, True) and bool(ok[k] and done[k])
    return {g: tuple(v) for g, v in ends.items()}, converged
