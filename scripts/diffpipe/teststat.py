"""The test statistics' shared rules: which POI bounds their fits use, and pyhf's asymptotic t.

Shared by the asymptotic limits and significance (inference), their gradients (implicit) and the
toys, so q̃μ and qμ mean one thing everywhere (Cowan, Cranmer, Gross, Vitells, arXiv:1007.1727;
pyhf's `infer.test_statistics` and `AsymptoticCalculator`).
"""

import math

import numpy as np

TEST_STATISTICS = ("qtilde", "q")


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
