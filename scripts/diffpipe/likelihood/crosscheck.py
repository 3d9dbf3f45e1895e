"""The likelihood stage's cross-checks: each parameter's Hessian error against HESSE, MINOS and the profile.

A disagreement above the tolerance is flagged with its most likely cause; causes that are
properties of the likelihood (a bound, a non-parabolic shape) are grouped into one line per model.
"""

import numpy as np

NEAR_BOUND = "parameter at or near a bound: bounded errors differ from the unbounded Hessian"
NON_PARABOLIC = "non-parabolic likelihood: MINOS/profile follow the likelihood's shape, the Hessian only its curvature at the minimum"
HESSE_DIFFERS = "HESSE's numerical second derivatives differ from the exact ones (check convergence)"
# causes that are properties of the likelihood (grouped into one line per model) rather than
# signs of a problem a reader should look at parameter by parameter.
PROPERTIES = (NEAR_BOUND, NON_PARABOLIC)


def _flag_reason(value, sigma, bounds, minos, worst) -> str:
    """Most likely cause of a >tolerance disagreement with the Hessian sigma."""
    lo, hi = bounds
    lower, upper = minos
    cut = lower is None or upper is None or value + lower <= lo + 1e-6 * sigma or value + upper >= hi - 1e-6 * sigma
    if cut or (worst == "hesse" and min(value - lo, hi - value) < 2.0 * sigma):
        return NEAR_BOUND
    if worst != "hesse":
        return NON_PARABOLIC
    return HESSE_DIFFERS


def flag_groups(crosscheck: list[dict]) -> list[dict]:
    """The flagged cross-checks grouped by cause, as the report lists them.

    Args:
        crosscheck: the rows of `crosscheck_table`.

    Returns:
        One group per cause, in the order causes first appear: reason, attention (False for a
        property of the likelihood, listed as one line; True for what a reader should check
        parameter by parameter), parameters, estimates (the cross-checks that differ most),
        rel_diff ([least, largest] relative difference) and n_parameters (of the model).
    """
    groups: dict[str, dict] = {}
    for row in crosscheck:
        if not row["flagged"]:
            continue
        group = groups.setdefault(
            row["reason"],
            {"reason": row["reason"], "attention": row["reason"] not in PROPERTIES, "parameters": [], "estimates": []},
        )
        group["parameters"].append(row["parameter"])
        if row["worst"] not in group["estimates"]:
            group["estimates"].append(row["worst"])
        low, high = group.get("rel_diff", [row["max_rel_diff"]] * 2)
        group["rel_diff"] = [min(low, row["max_rel_diff"]), max(high, row["max_rel_diff"])]
    for group in groups.values():
        group["n_parameters"] = len(crosscheck)
    return list(groups.values())


def crosscheck_table(lik, x_hat, cov, m, poi_index, profile_iv, rtol) -> list[dict]:
    """Per parameter: autodiff sigma against HESSE, MINOS and (POI) the profile interval.

    Args:
        lik: the likelihood.
        x_hat: the MLE.
        cov: the autodiff covariance.
        m: the Minuit object after HESSE and MINOS.
        poi_index: the POI's free-parameter index (None: no POI).
        profile_iv: the POI's profile interval (absolute ends) or None.
        rtol: relative disagreement that gets flagged.

    Returns:
        One row per parameter (see `artifacts.FitResult.crosscheck`).
    """
    sigma = np.sqrt(np.diag(cov))
    hesse = np.sqrt(np.diag(np.asarray(m.covariance)))
    rows = []
    for i, name in enumerate(lik.names):
        merr = m.merrors[name] if name in m.merrors else None
        minos = (float(merr.lower), float(merr.upper)) if merr is not None and merr.is_valid else (None, None)
        row = {
            "parameter": name,
            "bestfit": float(x_hat[i]),
            "sigma_autodiff": float(sigma[i]),
            "sigma_hesse": float(hesse[i]),
            "minos_lower": minos[0],
            "minos_upper": minos[1],
            "profile_lower": None,
            "profile_upper": None,
        }
        checks = {"hesse": float(hesse[i])}
        if minos[0] is not None:
            checks["minos_lower"], checks["minos_upper"] = -minos[0], minos[1]
        if i == poi_index and profile_iv is not None:
            lower, upper = profile_iv
            if lower is not None:
                row["profile_lower"] = float(lower - x_hat[i])
                checks["profile_lower"] = float(x_hat[i] - lower)
            if upper is not None:
                row["profile_upper"] = float(upper - x_hat[i])
                checks["profile_upper"] = float(upper - x_hat[i])
        rel = {k: abs(v - sigma[i]) / sigma[i] for k, v in checks.items()}
        row["max_rel_diff"] = float(max(rel.values()))
        row["worst"] = max(rel, key=rel.get)
        row["flagged"] = bool(row["max_rel_diff"] > rtol)
        row["reason"] = _flag_reason(x_hat[i], sigma[i], lik.bounds[i], minos, row["worst"]) if row["flagged"] else ""
        rows.append(row)
    return rows


def poi_interval(crosscheck: list[dict], poi: str | None) -> dict | None:
    """The POI's 68% interval as the fit reports it.

    MINOS where both ends are valid, else the profile-likelihood interval, else the symmetric
    autodiff-Hessian error.

    Args:
        crosscheck: the rows of `crosscheck_table`.
        poi: the POI's name (None: no POI).

    Returns:
        parameter, value, lower and upper (offsets from the best fit) and method; None when the
        model has no free POI.
    """
    row = next((r for r in crosscheck if r["parameter"] == poi), None)
    if row is None:
        return None
    candidates = (
        ("MINOS", row["minos_lower"], row["minos_upper"]),
        ("profile likelihood", row["profile_lower"], row["profile_upper"]),
        ("Hessian (autodiff)", -row["sigma_autodiff"], row["sigma_autodiff"]),
    )
    method, lower, upper = next(c for c in candidates if c[1] is not None and c[2] is not None)
    return {"parameter": poi, "value": row["bestfit"], "lower": lower, "upper": upper, "method": method}
