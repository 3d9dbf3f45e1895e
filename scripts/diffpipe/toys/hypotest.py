"""Toy-based CLs with q̃μ, as pyhf's ToyCalculator: test-statistic distributions from toys.

For each tested μ: toys under s+b are sampled at the fit to the data with the POI held at μ, toys
under b-only at the fit with the POI held at 0 (pyhf's choice). Each toy is fitted twice (POI
bounded below at 0: free, and held at μ) in one batched solve; q̃μ = 2 (nll(μ) - nll(μ̂)), 0 where
μ̂ > μ. CLs+b = P(q̃μ ≥ q̃μ,obs | s+b), CLb = P(q̃μ ≥ q̃μ,obs | b), CLs = CLs+b / CLb; the expected
band puts q̃μ,obs at the b-only distribution's quantiles Φ(n) for n = 2, 1, 0, -1, -2 (pyhf's
order). The toy-based limit is where CLs crosses 1 - CL between the tested μ, read off as the toy limit
reads it (`teststat.cls_crossing`: linear in ln CLs).
"""

import numpy as np
from scipy.stats import norm

from diffpipe.fitting import Fitter
from diffpipe.models import build_model
from diffpipe.sampling import make_sampler, sample_toys, toy_starts
from diffpipe.teststat import BAND, cls_crossing


def pvalue(samples: np.ndarray, value: float) -> float:
    """Fraction of samples at or above `value` (pyhf's EmpiricalDistribution.pvalue).

    Args:
        samples: test-statistic samples.
        value: the observed test statistic.

    Returns:
        The p-value.
    """
    return float(np.mean(samples >= value))


def toy_cls(
    name: str,
    entry: dict,
    mus: list[float],
    ntoys: int,
    seed: int,
    cl: float = 0.95,
    test_statistic: str = "qtilde",
    start: str = "suggested",
) -> dict:
    """Toy-based CLs on a POI grid and the toy-based upper limits.

    Args:
        name: the model's name (part of the toys' keys).
        entry: its config entry.
        mus: POI values tested.
        ntoys: toys per hypothesis and μ.
        seed: root seed.
        cl: confidence level.
        test_statistic: "qtilde" (the POI's fits bounded below by 0) or "q" (its own bounds).
        start: where the toys' free fits start (`sampling.toy_starts`).

    Returns:
        mu, qmu_observed, cls, clsb, clb (observed), expected (5 curves, BAND order),
        observed_limit, expected_limits, ntoys, samples (s+b and b q̃μ per μ, for plots/tests).
    """
    model, data = build_model(entry)
    fitter = Fitter.of(model, entry, test_statistic)
    poi, init, bounds = fitter.poi, fitter.init, fitter.bounds
    data = np.asarray(data, float)[None, :]
    sampler = make_sampler(model)
    out = {
        "mu": [],
        "qmu_observed": [],
        "cls": [],
        "clsb": [],
        "clb": [],
        "expected": [[] for _ in BAND],
        "samples": [],
        "outside": 0,
    }
    # The observed data's fits run as a batch of ntoys copies: the toys' compiled program serves
    # them too (a one-row batch would compile its own, ~5 s for nothing on a small model).
    copies = np.repeat(data, ntoys, axis=0)
    for k, mu in enumerate(mus):
        q_obs = float(fitter.qmu(copies, mu)[0][0])
        samples = {}
        for h, (label, at) in enumerate((("sb", mu), ("b", 0.0))):
            gen = fitter.fit(copies, hold={poi: at}, batched=True)
            indices = np.arange(ntoys) + (2 * k + h) * ntoys
            toys = sample_toys(sampler, seed, name, indices, gen.x[0])
            x0 = toy_starts(model, start, init, toys, fitter.fixed, bounds)
            q = fitter.qmu(toys, mu, start=x0)[0]
            samples[label] = q[np.isfinite(q)]  # toys whose fit left the domain: counted, left out
            out["outside"] += int(np.sum(~np.isfinite(q)))
        clsb, clb = pvalue(samples["sb"], q_obs), pvalue(samples["b"], q_obs)
        out["mu"].append(float(mu))
        out["qmu_observed"].append(q_obs)
        out["clsb"].append(clsb)
        out["clb"].append(clb)
        out["cls"].append(clsb / clb if clb > 0 else float("nan"))
        for i, n in enumerate(BAND):
            q_n = float(np.percentile(samples["b"], 100 * norm.cdf(n), method="linear"))
            b_p = pvalue(samples["b"], q_n)
            out["expected"][i].append(pvalue(samples["sb"], q_n) / b_p if b_p > 0 else float("nan"))
        out["samples"].append({"sb": samples["sb"].tolist(), "b": samples["b"].tolist()})
    level = 1.0 - cl
    out["observed_limit"] = _limit(out["mu"], out["cls"], level)
    out["expected_limits"] = [_limit(out["mu"], curve, level) for curve in out["expected"]]
    out["ntoys"] = ntoys
    return out


def _limit(mus: list[float], cls: list[float], level: float) -> float | None:
    """The first μ where CLs falls to `level` (`teststat.cls_crossing`), None without a crossing."""
    found = cls_crossing(mus, cls, level)
    return None if isinstance(found, str) else found[0]
