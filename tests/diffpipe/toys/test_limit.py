"""The toy-based limit: the limit against the asymptotic one where counts are large, the stated
Monte Carlo error against the spread over seeds, the stopping rule, and the interpolation with
its error propagation (its toys against pyhf's ToyCalculator: test_toys.py)."""

import numpy as np
import pytest

from diffpipe.teststat import MEDIAN, cls_crossing, crossing_error
from diffpipe.toys.limit import curves, limit_points, next_parts, toy_limits
from diffpipe.toys.limit_fits import LimitFits

COUNTING = {"simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]}, "data": "asimov"}
# many events: the asymptotic formulae hold
LARGE = {"simple": {"signal": [60.0], "background": [900.0], "background_uncertainty": [9.0]}, "data": "asimov"}


def run_rounds(fits: LimitFits, mu: list[float], settings: dict, seed: int, cl: float = 0.95) -> dict:
    """The pipeline's rounds in one process: points, then parts until a round adds none."""
    points = fits.points(mu)
    parts = []
    while todo := next_parts(points, parts, settings, cl):
        parts += [fits.part(seed, points, p["point"], p["part"], settings["toys_per_round"]) for p in todo]
    result = toy_limits(points, parts, cl, settings["cls_accuracy"])
    result["parts"] = parts
    return result


@pytest.fixture(scope="module")
def counting_fits():
    """The counting model's solver and sampler, compiled once for the module's tests."""
    return LimitFits("c", COUNTING, 5.0)


def asymptotic_limits(spec: dict) -> dict:
    from diffpipe.inference.analysis import prepare
    from diffpipe.inference.limits import CLsScan, upper_limits
    from diffpipe.models import build_model

    model, data = build_model(spec)
    return upper_limits(CLsScan(prepare(model, data, spec)), 0.95, curve_points=3)


def test_the_limit_equals_the_asymptotic_one_where_counts_are_large():
    """900 background events: the toy-based observed and median expected limits equal the
    asymptotic ones within three of their Monte Carlo errors plus 1% (the asymptotic formulae's
    own approximation at this size)."""
    asym = asymptotic_limits(LARGE)
    mu = limit_points(asym["observed"], asym["expected"][1:4], 6, margin=0.15)
    settings = {"cls_accuracy": 0.006, "min_toys": 2000, "max_toys": 8000, "toys_per_round": 2000}
    result = run_rounds(LimitFits("large", LARGE, max(mu)), mu, settings, seed=5)
    assert result["accuracy"]["observed"]["met"] and result["accuracy"]["expected"]["met"]
    for ours, error, theirs in (
        (result["observed_limit"], result["observed_error"], asym["observed"]),
        (result["expected_limits"][MEDIAN], result["expected_errors"][MEDIAN], asym["expected"][MEDIAN]),
    ):
        assert abs(ours - theirs) <= 3 * error + 0.01 * theirs, (ours, error, theirs)


def test_the_stated_error_matches_the_spread_over_seeds(counting_fits):
    """Eight repeats with different seeds (fixed toys per point, so that the stopping rule does
    not select the repeats): the standard deviation of the observed limits over the repeats
    equals the stated Monte Carlo error within the spread expected of eight samples."""
    mu = [2.2, 2.6, 3.0, 3.4, 3.8]
    settings = {"cls_accuracy": 0.5, "min_toys": 800, "max_toys": 800, "toys_per_round": 800}
    runs = [run_rounds(counting_fits, mu, settings, seed) for seed in range(8)]
    limits = np.array([r["observed_limit"] for r in runs])
    stated = np.sqrt(np.mean([r["observed_error"] ** 2 for r in runs]))
    ratio = limits.std(ddof=1) / stated
    # the sample standard deviation of 8 normal draws lies within [0.45, 1.55] σ with ~98% probability
    assert 0.45 <= ratio <= 1.55, (limits, stated)


def test_rounds_add_toys_where_the_limits_are_read_off_until_the_target(counting_fits):
    """The first round reaches min_toys everywhere; the later ones add toys only at the points
    bracketing the observed and the median expected crossing, until the CLs error at the
    crossing meets the target; max_toys caps them; a tighter target only adds parts."""
    mu = [1.0, 2.0, 3.0, 4.0, 5.0]
    fits = counting_fits
    loose = {"cls_accuracy": 0.01, "min_toys": 400, "max_toys": 4000, "toys_per_round": 400}
    result = run_rounds(fits, mu, loose, seed=1)
    n = np.array(result["n"])
    assert n.min() == 400 and n.max() > 400
    brackets = set()
    for values in (result["cls"], result["expected"][MEDIAN]):
        i = next(i for i in range(1, len(mu)) if values[i - 1] >= 0.05 > values[i])
        brackets |= {i - 1, i}
    assert set(np.flatnonzero(n > 400)) <= brackets
    assert result["accuracy"]["observed"]["met"] and result["accuracy"]["expected"]["met"]
    tight = run_rounds(fits, mu, {**loose, "cls_accuracy": 0.003}, seed=1)
    made = {(p["point"], p["part"]) for p in result["parts"]}
    assert made < {(p["point"], p["part"]) for p in tight["parts"]}
    assert max(tight["n"]) == 4000 and not tight["accuracy"]["observed"]["met"]  # capped before the target
    for p in result["parts"]:  # a part is the same toys whatever round made it
        same = next(q for q in tight["parts"] if (q["point"], q["part"]) == (p["point"], p["part"]))
        np.testing.assert_array_equal(same["q_sb"], p["q_sb"])


def test_crossing_interpolates_ln_cls_and_propagates_the_errors():
    mu = [1.0, 2.0, 3.0]
    cls = list(np.exp(-1.5 * np.array(mu)))  # ln CLs linear in μ: the interpolation is exact
    errors = [0.01, 0.004, 0.002]
    limit, error = cls_crossing(mu, cls, 0.05, errors)
    assert limit == pytest.approx(-np.log(0.05) / 1.5, rel=1e-12)
    # the error: the derivative of the crossing with respect to each CLs, by central differences
    i = 1  # the bracket: CLs(1) = 0.22 ≥ 0.05 > CLs(2) = 0.0498
    grads = []
    for k in (i - 1, i):
        step = 1e-7 * cls[k]
        up, down = list(cls), list(cls)
        up[k] += step
        down[k] -= step
        grads.append((cls_crossing(mu, up, 0.05, errors)[0] - cls_crossing(mu, down, 0.05, errors)[0]) / (2 * step))
    assert error == pytest.approx(np.hypot(grads[0] * errors[0], grads[1] * errors[1]), rel=1e-5)
    # the CLs error at the crossing is the limit's error times the slope of CLs there
    slope = 0.05 * 1.5  # |dCLs/dμ| at the crossing of exp(-1.5 μ)
    assert crossing_error(cls, errors, 0.05, i) == pytest.approx(error * slope, rel=1e-12)
    linear = cls_crossing(mu, [0.5, 0.1, 0.0], 0.05, errors)  # CLs 0 past the crossing: linear there
    assert linear[0] == pytest.approx(2.5)
    assert "stays above" in cls_crossing(mu, [0.9, 0.5, 0.2], 0.05, errors)


def test_points_span_the_asymptotic_limits_and_a_failed_one_is_named():
    assert limit_points(2.0, [1.0, 1.5, 2.0, 3.0, 4.0], 5, margin=0.25) == pytest.approx(
        [0.75, 1.8125, 2.875, 3.9375, 5.0]
    )
    assert limit_points(None, [None, 1.0, 2.0, None, None], 2, margin=0.0) == pytest.approx([1.0, 2.0])
    with pytest.raises(ValueError, match="asymptotic limits failed"):
        limit_points(None, [None] * 5, 4)


def test_without_points_every_limit_is_a_named_failure():
    result = toy_limits({"mu": [], "qmu_observed": []}, [], 0.95, 0.01)
    assert result["observed_limit"] is None and result["expected_limits"] == [None] * 5
    assert len(result["failures"]) == 6 and set(result["failures"].values()) == {"no μ points to read a limit off"}
    assert not result["accuracy"]["observed"]["met"] and result["toys"] == 0


def test_points_without_toys_ask_for_them_first():
    points = {"mu": [1.0, 2.0], "qmu_observed": [0.5, 2.0]}
    settings = {"cls_accuracy": 0.01, "min_toys": 200, "max_toys": 400, "toys_per_round": 200}
    assert next_parts(points, [], settings, 0.95) == [{"point": 0, "part": 0}, {"point": 1, "part": 0}]
    state = curves(points, [])
    assert state["n"] == [0, 0] and np.isinf(state["cls_error"]).all()
    assert next_parts({"mu": [], "qmu_observed": []}, [], settings, 0.95) == []
