"""The test statistics' shared rules: fit bounds, asymptotic t and CLs, the band, crossings.

The POI bounds of the statistics' fits, pyhf's asymptotic t and CLs, the expected band's
positions, and how a limit is read off a CLs curve of tested points. Shared by the asymptotic limits and significance (inference), their gradients (implicit) and the
toys, so q̃μ, qμ, the band and a crossing mean one thing everywhere (Cowan, Cranmer, Gross,
Vitells, arXiv:1007.1727; pyhf's `infer.test_statistics` and `AsymptoticCalculator`).
"""

import math

import numpy as np
from scipy.stats import norm

TEST_STATISTICS = ("qtilde", "q")
MU_FLOOR = 1e-9  # the lowest μ a root search tries
XTOL = 1e-9  # relative precision of a root (a limit)
MAX_ROOT_STEPS = 200
AT_BOUND = "up to the POI upper bound"  # how a failed search's reason ends when μ reached the bound
# The expected band's positions: n σ of the test statistic under b-only, pyhf's order (+2σ of
# the statistic is the lowest limit); MEDIAN is the median's index.
BAND = (2, 1, 0, -1, -2)
MEDIAN = BAND.index(0)
# The expected limits in BAND order, as the grid table's columns and as presented: +nσ of the
# statistic is the limit's -nσ edge (the lowest limit first, as pyhf lists them).
BAND_COLUMNS = ("expected_p2", "expected_p1", "expected", "expected_m1", "expected_m2")
BAND_LABELS = ("expected −2σ", "expected −1σ", "expected", "expected +1σ", "expected +2σ")


def statistic_bounds(bounds, poi: int, test_statistic: str = "qtilde") -> np.ndarray:
    """The fit bounds of a test statistic's fits.

    q̃μ assumes μ̂ ≥ 0: the POI is bounded below by 0 (pyhf's warning when it is not). qμ lets
    μ̂ go as low as the model's bounds allow (a signal that may be negative: interference, a
    measured strength). q0 is computed like q̃μ here: a μ̂ below 0 gives q0 = 0 either way.

    Args:
        bounds: (npars, 2) the model's bounds.
        poi: the POI's index.
        test_statistic: "qtilde" or "q".

    Returns:
        A copy of the bounds for the statistic's fits.

    Raises:
        ValueError: an unknown test statistic.
    """
    if test_statistic not in TEST_STATISTICS:
        raise ValueError(f"unknown test statistic {test_statistic!r}; valid: {list(TEST_STATISTICS)}")
    out = np.array(bounds, float)
    if test_statistic == "qtilde":
        out[poi, 0] = 0.0
    return out


def pyhf_teststat(qmu: float, qmu_a: float, test_statistic: str = "qtilde") -> float:
    """Pyhf's asymptotic test statistic t from qμ (or q̃μ) and its Asimov value.

    t = √qμ - √qμ,A for qμ; for q̃μ the same up to the Asimov value and (q̃μ - q̃μ,A) / (2 √q̃μ,A)
    beyond it (Cowan et al., eq. 66).

    Args:
        qmu: the statistic on the data.
        qmu_a: on the background-only Asimov data.
        test_statistic: "qtilde" or "q".

    Returns:
        t.
    """
    sq, sqa = math.sqrt(qmu), math.sqrt(qmu_a)
    if sq <= sqa or test_statistic == "q":
        return sq - sqa
    return (qmu - qmu_a) / (2.0 * sqa)


def log_cls_of_t(t: float, sqrt_qmu_a: float) -> float:
    """The log of CLs from pyhf's t and √qμ,A: ln Φ(-(t + √qμ,A)) - ln Φ(-t), accurate where CLs underflows.

    Args:
        t: `pyhf_teststat`.
        sqrt_qmu_a: √qμ,A.

    Returns:
        ln CLs.
    """
    return float(norm.logsf(t + sqrt_qmu_a) - norm.logsf(t))


def log_cls(qmu: float, qmu_a: float, test_statistic: str = "qtilde") -> float:
    """The asymptotic log of CLs from the statistic on the data and on the b-only Asimov data.

    Args:
        qmu: the statistic on the data.
        qmu_a: on the background-only Asimov data.
        test_statistic: "qtilde" or "q".

    Returns:
        ln CLs.
    """
    return log_cls_of_t(pyhf_teststat(qmu, qmu_a, test_statistic), math.sqrt(qmu_a))


def log_cls_partials(qmu: float, qmu_a: float, test_statistic: str = "qtilde") -> tuple[float, float]:
    """∂ ln CLs / ∂qμ and ∂ ln CLs / ∂qμ,A of `log_cls` (t piecewise for q̃μ, √qμ - √qμ,A for qμ).

    Args:
        qmu: the statistic on the data.
        qmu_a: on the background-only Asimov data.
        test_statistic: "qtilde" or "q".

    Returns:
        (∂/∂qμ, ∂/∂qμ,A).
    """
    sq, sqa = math.sqrt(qmu), math.sqrt(qmu_a)
    t = pyhf_teststat(qmu, qmu_a, test_statistic)
    # d ln Φ(-x)/dx = -φ(x) / Φ(-x)
    dlog = lambda x: -math.exp(norm.logpdf(x) - norm.logsf(x))  # noqa: E731
    a, b = dlog(t + sqa), dlog(t)  # d/dt of the two terms
    if sq <= sqa or test_statistic == "q":
        dt_dq = 0.5 / sq if sq > 0 else 0.0
        dt_dqa = -0.5 / sqa
    else:
        dt_dq = 1.0 / (2.0 * sqa)
        dt_dqa = -1.0 / (2.0 * sqa) - (qmu - qmu_a) / (4.0 * sqa**3)
    dsqa_dqa = 0.5 / sqa
    return (a - b) * dt_dq, (a - b) * dt_dqa + a * dsqa_dqa


def bracket(cls, level: float) -> int | None:
    """Index i of the first pair of points (i - 1, i) with CLs falling through `level`.

    Args:
        cls: CLs per point (μ increasing).
        level: 1 - CL.

    Returns:
        i, or None when CLs does not cross `level` between the points.
    """
    for i in range(1, len(cls)):
        if cls[i - 1] >= level > cls[i]:
            return i
    return None


def cls_crossing(mu, cls, level: float, errors=None) -> tuple[float, float | None] | str:
    """Where a CLs curve of tested points first falls through `level`, and its error.

    The one rule for toy-based CLs (the toy hypotest's grid and the toy limit's points):
    linear in ln CLs between the two bracketing points, because CLs falls about exponentially in
    μ (asymptotically ln CLs is near-linear in μ around the limit), so a chord in ln CLs is
    closer than one in CLs between points far apart; linear in CLs where the lower point's CLs
    is 0 (a toy count of 0 has no logarithm). With `errors`, the two points' independent
    Monte Carlo errors propagated to the limit.

    Args:
        mu: the points (increasing).
        cls: CLs at them.
        level: 1 - CL.
        errors: CLs errors at the points (none: no error).

    Returns:
        (limit, error or None), or the reason there is none.
    """
    if len(mu) < 2:
        return "no μ points to read a limit off"
    i = bracket(cls, level)
    if i is None:
        side = "above" if cls[-1] >= level else "below"
        return f"CLs stays {side} {level:.4g} on the tested points μ = {mu[0]:.4g} to {mu[-1]:.4g}"
    (m0, m1), (c0, c1) = (mu[i - 1], mu[i]), (cls[i - 1], cls[i])
    e0, e1 = (errors[i - 1], errors[i]) if errors is not None else (0.0, 0.0)
    width = m1 - m0
    if c1 > 0:
        u, v, w = np.log(c0), np.log(c1), np.log(level)
        limit = m0 + (u - w) / (u - v) * width
        du, dv = width * (w - v) / (u - v) ** 2, width * (u - w) / (u - v) ** 2
        error = np.hypot(du * e0 / c0, dv * e1 / c1)
    else:
        limit = m0 + (c0 - level) / (c0 - c1) * width
        d0, d1 = width * (level - c1) / (c0 - c1) ** 2, width * (c0 - level) / (c0 - c1) ** 2
        error = np.hypot(d0 * e0, d1 * e1)
    return float(limit), (float(error) if errors is not None else None)


def crossing_error(cls, errors, level: float, i: int) -> float:
    """The CLs error where CLs crosses `level` between points i - 1 and i.

    Their errors weighted as `cls_crossing` interpolates (ln CLs; CLs where the outer point's
    is 0).

    Args:
        cls: CLs per point.
        errors: their errors.
        level: 1 - CL.
        i: the bracket (`bracket`).

    Returns:
        The error.
    """
    (c0, c1), (e0, e1) = (cls[i - 1], cls[i]), (errors[i - 1], errors[i])
    if c1 > 0:
        t = (np.log(c0) - np.log(level)) / (np.log(c0) - np.log(c1))
        return float(level * np.hypot((1 - t) * e0 / c0, t * e1 / c1))
    t = (c0 - level) / (c0 - c1)
    return float(np.hypot((1 - t) * e0, t * e1))


def increasing_root(func, guess: float, upper: float, what: str, known: dict | None = None) -> tuple[float, str]:
    """The μ where an increasing func(μ) crosses 0: a bracket, then interpolation kept inside it.

    The one root search of the limits: asymptotic CLs limits (observed and band), the design
    stage's expected limit.

    The bracket is the tightest one among the `known` values (evaluations already paid for),
    else grown from `guess` by doubling up to `upper`. Inverse quadratic interpolation through
    the three points with the smallest |func| (secant with two) converges superlinearly on the
    near-linear functions used here; a step leaving the bracket, or one after which the best
    |func| did not halve, is replaced by bisection. The search ends when a step moves μ by less
    than `XTOL` relative (the next step would move it by far less) or the bracket is that narrow.

    Args:
        func: the function (negative below the root).
        guess: the first upper end of the bracket.
        upper: the largest μ tried.
        what: the condition func < 0 stands for, for the failure message.
        known: {μ: func(μ)} already computed.

    Returns:
        (the root or NaN, why it failed or "").
    """
    seen = dict(known or {})

    def f(mu: float) -> float:
        if mu not in seen:
            seen[mu] = func(mu)
        return seen[mu]

    below = [m for m, v in seen.items() if v < 0]
    above = [m for m, v in seen.items() if v > 0]
    if below and above and max(below) < min(above):
        lo, hi = max(below), min(above)
    else:
        lo = max(guess * 1e-3, MU_FLOOR)
        if f(lo) > 0:
            return float("nan"), f"{what} fails already at mu = {lo:.3g}"
        hi = min(max(guess, 2 * lo), upper)
        while f(hi) < 0:
            if hi >= upper:
                return float("nan"), f"{what} {AT_BOUND} {upper:g}"
            lo, hi = hi, min(2 * hi, upper)
    previous = math.inf
    for _ in range(MAX_ROOT_STEPS):
        x, x0, f0 = _next_point(seen, lo, hi)
        if abs(f0) > 0.5 * previous and abs(x - x0) > XTOL * hi:
            x = 0.5 * (lo + hi)  # too slow: bisect
        previous = abs(f0)
        if abs(x - x0) <= XTOL * abs(x) or hi - lo <= XTOL * hi:
            return float(x), ""
        fx = f(x)
        if fx == 0:
            return float(x), ""
        lo, hi = (x, hi) if fx < 0 else (lo, x)
    return float(x), ""


def _next_point(seen: dict, lo: float, hi: float) -> tuple[float, float, float]:
    """The next point of a root search, and the best point so far.

    Inverse quadratic (else linear) interpolation through the known points nearest the root,
    or the bracket's midpoint when that falls outside it.

    Args:
        seen: {μ: func(μ)} evaluated so far (at least the bracket's two ends).
        lo: lower end of the bracket.
        hi: upper end.

    Returns:
        (the proposal, the best point so far, its value).
    """
    points = sorted(seen.items(), key=lambda p: abs(p[1]))[:3]
    x0, f0 = points[0]
    if len(points) == 3 and len({v for _, v in points}) == 3:
        (a, fa), (b, fb), (c, fc) = points
        x = (
            a * fb * fc / ((fa - fb) * (fa - fc))
            + b * fa * fc / ((fb - fa) * (fb - fc))
            + c * fa * fb / ((fc - fa) * (fc - fb))
        )
        if lo < x < hi:
            return x, x0, f0
    (a, fa), (b, fb) = points[:2]
    x = a - fa * (a - b) / (fa - fb) if fa != fb else 0.5 * (lo + hi)
    return (x if lo < x < hi else 0.5 * (lo + hi)), x0, f0
