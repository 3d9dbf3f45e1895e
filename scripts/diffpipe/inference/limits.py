"""Asymptotic CLs upper limits (q̃μ or qμ) and discovery significance (q0), as in pyhf's AsymptoticCalculator.

Test statistics (Cowan, Cranmer, Gross, Vitells, arXiv:1007.1727) from fits with the POI bounded
below at 0 (what q̃μ and q0 assume): q̃μ = 2 (nll(μ) - nll(μ̂)), 0 where μ̂ > μ; the background-only
Asimov dataset is the expected data of the fit with μ = 0 to the data. With t the pyhf test
statistic (√q̃μ - √q̃μ,A, or (q̃μ - q̃μ,A) / (2 √q̃μ,A) beyond the Asimov value):
CLs+b = Φ(-(t + √q̃μ,A)), CLb = Φ(-t), CLs = CLs+b / CLb; the expected band puts t at n σ
(n = 2, 1, 0, -1, -2). Limits are roots of CLs(μ) = 1 - CL, never read off a grid.

Each evaluation is a fixed-μ fit, so the root finder works on functions of μ that are close to
linear (√q̃μ,A exactly so when the likelihood is Gaussian): the observed limit solves
Φ⁻¹(1 - CLs(μ)) = Φ⁻¹(CL), and the expected limit at n σ solves √q̃μ,A(μ) = s_n, where
s_n = Φ⁻¹(1 - (1 - CL) Φ(-n)) - n is the value at which the expected CLs reaches 1 - CL. All
five expected limits are crossings of the one function √q̃μ,A(μ), so each search starts from the
fits the earlier ones paid for. Inverse interpolation through the three best points, kept inside
a bracket (bisection when a step leaves it or does not halve the residual), ends when a step moves
μ by less than 1e-9 relative: about 3 fits per expected limit and 4 for the observed one, where
Brent's method on CLs(μ) itself (a Gaussian tail) took 10-12 (72 fits in all on a 55-parameter
signal patch before, 37 now, limits equal within 1e-10).
"""

import math

import numpy as np
from scipy.special import ndtri_exp
from scipy.stats import norm

from diffpipe.inference.analysis import Analysis
from diffpipe.teststat import AT_BOUND, BAND, MU_FLOOR, increasing_root, log_cls, log_cls_of_t, statistic_bounds

Z_CLIP = 40.0
TIE = 1e-9  # -ln L lower by more than this is another minimum
WIDEN_FACTOR = 10.0  # a limit above the POI's upper bound: the bound is raised this much at a time


class CLsScan:
    """CLs(μ) on the data and the expected band, one fixed-μ fit per dataset and μ (memoised).

    Args:
        analysis: the prepared model (must have a POI).
        poi_upper: upper end of the POI search range (default: the POI's upper bound).
        test_statistic: "qtilde" (μ̂ bounded below by 0) or "q" (`statistic_bounds`).
    """

    def __init__(self, analysis: Analysis, poi_upper: float | None = None, test_statistic: str = "qtilde"):
        if analysis.poi is None:
            raise ValueError("the model has no POI")
        self.a = analysis
        self.poi = analysis.poi
        self.test_statistic = test_statistic
        self.bounds = statistic_bounds(analysis.bounds, self.poi, test_statistic)
        self.upper = float(self.bounds[self.poi, 1] if poi_upper is None else poi_upper)
        free = analysis.fit(bounds=self.bounds, hessian=False)
        bkg = analysis.fit(hold={self.poi: 0.0}, start=free.x[0], bounds=self.bounds, hessian=False)
        self.asimov = analysis.expected_data(bkg.x[0])
        free_a = analysis.fit(data=self.asimov, start=bkg.x[0], bounds=self.bounds)
        self.free = {False: (free.x[0], float(free.nll[0])), True: (free_a.x[0], float(free_a.nll[0]))}
        self.free_asimov_fit = free_a
        self._q: dict[bool, dict[float, float]] = {False: {}, True: {}}
        self._x: dict[bool, dict[float, np.ndarray]] = {False: {}, True: {}}
        self._nll: dict[bool, dict[float, float]] = {False: {}, True: {}}
        self._checked: dict[bool, set[float]] = {False: set(), True: set()}
        self.both_starts = False  # every fit from both starts (set when a cold start found a lower minimum)
        self.restarts = 0
        self._fits = 3
        self.declared_upper = float(self.bounds[self.poi, 1])

    def widen(self, upper: float) -> None:
        """Raise the POI's upper bound to `upper` (what pyhf users do by hand with par_bounds).

        Fits with μ held are unaffected; a free fit that stopped at the old bound is redone,
        and the q values of its dataset with it.

        Args:
            upper: the new upper bound (above the current one).
        """
        old = self.bounds[self.poi, 1]
        self.bounds[self.poi, 1] = self.upper = float(upper)
        for asimov in (False, True):
            x, _ = self.free[asimov]
            if x[self.poi] < old * (1.0 - 1e-9):
                continue
            data = self.asimov if asimov else self.a.data
            fit = self.a.fit(data=data, start=x, bounds=self.bounds)
            self.free[asimov] = (fit.x[0], float(fit.nll[0]))
            if asimov:
                self.free_asimov_fit = fit
            self._forget(asimov)

    def warm_start(self, mu: float, asimov: bool) -> np.ndarray:
        """The best fit held at the nearest μ already fitted on this dataset (else the free fit).

        Args:
            mu: the POI value a fit is about to hold.
            asimov: the background-only Asimov data's fits (else the data's).

        Returns:
            The parameters to start that fit from.
        """
        done = self._x[asimov]
        if not done:
            return self.free[asimov][0]
        return done[min(done, key=lambda m: abs(m - mu))]

    def _forget(self, asimov: bool) -> None:
        """Drop one dataset's statistics (its free fit changed, or every μ needs both starts).

        Args:
            asimov: the background-only Asimov data's (else the data's).
        """
        for memo in (self._q, self._x, self._nll, self._checked):
            memo[asimov].clear()

    def _restart(self, asimov: bool, better: np.ndarray) -> None:
        """Refit the free fit from a held fit that beat it (it was a local minimum), and drop the dataset's q.

        Args:
            asimov: the dataset (the background-only Asimov data, else the data).
            better: the held fit's parameters.
        """
        data = self.asimov if asimov else self.a.data
        refit = self.a.fit(data=data, start=better, bounds=self.bounds, hessian=False)
        self._fits += 1
        self.free[asimov] = (refit.x[0], float(refit.nll[0]))
        self.restarts += 1
        self._forget(asimov)

    def confirm(self, points) -> bool:
        """Run the cold start at each point whose warm fit was not checked yet, all in one fit call.

        Args:
            points: (μ, asimov) pairs evaluated from the warm start.

        Returns:
            True if every warm fit stands (no cold start found a lower minimum, nor one below
            the free fit); else False, the scan changed (both starts everywhere, or a dataset
            restarted) and the searches must run again.
        """
        todo = [(m, a) for m, a in dict.fromkeys(points) if m in self._q[a] and m not in self._checked[a]]
        if self.both_starts or not todo:
            return True
        data = np.stack([self.asimov if asimov else self.a.data for _, asimov in todo])
        mus = np.array([mu for mu, _ in todo])
        fits = self.a.fit(data=data, hold={self.poi: mus}, start=self.a.init, bounds=self.bounds, hessian=False)
        self._fits += len(todo)
        for row, (mu, asimov) in enumerate(todo):
            nll = float(fits.nll[row])
            if nll < self.free[asimov][1] - TIE:
                self._restart(asimov, fits.x[row])
                return False
            if nll < self._nll[asimov][mu] - TIE:  # the warm values elsewhere may be trapped too
                self.use_both_starts()
                return False
            self._checked[asimov].add(mu)
        return True

    def use_both_starts(self) -> None:
        """From now on every fit at μ runs from both starts, and the statistics so far are recomputed so."""
        self.both_starts = True
        for asimov in (False, True):
            self._forget(asimov)

    def qmu(self, mu: float, asimov: bool, checked: bool = True) -> float:
        """The test statistic at μ on the data or the Asimov data (memoised; 0 where μ̂ > μ).

        A likelihood with several minima (coupled histosys) may trap a fit in one of them, so
        the statistic is the lower of two fixed-μ fits: one from the fit held at the nearest μ
        done (or the free fit), one from the model's initial values (the cold start, as pyhf's
        fits start). A root search may ask for the first alone (`checked=False`: a few Newton
        steps against the cold start's many) and check its answer's μ afterwards: the cold
        start then runs there, and one that finds a lower minimum switches the scan to both
        starts everywhere (`use_both_starts`).

        Args:
            mu: the POI value held.
            asimov: on the background-only Asimov data (else on the data).
            checked: from both starts (else from the warm start alone, unless the scan runs
                both everywhere).

        Returns:
            q̃μ (or qμ); a fixed-μ fit below the free one refits the free fit and starts this
            dataset's statistics over.
        """
        cache, checks = self._q[asimov], self._checked[asimov]
        both = checked or self.both_starts
        if mu in cache:
            if mu in checks or not both:
                return cache[mu]
            self.confirm([(mu, asimov)])  # the warm start's fit is known: the cold start alone
            return self.qmu(mu, asimov, checked)
        data = self.asimov if asimov else self.a.data
        start, best = self.free[asimov]
        warm = self.warm_start(mu, asimov)[None]
        starts = np.concatenate([warm, self.a.init[None]]) if both else warm
        fits = self.a.fit(data=data, hold={self.poi: mu}, start=starts, bounds=self.bounds, hessian=False)
        self._fits += len(starts)
        fit = fits.row(int(np.argmin(fits.nll)))
        nll = float(fit.nll[0])
        if nll < best - TIE:
            self._restart(asimov, fit.x[0])
            return self.qmu(mu, asimov, checked)
        q = max(2.0 * (nll - best), 0.0)
        cache[mu] = 0.0 if start[self.poi] > mu else q
        self._x[asimov][mu] = fit.x[0]
        self._nll[asimov][mu] = nll
        if both:
            checks.add(mu)
        return cache[mu]

    def evaluated(self, asimov: bool) -> dict[float, float]:
        """The test statistic at every μ evaluated so far on one dataset.

        Args:
            asimov: the background-only Asimov data's (else the data's).

        Returns:
            {μ: q̃μ} (a copy).
        """
        return dict(self._q[asimov])

    @property
    def n_fits(self) -> int:
        """Fits run so far: the three initial ones, one per start of each fit at μ, one per restart.

        Returns:
            The count.
        """
        return self._fits

    def observed(self, mu: float) -> float:
        """Observed CLs at μ.

        Args:
            mu: the POI value tested.

        Returns:
            CLs.
        """
        q, qa = self.qmu(mu, False), self.qmu(mu, True)
        return math.exp(log_cls(q, qa, self.test_statistic))

    def expected(self, mu: float, n_sigma: float) -> float:
        """Expected CLs at μ for the background-only outcome n σ from the median.

        Args:
            mu: the POI value tested.
            n_sigma: band position (pyhf's convention: +2 is the lower edge of the limit band).

        Returns:
            CLs.
        """
        return math.exp(log_cls_of_t(float(n_sigma), math.sqrt(self.qmu(mu, True))))

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


def shown(limit: float) -> str:
    """A limit as logs print it: its value, or "none" (never "nan"; the reason is logged beside it).

    Args:
        limit: the limit (NaN when it failed).

    Returns:
        The text.
    """
    return f"{limit:.4g}" if np.isfinite(limit) else "none"


def _z(log_p: float) -> float:
    """Φ⁻¹(1 - p) from ln p, clipped to ±40 (beyond what a float64 p can reach) so it stays finite.

    Args:
        log_p: ln p (p in [0, 1]).

    Returns:
        The one-sided z value of p.
    """
    return float(np.clip(-ndtri_exp(min(log_p, 0.0)), -Z_CLIP, Z_CLIP))


def expected_crossing(n_sigma: float, level: float) -> float:
    """√q̃μ,A at which the expected CLs at n σ equals `level`.

    CLs = Φ(-(n + s)) / Φ(-n) = level at s = Φ⁻¹(1 - level Φ(-n)) - n.

    Args:
        n_sigma: band position.
        level: 1 - CL.

    Returns:
        s.
    """
    return _z(math.log(level) + float(norm.logsf(n_sigma))) - n_sigma


def upper_limits(scan: CLsScan, cl: float = 0.95, curve_points: int = 41, poi_bound_max: float | None = None) -> dict:
    """Observed and expected CLs upper limits on the POI, and CLs curves for plotting.

    A limit above the POI's upper bound widens the bound (×`WIDEN_FACTOR` each time, up to
    `poi_bound_max`); one still above it is a failure naming both bounds.

    Args:
        scan: the `CLsScan` of the model.
        cl: confidence level (0.95: CLs = 0.05 at the limit).
        curve_points: μ values of the plotted curves (0 to 1.5 x the largest limit; 0: none).
        poi_bound_max: the largest upper bound of the POI tried (default: the declared bound,
            no widening).

    Returns:
        {"observed", "expected" (5, BAND order), "band_sigma", "failures", "curves", "cl",
         "poi_bounds" (as searched: widened or declared), "declared_poi_upper", "n_fits",
         "free_fit_restarts", "test_statistic"}.
    """
    level = 1.0 - cl
    cov_a = scan.a.covariance(scan.free_asimov_fit)
    sigma_a = float(np.sqrt(cov_a[scan.poi, scan.poi]))
    guess = max(2.0 * sigma_a, MU_FLOOR * 10)
    failures = {}
    what = f"CLs > {level:.4g}"
    z_level = _z(math.log(level))

    def observed(mu: float) -> float:
        return _z(log_cls(scan.qmu(mu, False, False), scan.qmu(mu, True, False), scan.test_statistic)) - z_level

    widen_to = max(scan.upper, poi_bound_max or scan.upper)

    def search(func, known) -> tuple[float, str]:
        while True:
            value, why = increasing_root(func, guess, scan.upper, what, known())
            if not why.startswith(f"{what} {AT_BOUND}") or scan.upper >= widen_to:
                break
            scan.widen(min(WIDEN_FACTOR * scan.upper, widen_to))
        if why and scan.upper > scan.declared_upper:
            why += f" (widened from {scan.declared_upper:g}, the largest allowed)"
        return value, why

    def searches() -> tuple[float, list[float], dict]:
        failed = {}
        observed_mu, why = search(
            observed, lambda: {m: observed(m) for m in set(scan.evaluated(False)) & set(scan.evaluated(True))}
        )
        if why:
            failed["observed"] = why
        expected = []
        for n in BAND:
            s_level = expected_crossing(n, level)
            value, why = search(
                lambda m, s=s_level: math.sqrt(scan.qmu(m, True, False)) - s,
                lambda s=s_level: {m: math.sqrt(q) - s for m, q in scan.evaluated(True).items()},
            )
            expected.append(value)
            if why:
                failed[f"expected_{n:+d}sigma"] = why
        return observed_mu, expected, failed

    def decided_at(result: float, asimov: bool) -> float:
        # a root is within XTOL of its search's best μ; a search that failed was decided at the
        # POI's upper bound or at its first μ
        done = scan.evaluated(asimov)
        if np.isfinite(result):
            return min(done, key=lambda m: abs(m - result))
        return scan.upper if scan.upper in done else min(done)

    while True:
        observed_mu, expected, failures = searches()
        if scan.both_starts:
            break
        # the cold start where each search was decided tells whether the warm fits could have
        # been trapped in a higher minimum (the results stand if it finds none)
        at_observed = decided_at(observed_mu, False)
        checks = [(at_observed, False), (at_observed, True)]
        checks += [(decided_at(root, True), True) for root in expected]
        if scan.confirm(checks):
            break
    finite = [v for v in [observed_mu, *expected] if np.isfinite(v)]
    top = 1.5 * max(finite) if finite else scan.upper
    mus = np.linspace(top / curve_points, min(top, scan.upper), curve_points) if curve_points else []
    return {
        "cl": cl,
        "observed": observed_mu,
        "expected": expected,
        "band_sigma": list(BAND),
        "failures": failures,
        "curves": scan.curves(mus),
        "poi_bounds": scan.bounds[scan.poi].tolist(),
        "declared_poi_upper": scan.declared_upper,
        "n_fits": scan.n_fits,
        "free_fit_restarts": scan.restarts,
        "test_statistic": scan.test_statistic,
    }


def significance(analysis: Analysis, test_statistic: str = "qtilde") -> dict:
    """Discovery significance from q0 = 2 (nll(μ = 0) - nll(μ̂)), 0 where μ̂ < 0.

    Expected: q0 on the Asimov dataset of the fit with μ = 1 to the data (pyhf's convention).

    Args:
        analysis: the prepared model (must have a POI).
        test_statistic: the limits' statistic, whose bounds the fits use (`statistic_bounds`:
            with "q" μ̂ may be negative, and q0 is 0 there as it is at the bound 0).

    Returns:
        {"q0", "observed_z", "observed_p", "q0_asimov", "expected_z", "expected_p", "muhat"}.
    """
    poi = analysis.poi
    bounds = statistic_bounds(analysis.bounds, poi, test_statistic)
    free = analysis.fit(bounds=bounds)
    null = analysis.fit(hold={poi: 0.0}, start=free.x[0], bounds=bounds)
    q0 = max(2.0 * float(null.nll[0] - free.nll[0]), 0.0) if free.x[0][poi] >= 0 else 0.0
    signal = analysis.fit(hold={poi: 1.0}, start=free.x[0], bounds=bounds)
    asimov = analysis.expected_data(signal.x[0])
    free_a = analysis.fit(data=asimov, start=signal.x[0], bounds=bounds)
    null_a = analysis.fit(data=asimov, hold={poi: 0.0}, start=signal.x[0], bounds=bounds)
    q0_a = max(2.0 * float(null_a.nll[0] - free_a.nll[0]), 0.0) if free_a.x[0][poi] >= 0 else 0.0
    return {
        "muhat": float(free.x[0][poi]),
        "q0": q0,
        "observed_z": math.sqrt(q0),
        "observed_p": float(norm.sf(math.sqrt(q0))),
        "q0_asimov": q0_a,
        "expected_z": math.sqrt(q0_a),
        "expected_p": float(norm.sf(math.sqrt(q0_a))),
    }
