"""Checking a trained design with hard cuts and hard bins, against the start and a grid scan.

The trained parameters, the start and the best point of a grid scan of the cut (the start's
bins) are each rebuilt as an ordinary pyhf workspace (`design_model.workspace` of the hard
histograms) and given pyhf's own expected median upper limit (`pyhf.infer.intervals.
upper_limits.upper_limit`, numpy backend: independent of the compiled kernel). The Monte Carlo
error of "trained against grid-best" is the spread of their difference over bootstrap replicas
of the events (Poisson(1) weights per event), from the compiled limits.
"""

import math

import numpy as np

from diffpipe.design.events import SAMPLES
from diffpipe.design.objective import DesignError, Objective
from diffpipe.design.soft import hard_histograms, start_parameters


def pyhf_expected_limit(hists: dict, mu_max: float, cl: float, guess: float) -> float:
    """Pyhf's expected median CLs upper limit of a hard analysis on its background-only Asimov data.

    A scan of 11 points within ±10% of `guess` (pyhf interpolates CLs linearly between them);
    when the limit is not inside it, pyhf's own root finding over the POI's whole range.

    Args:
        hists: the hard histograms.
        mu_max: the POI's upper bound.
        cl: confidence level.
        guess: where the limit is expected (the compiled kernel's).

    Returns:
        The limit.
    """
    import pyhf

    from diffpipe.design.design_model import workspace

    pyhf.set_backend("numpy")
    model = pyhf.Workspace(workspace(hists, mu_max)).model()
    pars = np.asarray(model.config.suggested_init(), float)
    pars[model.config.poi_index] = 0.0
    data = model.expected_data(pars)
    level = 1.0 - cl
    scan = np.linspace(0.9 * guess, min(1.1 * guess, mu_max), 11)
    _, expected, (_, results) = pyhf.infer.intervals.upper_limits.upper_limit(
        data, model, scan=scan, level=level, return_results=True
    )
    median = [float(r[1][2]) for r in results]
    if median[0] > level > median[-1]:
        return float(expected[2])
    _, expected = pyhf.infer.intervals.upper_limits.upper_limit(data, model, scan=None, level=level)
    return float(expected[2])


def _bootstrap(events, seed: int, replicas: int):
    rng = np.random.default_rng(seed)
    for _ in range(replicas):
        yield events.reweighted({s: rng.poisson(1.0, len(events.w[s])).astype(float) for s in SAMPLES})


def validate(objective: Objective, start: dict, trained: dict, grid: dict, bootstrap: dict, cl: float) -> dict:
    """The hard analyses of the start, the trained design and the grid scan's best, with pyhf's limits.

    Args:
        objective: the design's `Objective` (its compiled fits give the grid's limits).
        start: the start parameters.
        trained: the trained parameters.
        grid: {"cut": [low, high], "points": n} of the grid scan (the start's bins).
        bootstrap: {"replicas", "seed"} of the Monte Carlo error.
        cl: confidence level.

    Returns:
        {"start", "trained", "grid_best": {cut, expected_limit (the compiled kernel's),
        pyhf_expected_limit}, "grid": per cut its compiled expected_limit (null, with the
        failure, where none), "mc_error": the bootstrap spread of trained - grid-best,
        "beats_start", "within_grid" (pyhf's limits: trained < start, and trained <= grid-best +
        mc_error)}.
    """
    events, binning, mu_max = objective.events, objective.binning, objective.mu_max
    analyses = {"start": start, "trained": trained}
    scan = []
    for cut in np.linspace(grid["cut"][0], grid["cut"][1], grid["points"]):
        params = start_parameters(binning, float(cut))
        try:
            limit = objective.expected_limit(hard_histograms(params, events, binning))
            scan.append({"cut": float(cut), "expected_limit": limit, "failure": None})
        except DesignError as err:
            scan.append({"cut": float(cut), "expected_limit": None, "failure": str(err)})
    found = [row for row in scan if row["expected_limit"] is not None]
    if not found:
        raise DesignError("no point of the grid scan has an expected limit")
    best = min(found, key=lambda row: row["expected_limit"])
    analyses["grid_best"] = start_parameters(binning, best["cut"])
    out = {"grid": scan}
    for name, params in analyses.items():
        hists = hard_histograms(params, events, binning)
        compiled = objective.expected_limit(hists)
        out[name] = {
            "cut": float(params["cut"]),
            "expected_limit": compiled,
            "pyhf_expected_limit": pyhf_expected_limit(hists, mu_max, cl, compiled),
        }
    differences = []
    for replica in _bootstrap(events, bootstrap["seed"], bootstrap["replicas"]):
        limits = [
            objective.expected_limit(hard_histograms(analyses[k], replica, binning)) for k in ("trained", "grid_best")
        ]
        differences.append(limits[0] - limits[1])
    out["mc_error"] = float(np.std(differences, ddof=1)) if len(differences) > 1 else math.nan
    trained_limit = out["trained"]["pyhf_expected_limit"]
    out["beats_start"] = bool(trained_limit < out["start"]["pyhf_expected_limit"])
    out["within_grid"] = bool(trained_limit <= out["grid_best"]["pyhf_expected_limit"] + out["mc_error"])
    return out
