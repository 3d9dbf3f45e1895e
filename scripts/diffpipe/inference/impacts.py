"""Nuisance-parameter impacts on the POI (ranking), by refits and linearised from the covariance.

For every floating parameter θ other than the POI: refits with θ held at θ̂ ± σ̂ (post-fit) and at
θ̂ ± its prior width (pre-fit; 0 for unconstrained parameters, as cabinetry), each warm-started
from the nominal best fit on the same compiled likelihood. Impact = μ̂(θ held) - μ̂. Beside them,
the linear (Gaussian) prediction from the covariance C: holding θ at θ̂ + δ moves μ̂ by
C[μ, θ] / C[θ, θ] · δ.
"""

import numpy as np

from diffpipe.inference.analysis import Analysis

COLUMNS = ("prefit_up", "prefit_down", "postfit_up", "postfit_down")


def impacts(analysis: Analysis) -> list[dict]:
    """Impacts of every floating nuisance parameter on the POI.

    Args:
        analysis: the prepared model (must have a POI).

    Returns:
        One dict per parameter: parameter, bestfit, uncertainty, prior_width, the four refit
        impacts (COLUMNS), linear_postfit, linear_prefit, and `refit_converged`.
    """
    poi = analysis.poi
    best = analysis.best_fit().x[0]
    cov = analysis.covariance()
    sigma = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    prior = analysis.prior_widths()
    params = [i for i in range(len(best)) if i != poi and not analysis.fixed[i]]
    held, values = [], []
    for i in params:
        for shift in (prior[i], -prior[i], sigma[i], -sigma[i]):
            if shift != 0.0:
                held.append(i)
                values.append(best[i] + shift)
    rows = {}
    if held:
        n = len(held)
        mask = np.zeros((n, len(best)), bool)
        mask[np.arange(n), held] = True
        vals = np.zeros((n, len(best)))
        vals[np.arange(n), held] = values
        batch = analysis.fit(held=(mask, vals), start=best)
        for k, (i, value) in enumerate(zip(held, values, strict=True)):
            rows[(i, value)] = (batch.x[k][poi] - best[poi], bool(batch.converged[k]))
    out = []
    for i in params:
        shifts = (prior[i], -prior[i], sigma[i], -sigma[i])
        results = [rows.get((i, best[i] + s), (0.0, True)) if s != 0.0 else (0.0, True) for s in shifts]
        slope = cov[poi, i] / cov[i, i] if cov[i, i] > 0 else 0.0
        out.append(
            {
                "parameter": analysis.names[i],
                "bestfit": float(best[i]),
                "uncertainty": float(sigma[i]),
                "prior_width": float(prior[i]),
                **{name: float(r[0]) for name, r in zip(COLUMNS, results, strict=True)},
                "linear_postfit": float(slope * sigma[i]),
                "linear_prefit": float(slope * prior[i]),
                "refit_converged": all(r[1] for r in results),
            }
        )
    return out


def ranked(rows: list[dict], top: int | None = None) -> list[dict]:
    """Rows ordered by their largest post-fit impact, largest first.

    Args:
        rows: `impacts` output.
        top: keep this many (None: all).

    Returns:
        The ranked rows.
    """
    order = sorted(rows, key=lambda r: -max(abs(r["postfit_up"]), abs(r["postfit_down"])))
    return order[:top] if top else order
