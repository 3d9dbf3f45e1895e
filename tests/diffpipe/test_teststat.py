"""The shared statistics: one band, one asymptotic CLs, one rule for reading a limit off CLs points."""

import math

import numpy as np
import pyhf
import pytest

from diffpipe.teststat import BAND, MEDIAN, cls_crossing, log_cls, pyhf_teststat


def test_the_band_is_pyhfs_order_with_the_median_in_the_middle():
    assert BAND == (2, 1, 0, -1, -2) and BAND[MEDIAN] == 0


@pytest.mark.parametrize("statistic", ["qtilde", "q"])
@pytest.mark.parametrize(("q", "qa"), [(0.8, 2.5), (6.0, 2.5), (30.0, 3.0)])
def test_asymptotic_cls_is_pyhfs(statistic, q, qa):
    """ln CLs against pyhf's own asymptotic distributions (its AsymptoticTestStatDistribution)."""
    from pyhf.infer.calculators import AsymptoticTestStatDistribution

    pyhf.set_backend("numpy")
    t = pyhf_teststat(q, qa, statistic)
    sqa = math.sqrt(qa)
    clsb = AsymptoticTestStatDistribution(-sqa).pvalue(t)
    clb = AsymptoticTestStatDistribution(0.0).pvalue(t)
    assert math.exp(log_cls(q, qa, statistic)) == pytest.approx(float(clsb / clb), rel=1e-10)


def test_a_crossing_is_exact_on_an_exponential_cls_curve():
    """CLs = exp(-a μ) between points far apart: the chord in ln CLs lands on the root, a chord in
    CLs would be off by percent (why both toy products read limits this way)."""
    mu = [0.0, 1.0, 2.0, 3.0]
    cls = [math.exp(-1.3 * m) for m in mu]
    limit, error = cls_crossing(mu, cls, 0.05)
    assert limit == pytest.approx(-math.log(0.05) / 1.3, rel=1e-12) and error is None
    i = 3  # the bracketing pair (2, 3)
    in_cls = mu[i - 1] + (cls[i - 1] - 0.05) / (cls[i - 1] - cls[i])
    assert abs(in_cls / limit - 1) > 0.01
    assert isinstance(cls_crossing(mu, [1.0, 0.9, 0.8, 0.7], 0.05), str)
    assert cls_crossing([0.0, 1.0], [0.5, 0.0], 0.05)[0] == pytest.approx(0.9)  # a zero: linear in CLs
    np.testing.assert_allclose(cls_crossing(mu, cls, 0.05, [0.0] * 4), (limit, 0.0))
