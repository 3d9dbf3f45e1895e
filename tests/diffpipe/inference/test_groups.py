"""Grouped impacts: refits against the covariance (exact on a Gaussian likelihood, within 5% on
the 3L eRJR patch), the groups' resolution and the quadrature sums."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from diffpipe.configcheck.stages import unknown_items
from diffpipe.inference.analysis import Analysis, prepare
from diffpipe.inference.groups import STAT, TOTAL, grouped_impacts, quadrature_sum, resolve_groups
from diffpipe.models import build_model
from diffpipe.runtime import enable_float64
from diffpipe.solver import Solver

THREE_L = {
    "workspace": "resources/published/ATLAS-SUSY-2018-06_3L-eRJR/BkgOnly.json",
    "patchset": "resources/published/ATLAS-SUSY-2018-06_3L-eRJR/patchset.json",
    "patch": "ERJR_300p0_100p0",
    "data": "observed",
}


class Names:
    """The part of a pyhf model `Analysis.names` reads."""

    def __init__(self, names):
        self.config = type("Config", (), {"par_names": names})()


def gaussian_analysis() -> Analysis:
    """-ln L = ½ (θ - m)ᵀ A (θ - m) over (μ, a, b, c), correlated: an exactly Gaussian likelihood."""
    enable_float64()
    rng = np.random.default_rng(3)
    root = rng.normal(size=(4, 4))
    hess = root @ root.T + 4 * np.eye(4)
    centre = np.array([1.0, 0.2, -0.3, 0.1])
    h, m = jnp.asarray(hess), jnp.asarray(centre)

    def nll(pars, data, numbers=None):
        d = pars - m
        return 0.5 * d @ h @ d

    bounds = np.array([[-50.0, 50.0]] * 4)
    return Analysis(
        model=Names(["mu", "a", "b", "c"]),
        data=np.zeros(1),
        bounds=bounds,
        init=np.zeros(4),
        fixed=np.zeros(4, bool),
        poi=0,
        solver=Solver(nll, bounds),
    )


def test_refits_equal_the_covariance_breakdown_on_a_gaussian_likelihood():
    analysis = gaussian_analysis()
    rows = grouped_impacts(analysis, {"ab": ["a", "b"], "c": ["c"]})
    assert [r["group"] for r in rows] == [TOTAL, "ab", "c", STAT]
    cov = np.linalg.inv(analysis.best_fit().hessian[0])
    assert rows[0]["sigma"] == pytest.approx(math.sqrt(cov[0, 0]), rel=1e-6)
    assert rows[-1]["sigma"] == pytest.approx(1.0 / math.sqrt(analysis.best_fit().hessian[0][0, 0]), rel=1e-6)
    for row in rows:
        assert row["converged"]
        assert row["sigma_up"] == pytest.approx(-row["sigma_down"], rel=1e-6)
        assert row["sigma"] == pytest.approx(row["sigma_covariance"], rel=1e-6)
        assert row["impact"] == pytest.approx(row["impact_covariance"], rel=1e-6, abs=1e-9)
    assert rows[0]["impact"] == pytest.approx(0.0, abs=1e-6)
    assert quadrature_sum(rows, "impact") == pytest.approx(quadrature_sum(rows, "impact_covariance"), rel=1e-6)


def test_groups_resolve_by_name_vector_and_kind_and_automatically():
    model, _ = build_model(THREE_L)
    groups = resolve_groups(model, {"lumi": ["lumi"], "norm": ["kind:normfactor"], "mc": ["kind:shapesys"]})
    assert groups["lumi"] == ["lumi"]
    assert set(groups["norm"]) == {"mu_WZISR", "mu_WZLow"}  # never the POI
    assert len(groups["mc"]) == 24 and all(n.startswith("shape_mcstat") for n in groups["mc"])
    auto = resolve_groups(model, None)
    assert set(auto) >= {"normsys", "histosys+normsys", "shapesys", "normfactor", "lumi"}
    flat = [n for names in auto.values() for n in names]
    # automatic groups partition the parameters other than the POI
    assert sorted(flat) == sorted(n for n in model.config.par_names if n != "mu_SIG")
    pars = (list(model.config.par_names), list(model.config.par_order), {"normsys", "lumi"})
    assert unknown_items([pars], {"a": ["lumi", "kind:staterror", "JES"], "b": ["kind:lumi"]}) == {
        "a": ["kind:staterror", "JES"]
    }


def test_the_3l_breakdown_by_refits_is_within_5_percent_of_the_covariance_one():
    model, data = build_model(THREE_L)
    analysis = prepare(model, data, THREE_L)
    rows = grouped_impacts(analysis, resolve_groups(model, None))
    by_group = {r["group"]: r for r in rows}
    for row in rows:
        assert row["converged"], row
        assert row["sigma"] == pytest.approx(row["sigma_covariance"], rel=0.05), row
        assert row["sigma_down"] is not None  # the lower end below the POI's bound 0 is found
    assert by_group[STAT]["sigma"] < by_group[TOTAL]["sigma"]
    # the groups overlap (histosys+normsys, normsys, histosys are disjoint here) and correlate:
    # stat ⊕ groups is near the total, not equal to it
    assert quadrature_sum(rows, "impact") == pytest.approx(by_group[TOTAL]["sigma"], rel=0.1)
