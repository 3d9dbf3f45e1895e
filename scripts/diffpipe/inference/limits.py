"""Asymptotic CLs upper limits (q̃μ) and discovery significance (q0), as in pyhf's AsymptoticCalculator.

Test statistics (Cowan, Cranmer, Gross, Vitells, arXiv:1007.1727) from fits with the POI bounded
below at 0 (what q̃μ and q0 assume): q̃μ = 2 (nll(μ) - nll(μ̂)), 0 where μ̂ > μ; the background-only
Asimov dataset is the expected data of the fit with μ = 0 to the data. With t the pyhf test
statistic (√q̃μ - √q̃μ,A, or (q̃μ - q̃μ,A) / (2 √q̃μ,A) beyond the Asimov value):
CLs+b = Φ(-(t + √q̃μ,A)), CLb = Φ(-t), CLs = CLs+b / CLb; the expected band puts t at n σ
(n = 2, 1, 0, -1, -2). Limits are roots of CLs(μ) = 1 - CL found by Brent's method on a bracket
grown from the Asimov error of μ, never read off a grid.
"""

import math

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

from diffpipe.inference.analysis import Analysis

BAND = (2, 1, 0, -1, -2)  # expected-band positions (n sigma), pyhf's order
MU_FLOOR = 1e-9


def _cls(t: float, sqrt_qa: float) -> float:
    return float(norm.sf(t + sqrt_qa) / norm.sf(t))


def pyhf_teststat(qmu: float, qmu_a: float) -> float:
    """Pyhf's asymptotic q̃μ test statistic t from q̃μ and its Asimov value.

    Args:
        qmu: q̃μ on the data.
        qmu_a: q̃μ on the background-only Asimov data.

    Returns:
        t.
    """
    sq, sqa = math.sqrt(qmu), math.sqrt(qmu_a)
    if sq <= sqa:
        return sq - sqa
    return (qmu - qmu_a) / (2.0 * sqa)


class CLsScan:
    """CLs(μ) on the data and the expected band, one fixed-μ fit per dataset and μ (memoised).

    Args:
        analysis: the prepared model (must have a POI).
        poi_upper: upper end of the POI search range (default: the POI's upper bound).
    """

    def __init__(self, analysis: Analysis, poi_upper: float | None = None):
        if analysis.poi is None:
            raise ValueError("the model has no POI")
        self.a = analysis
        self.poi = analysis.poi
        self.bounds = analysis.bounds.copy()
        self.bounds[self.poi, 0] = 0.0  # q̃μ: μ̂ is bounded below by 0
        self.upper = float(self.bounds[self.poi, 1] if poi_upper is None else poi_upper)
        free = analysis.fit(bounds=self.bounds)
        bkg = analysis.fit(fix={self.poi: 0.0}, starts=free.x[0], bounds=self.bounds)
        self.asimov = analysis.expected_data(bkg.x[0])
        free_a = analysis.fit(data=self.asimov, starts=bkg.x[0], bounds=self.bounds)
        self.free = {False: (free.x[0], float(free.nll[0])), True: (free_a.x[0], float(free_a.nll[0]))}
        self.free_asimov_fit = free_a
        self._q: dict[bool, dict[float, float]] = {False: {}, True: {}}
        self.restarts = 0

    def _fixed_q(self, mu: float, asimov: bool) -> float:
        cache = self._q[asimov]
        if mu not in cache:
            data = self.asimov if asimov else self.a.data
            start, best = self.free[asimov]
            # two starts (the free fit, and the model's initial values): a likelihood with
            # several minima (coupled histosys) may trap one of them; the lower one counts
            fits = self.a.fit(data=data, fix={self.poi: mu}, starts=np.stack([start, self.a.init]), bounds=self.bounds)
            fit = fits.row(int(np.argmin(fits.nll)))
            if float(fit.nll[0]) < best - 1e-9:
                # a fit with μ held beat the free fit: that was a local minimum. Refit freely from
                # the better point and recompute every q of this dataset.
                refit = self.a.fit(data=data, starts=fit.x[0], bounds=self.bounds)
                self.free[asimov] = (refit.x[0], float(refit.nll[0]))
                self.restarts += 1
                cache.clear()
                return self._fixed_q(mu, asimov)
            q = max(2.0 * (float(fit.nll[0]) - best), 0.0)
            cache[mu] = 0.0 if start[self.poi] > mu else q
        return cache[mu]

    def observed(self, mu: float) -> float:
        """Observed CLs at μ.

        Args:
            mu: the POI value tested.

        Returns:
            CLs.
        """
        q, qa = self._fixed_q(mu, False), self._fixed_q(mu, True)
        return _cls(pyhf_teststat(q, qa), math.sqrt(qa))

    def expected(self, mu: float, n_sigma: float) -> float:
        """Expected CLs at μ for the background-only outcome n σ from the median.

        Args:
            mu: the POI value tested.
            n_sigma: band position (pyhf's convention: +2 is the lower edge of the limit band).

        Returns:
            CLs.
        """
        return _cls(float(n_sigma), math.sqrt(self._fixed_q(mu, True)))

    def curves(self, mus) -> dict:
        """CLs on a list of μ values, observed and the expected band.

        Args:
            mus: POI values.

        Returns:
            {"mu", "observed", "expected": [5 curves in BAND order]}.
        """
        mus = [float(m) for m in mus]
        return {
            "mu": mus,
            "observed": [self.observed(m) for m in mus],
            "expected": [[self.expected(m, n) for m in mus] for n in BAND],
        }


def _root(func, level: float, guess: float, upper: float) -> tuple[float, str]:
    """The μ where func(μ) = level, bracketing from `guess` by doubling up to `upper`."""
    lo = max(guess * 1e-3, MU_FLOOR)
    if func(lo) < level:
        return float("nan"), f"CLs < {level} already at mu = {lo:.3g}"
    hi = min(max(guess, 2 * lo), upper)
    while func(hi) > level:
        if hi >= upper:
            return float("nan"), f"CLs > {level} up to the POI upper bound {upper:g}"
        lo, hi = hi, min(2 * hi, upper)
    return float(brentq(lambda m: func(m) - level, lo, hi, xtol=1e-10 * hi, rtol=1e-12)), ""


def upper_limits(scan: CLsScan, cl: float = 0.95, curve_points: int = 41) -> dict:
    """Observed and expected CLs upper limits on the POI, and CLs curves for plotting.

    Args:
        scan: the `CLsScan` of the model.
        cl: confidence level (0.95: CLs = 0.05 at the limit).
        curve_points: μ values of the plotted curves (0 to 1.5 x the largest limit).

    Returns:
        {"observed", "expected" (5, BAND order), "band_sigma", "failures", "curves", "cl",
         "poi_bounds", "n_fits", "free_fit_restarts"}.
    """
    level = 1.0 - cl
    cov_a = scan.a.covariance(scan.free_asimov_fit)
    sigma_a = float(np.sqrt(cov_a[scan.poi, scan.poi]))
    guess = max(2.0 * sigma_a, MU_FLOOR * 10)
    failures = {}
    observed, why = _root(scan.observed, level, guess, scan.upper)
    if why:
        failures["observed"] = why
    expected = []
    for n in BAND:
        value, why = _root(lambda m, n=n: scan.expected(m, n), level, guess, scan.upper)
        expected.append(value)
        if why:
            failures[f"expected_{n:+d}sigma"] = why
    finite = [v for v in [observed, *expected] if np.isfinite(v)]
    top = 1.5 * max(finite) if finite else scan.upper
    mus = np.linspace(top / curve_points, min(top, scan.upper), curve_points)
    return {
        "cl": cl,
        "observed": observed,
        "expected": expected,
        "band_sigma": list(BAND),
        "failures": failures,
        "curves": scan.curves(mus),
        "poi_bounds": scan.bounds[scan.poi].tolist(),
        "n_fits": len(scan._q[False]) + len(scan._q[True]) + 3 + 2 * scan.restarts,
        "free_fit_restarts": scan.restarts,
    }


def significance(analysis: Analysis) -> dict:
    """Discovery significance from q0 = 2 (nll(μ = 0) - nll(μ̂)), μ̂ bounded below by 0.

    Expected: q0 on the Asimov dataset of the fit with μ = 1 to the data (pyhf's convention).

    Args:
        analysis: the prepared model (must have a POI).

    Returns:
        {"q0", "observed_z", "observed_p", "q0_asimov", "expected_z", "expected_p", "muhat"}.
    """
    poi = analysis.poi
    bounds = analysis.bounds.copy()
    bounds[poi, 0] = 0.0
    free = analysis.fit(bounds=bounds)
    null = analysis.fit(fix={poi: 0.0}, starts=free.x[0], bounds=bounds)
    q0 = max(2.0 * float(null.nll[0] - free.nll[0]), 0.0)
    signal = analysis.fit(fix={poi: 1.0}, starts=free.x[0], bounds=bounds)
    asimov = analysis.expected_data(signal.x[0])
    free_a = analysis.fit(data=asimov, starts=signal.x[0], bounds=bounds)
    null_a = analysis.fit(data=asimov, fix={poi: 0.0}, starts=signal.x[0], bounds=bounds)
    q0_a = max(2.0 * float(null_a.nll[0] - free_a.nll[0]), 0.0)
    return {
        "muhat": float(free.x[0][poi]),
        "q0": q0,
        "observed_z": math.sqrt(q0),
        "observed_p": float(norm.sf(math.sqrt(q0))),
        "q0_asimov": q0_a,
        "expected_z": math.sqrt(q0_a),
        "expected_p": float(norm.sf(math.sqrt(q0_a))),
    }
