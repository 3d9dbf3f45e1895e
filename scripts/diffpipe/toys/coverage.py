"""Coverage of the POI's intervals and pulls of every parameter, from merged toy shards.

Hessian interval: μ̂ ± σ̂ (σ̂ from the inverse Hessian of each toy) covers the truth when
|μ̂ - μ_true| ≤ σ̂. Profile-likelihood interval {μ: 2 Δ(-ln L)(μ) < 1} covers it when
2 (nll(μ_true) - nll(μ̂)) < 1, one fit with μ held at the truth per toy, no interval scan.
Both against the nominal 68.27 %, with binomial errors. Pull (θ̂ - θ_true) / σ̂ per parameter:
mean and width with their statistical errors.
"""

import numpy as np
from scipy.stats import norm

NOMINAL = float(norm.cdf(1) - norm.cdf(-1))


def binomial(passed: np.ndarray) -> dict:
    """Fraction with its binomial error.

    Args:
        passed: booleans.

    Returns:
        {"value", "error", "n"}.
    """
    n = int(passed.size)
    p = float(passed.mean()) if n else float("nan")
    return {"value": p, "error": float(np.sqrt(p * (1 - p) / n)) if n else float("nan"), "n": n}


def verdict(result: dict, nominal: float = NOMINAL) -> str:
    """Under-, over- or correct coverage at 2 binomial standard deviations.

    Args:
        result: a `binomial` result.
        nominal: the nominal coverage.

    Returns:
        "under-covers", "over-covers" or "covers".
    """
    deviation = result["value"] - nominal
    if abs(deviation) <= 2 * result["error"]:
        return "covers"
    return "under-covers" if deviation < 0 else "over-covers"


def coverage(shards: list[dict]) -> dict:
    """Coverage and pulls from the shards' arrays (ordered by toy index).

    Args:
        shards: per shard: index, bestfit, twice_nll, sigma, twice_nll_true, converged, outside,
            truth, parameters, poi, refitted.

    Returns:
        n_toys, n_converged, refitted, n_outside, hessian and profile coverage (value, error, n, verdict),
        pulls (per parameter: mean, mean_error, width, width_error), pull_histogram of the POI.
    """
    order = np.argsort(np.concatenate([s["index"] for s in shards]))
    cat = {
        k: np.concatenate([np.asarray(s[k]) for s in shards])[order]
        for k in ("bestfit", "twice_nll", "sigma", "twice_nll_true", "converged", "outside")
    }
    truth = np.asarray(shards[0]["truth"])
    names = shards[0]["parameters"]
    poi = names.index(shards[0]["poi"])
    ok = cat["converged"]
    mu, sig = cat["bestfit"][ok, poi], cat["sigma"][ok, poi]
    valid = np.isfinite(sig)
    hessian = binomial(np.abs(mu[valid] - truth[poi]) <= sig[valid])
    profile = binomial((cat["twice_nll_true"][ok] - cat["twice_nll"][ok]) < 1.0)
    pulls = []
    for i, name in enumerate(names):
        err = cat["sigma"][ok, i]
        keep = np.isfinite(err) & (err > 0)
        if not keep.any():
            continue
        p = (cat["bestfit"][ok, i][keep] - truth[i]) / err[keep]
        n = p.size
        width = float(np.std(p, ddof=1)) if n > 1 else float("nan")
        pulls.append(
            {
                "parameter": name,
                "mean": float(p.mean()),
                "mean_error": width / np.sqrt(n),
                "width": width,
                "width_error": width / np.sqrt(2 * (n - 1)) if n > 1 else float("nan"),
                "n": int(n),
            }
        )
    poi_pull = (mu[valid] - truth[poi]) / sig[valid]
    counts, edges = np.histogram(poi_pull, bins=60, range=(-4, 4))
    return {
        "n_toys": int(order.size),
        "n_converged": int(ok.sum()),
        "refitted": int(sum(s["refitted"] for s in shards)),
        "n_outside": int(cat["outside"].sum()),
        "nominal": NOMINAL,
        "hessian": {**hessian, "verdict": verdict(hessian)},
        "profile": {**profile, "verdict": verdict(profile)},
        "pulls": pulls,
        "pull_histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        "poi": names[poi],
        "truth": truth.tolist(),
        "parameters": names,
    }
