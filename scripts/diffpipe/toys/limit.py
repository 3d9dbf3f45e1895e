"""Toy-based CLs upper limits with a stated Monte Carlo accuracy.

The μ points lie around the asymptotic limits. At each point toys are added in parts of a fixed
size: q̃μ of toys under s+b (generated at the fit to the data with the POI held at μ) and under b
(POI held at 0), as pyhf's ToyCalculator. Part j of point k holds the toys with indices
[j n, (j + 1) n), keyed by (seed, model, point, hypothesis, index): a part is the same toys
whatever round it was made in, so a rerun with a tighter target adds parts and keeps the others.

A round adds a part at every point with fewer than `min_toys` toys, and at the two points
bracketing the observed or the median expected crossing while the CLs error at that crossing is
above `cls_accuracy` (and `max_toys` allows). CLs errors are binomial, propagated through CLs = CLs+b / CLb; the limit is
where CLs crosses 1 - CL, interpolated linearly in ln CLs between the bracketing points (linearly
in CLs where one of them is 0), with its error propagated from theirs.
"""

import numpy as np
from scipy.stats import norm

from diffpipe.teststat import BAND, MEDIAN, bracket, cls_crossing, crossing_error


def limit_points(observed, expected, n_points: int, margin: float = 0.3) -> list[float]:
    """μ points spanning the asymptotic limits, evenly spaced.

    Args:
        observed: the asymptotic observed limit (None: failed).
        expected: the asymptotic expected limits (BAND order; None entries: failed).
        n_points: how many.
        margin: the span reaches (1 - margin) × the smallest and (1 + margin) × the largest.

    Returns:
        The points, increasing.

    Raises:
        ValueError: no asymptotic limit to place them around.
    """
    limits = [v for v in [observed, *expected] if v is not None and np.isfinite(v) and v > 0]
    if not limits:
        raise ValueError("the asymptotic limits failed: no POI range to place the toys' μ points in")
    lo, hi = (1.0 - margin) * min(limits), (1.0 + margin) * max(limits)
    return [float(v) for v in np.linspace(lo, hi, n_points)]


def _fraction(samples: np.ndarray, value: float) -> tuple[float, float]:
    """P(sample ≥ value) and its binomial error (from (k + 1/2) / (n + 1): not zero at k = 0)."""
    n = len(samples)
    k = int(np.count_nonzero(samples >= value))
    centre = (k + 0.5) / (n + 1.0)
    return k / n, float(np.sqrt(centre * (1.0 - centre) / n))


def _ratio(sb: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """CLs = CLs+b / CLb and its error, the two samples independent."""
    (p_sb, e_sb), (p_b, e_b) = sb, b
    if p_b <= 0:
        return float("nan"), float("nan")
    cls = p_sb / p_b
    return cls, float(np.hypot(e_sb / p_b, cls * e_b / p_b))


def point_cls(q_observed: float, q_sb: np.ndarray, q_b: np.ndarray) -> dict:
    """Observed and expected CLs at one μ point, with their Monte Carlo errors.

    Args:
        q_observed: q̃μ of the data.
        q_sb: q̃μ of the s+b toys (NaN: the toy's fit left the likelihood's domain; left out).
        q_b: q̃μ of the b toys (likewise).

    Returns:
        clsb, clb, cls, cls_error; expected, expected_error (CLs with q̃μ,obs at the b toys'
        quantiles Φ(n), BAND order); n_sb, n_b (the toys used).
    """
    q_sb, q_b = q_sb[np.isfinite(q_sb)], q_b[np.isfinite(q_b)]
    sb, b = _fraction(q_sb, q_observed), _fraction(q_b, q_observed)
    cls, error = _ratio(sb, b)
    expected, expected_error = [], []
    for n in BAND:
        q_n = float(np.percentile(q_b, 100 * norm.cdf(n), method="linear"))
        value, err = _ratio(_fraction(q_sb, q_n), _fraction(q_b, q_n))
        expected.append(value)
        expected_error.append(err)
    return {
        "clsb": sb[0],
        "clb": b[0],
        "cls": cls,
        "cls_error": error,
        "expected": expected,
        "expected_error": expected_error,
        "n_sb": len(q_sb),
        "n_b": len(q_b),
    }


def curves(points: dict, parts: list[dict]) -> dict:
    """The toy CLs curves from every part made so far.

    Args:
        points: the points artifact's fields (mu, qmu_observed).
        parts: each part's point, q_sb and q_b.

    Returns:
        mu; per point n (toys per hypothesis, 0 where none), cls, cls_error, clsb, clb;
        expected, expected_error (5 curves, BAND order).
    """
    mu = list(points["mu"])
    out = {"mu": mu, "n": [], "cls": [], "cls_error": [], "clsb": [], "clb": []}
    out["expected"] = [[] for _ in BAND]
    out["expected_error"] = [[] for _ in BAND]
    for k, q_observed in enumerate(points["qmu_observed"]):
        mine = [p for p in parts if p["point"] == k]
        if not mine:
            stats = {"n_sb": 0, "cls": float("nan"), "cls_error": float("inf"), "clsb": float("nan")}
            stats |= {"clb": float("nan"), "expected": [float("nan")] * 5, "expected_error": [float("inf")] * 5}
        else:
            stats = point_cls(
                q_observed, np.concatenate([p["q_sb"] for p in mine]), np.concatenate([p["q_b"] for p in mine])
            )
        out["n"].append(stats["n_sb"])
        for key in ("cls", "cls_error", "clsb", "clb"):
            out[key].append(stats[key])
        for j in range(len(BAND)):
            out["expected"][j].append(stats["expected"][j])
            out["expected_error"][j].append(stats["expected_error"][j])
    return out


def _read_off(state: dict) -> tuple:
    """The curves the accuracy target applies to: observed and the median expected."""
    return (
        ("observed", state["cls"], state["cls_error"]),
        ("expected", state["expected"][MEDIAN], state["expected_error"][MEDIAN]),
    )


def accuracy(state: dict, cl: float, target: float) -> dict:
    """The CLs error at the observed and at the median expected crossing, against the target.

    Args:
        state: `curves`.
        cl: confidence level.
        target: the CLs accuracy.

    Returns:
        observed and expected -> {"met": bool, "cls_error": the CLs error at the crossing, or
        None without a crossing, "bracket": the two points' indices, or None}.
    """
    out = {}
    level = 1.0 - cl
    for name, values, errors in _read_off(state):
        i = bracket(values, level)
        error = None if i is None else crossing_error(values, errors, level, i)
        out[name] = {
            "met": error is not None and error <= target,
            "cls_error": error,
            "bracket": None if i is None else [i - 1, i],
        }
    return out


def next_parts(points: dict, parts: list[dict], settings: dict, cl: float) -> list[dict]:
    """The parts the next round adds.

    A part at every point with fewer than `min_toys` toys; once none has, a part at both points
    bracketing each crossing (observed, median expected) whose CLs error is above `cls_accuracy`,
    while `max_toys` allows.

    Args:
        points: the points artifact's fields.
        parts: the parts made so far (point, part).
        settings: the `toys.<model>.limit` entry (cls_accuracy, min_toys, max_toys, toys_per_round).
        cl: confidence level.

    Returns:
        [{"point": k, "part": j}] (empty: the toys are complete).
    """
    if not points["mu"]:
        return []
    size = settings["toys_per_round"]
    count = [sum(1 for p in parts if p["point"] == k) for k in range(len(points["mu"]))]
    wanted = {k for k, c in enumerate(count) if c * size < settings["min_toys"]}
    if not wanted:
        for reached in accuracy(curves(points, parts), cl, settings["cls_accuracy"]).values():
            if reached["bracket"] is not None and not reached["met"]:
                wanted |= set(reached["bracket"])
        wanted = {k for k in wanted if (count[k] + 1) * size <= settings["max_toys"]}
    return [{"point": k, "part": count[k]} for k in sorted(wanted)]


def toy_limits(points: dict, parts: list[dict], cl: float, target: float) -> dict:
    """The toy-based limits, their Monte Carlo errors and the accuracy reached.

    Args:
        points: the points artifact's fields.
        parts: every part (point, q_sb, q_b).
        cl: confidence level.
        target: the configured CLs accuracy.

    Returns:
        `curves`, plus observed_limit, observed_error, expected_limits, expected_errors (BAND
        order; None where there is none), failures (curve -> reason), accuracy, toys (all fitted
        toys: both hypotheses, every point).
    """
    state = curves(points, parts)
    level = 1.0 - cl
    failures = {}

    def limit(name, values, errors):
        found = cls_crossing(state["mu"], values, level, errors)
        if isinstance(found, str):
            failures[name] = found
            return None, None
        return found

    state["observed_limit"], state["observed_error"] = limit("observed", state["cls"], state["cls_error"])
    band = [limit(f"expected {n:+d}σ", state["expected"][j], state["expected_error"][j]) for j, n in enumerate(BAND)]
    state["expected_limits"] = [v for v, _ in band]
    state["expected_errors"] = [e for _, e in band]
    state["failures"] = failures
    state["accuracy"] = accuracy(state, cl, target)
    state["toys"] = int(2 * sum(state["n"]))
    return state
