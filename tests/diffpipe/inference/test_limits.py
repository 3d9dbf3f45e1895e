"""The CLs root finder and its levels (analytic functions; the limits themselves are checked
against pyhf in test_inference and test_signal)."""

import math

import numpy as np
import pytest

from diffpipe.inference.limits import _z, expected_crossing
from diffpipe.teststat import BAND, XTOL, increasing_root, log_cls_of_t


class Counted:
    """A function that counts its evaluations."""

    def __init__(self, func):
        self.func, self.calls = func, []

    def __call__(self, mu):
        self.calls.append(mu)
        return self.func(mu)


@pytest.mark.parametrize("n", BAND)
@pytest.mark.parametrize("level", [0.05, 0.1, 0.32])
def test_expected_crossing_is_where_the_expected_cls_reaches_the_level(n, level):
    assert math.exp(log_cls_of_t(float(n), expected_crossing(n, level))) == pytest.approx(level, rel=1e-12)


def test_z_is_the_upper_tail_quantile_and_stays_finite():
    assert _z(math.log(0.05)) == pytest.approx(1.6448536269514722, rel=1e-12)
    assert _z(math.log(0.5)) == pytest.approx(0.0, abs=1e-15)
    assert _z(0.0) == -40.0 and _z(-math.inf) == 40.0
    assert _z(-2000.0) == 40.0  # Φ⁻¹ there is ~63: clipped


@pytest.mark.parametrize(
    ("func", "root"),
    [
        (lambda m: 3.0 * m - 1.0, 1.0 / 3.0),  # linear: the Gaussian case
        (lambda m: math.sqrt(m) * 3.0 - 1.0, 1.0 / 9.0),  # curved
        (lambda m: math.expm1(4.0 * m) - 3.0, math.log(4.0) / 4.0),  # convex, steep
        (lambda m: math.tanh(200.0 * (m - 0.3)), 0.3),  # nearly a step: bisection must take over
    ],
)
def test_root_finds_the_crossing_to_the_stated_precision(func, root):
    counted = Counted(func)
    value, why = increasing_root(counted, guess=0.2, upper=100.0, what="f < 0")
    assert why == "" and value == pytest.approx(root, rel=10 * XTOL)
    assert len(counted.calls) < 60


def test_root_converges_in_few_evaluations_on_a_near_linear_function():
    counted = Counted(lambda m: 2.0 * m + 0.05 * m**2 - 1.0)
    value, _ = increasing_root(counted, guess=0.3, upper=100.0, what="f < 0")
    assert value == pytest.approx((-2.0 + math.sqrt(4.0 + 0.2)) / 0.1, rel=1e-9)
    # bracket: lo, 0.3, 0.6; then at most 4 interpolation steps
    assert len(counted.calls) <= 7


def test_root_starts_from_known_values_without_evaluating_them_again():
    line = Counted(lambda m: m - 0.4)
    known = {m: m - 0.4 for m in (0.1, 0.35, 0.45, 2.0)}
    value, _ = increasing_root(line, guess=1e3, upper=1e4, what="f < 0", known=known)
    assert value == pytest.approx(0.4, rel=1e-9)
    assert set(line.calls).isdisjoint(known) and len(line.calls) <= 2


def test_root_failures_say_why_and_return_nan():
    value, why = increasing_root(lambda m: 1.0, guess=0.5, upper=10.0, what="CLs > 0.05")
    assert np.isnan(value) and why == "CLs > 0.05 fails already at mu = 0.0005"
    value, why = increasing_root(lambda m: -1.0, guess=0.5, upper=10.0, what="CLs > 0.05")
    assert np.isnan(value) and why == "CLs > 0.05 up to the POI upper bound 10"
