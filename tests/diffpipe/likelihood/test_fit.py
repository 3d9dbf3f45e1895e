import numpy as np
import pytest
from conftest import ROOT

from diffpipe.likelihood import fit as L
from diffpipe.models import build_model
from diffpipe.workspaces import ModelError

SETTINGS = {"flag_rtol": 0.01, "profile_points": 11, "profile_span_sigma": 3.0, "minos_max_parameters": 60}
COUNTING = {
    "simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]},
    "data": "asimov",
    "bounds": {"mu": [-1.0, 10.0]},
}


@pytest.fixture(scope="module")
def counting_fit():
    return L.analyse(COUNTING, SETTINGS)


def test_autodiff_errors_equal_the_fisher_closed_form(counting_fit):
    s, b, sb = 5.0, 10.0, 3.5
    sigma = dict(zip(counting_fit["parameters"], counting_fit["sigma_autodiff"]))
    assert sigma["mu"] == pytest.approx(np.sqrt(s + b + sb**2) / s, rel=1e-8)
    assert sigma["uncorr_bkguncrt[0]"] == pytest.approx(sb / b, rel=1e-8)
    assert counting_fit["closed_form"]["mu"] == pytest.approx(sigma["mu"], rel=1e-8)


def test_asimov_fit_recovers_the_generating_parameters(counting_fit):
    np.testing.assert_allclose(counting_fit["bestfit"], [1.0, 1.0], atol=1e-10)
    assert counting_fit["convergence"]["newton_converged"]
    assert counting_fit["convergence"]["gradient_norm"] < 1e-10


def test_covariance_is_inverse_hessian_of_nll_not_of_2nll():
    model, data = build_model(COUNTING)
    lik = L.make_likelihood(model, data, COUNTING)
    x = np.array([1.0, 1.0])
    cov = L.hessian_covariance(lik, x)
    hessian_of_lnl = -lik.hess(x)
    notebook = np.linalg.inv(-2 * hessian_of_lnl)  # the notebook's inv(-2 * hessian(logpdf))
    np.testing.assert_allclose(notebook, cov / 2, rtol=1e-12)
    np.testing.assert_allclose(cov @ lik.hess(x), np.eye(2), atol=1e-12)


def test_crosscheck_table_has_hesse_minos_and_profile(counting_fit):
    rows = {r["parameter"]: r for r in counting_fit["crosscheck"]}
    mu = rows["mu"]
    assert mu["sigma_hesse"] == pytest.approx(mu["sigma_autodiff"], rel=1e-2)
    # MINOS and the profile scan measure the same interval.
    assert mu["profile_lower"] == pytest.approx(mu["minos_lower"], rel=1e-3)
    assert mu["profile_upper"] == pytest.approx(mu["minos_upper"], rel=1e-3)
    # The Poisson likelihood is not parabolic: the 68% interval is wider than the Hessian sigma.
    assert mu["flagged"] and "non-parabolic" in mu["reason"]


def test_profile_scan_is_zero_at_the_best_fit_and_one_at_the_interval(counting_fit):
    prof = counting_fit["profile"]
    assert min(prof["delta_2nll"]) < 0.05
    lo, hi = prof["interval_68"]
    assert lo < 1.0 < hi


@pytest.mark.parametrize(
    "name, measurement",
    [
        ("2-bin_1-channel.json", None),
        ("example_bkgonly.json", "GaussExample"),
        ("multichan_coupledhistosys_histfactory.json", None),
    ],
)
def test_example_workspaces_autodiff_matches_minuit_covariance(name, measurement):
    spec = {"workspace": str(ROOT / "resources" / "pyhf" / name), "data": "observed"}
    if measurement:
        spec["measurement"] = measurement
    if name.startswith("2-bin"):
        spec["bounds"] = {"mu": [-5.0, 10.0]}  # the observed best fit sits at pyhf's default bound 0
    result = L.analyse(spec, SETTINGS)
    for row in result["crosscheck"]:
        assert row["sigma_hesse"] == pytest.approx(row["sigma_autodiff"], rel=1e-2), row


def test_unknown_measurement_lists_valid_names():
    spec = {"workspace": str(ROOT / "resources" / "pyhf" / "example_bkgonly.json"), "measurement": "Nope"}
    with pytest.raises(ModelError, match="GaussExample"):
        build_model(spec)


def test_simple_model_has_no_observed_data():
    with pytest.raises(ModelError, match="no observed data"):
        build_model({**COUNTING, "data": "observed"})


def test_minos_runs_for_the_poi_alone_above_minos_max_parameters(counting_fit):
    rows = {r["parameter"]: r for r in counting_fit["crosscheck"]}
    assert all(r["minos_upper"] is not None for r in rows.values())  # 2 parameters <= 60: all
    few = L.analyse(COUNTING, {**SETTINGS, "minos_max_parameters": 1})
    rows = {r["parameter"]: r for r in few["crosscheck"]}
    assert rows["mu"]["minos_upper"] == pytest.approx(counting_fit["crosscheck"][0]["minos_upper"], rel=1e-6)
    assert rows["uncorr_bkguncrt[0]"]["minos_upper"] is None and rows["uncorr_bkguncrt[0]"]["minos_lower"] is None


def test_the_profile_fits_equal_minuit_with_the_parameter_held():
    """profile_nll (the kernel's Newton solve) equals MIGRAD's minimum with the POI held, on a
    workspace with coupled histosys and several nuisance parameters."""
    spec = {"workspace": str(ROOT / "resources/pyhf/multichan_coupledhistosys_histfactory.json"), "data": "observed"}
    model, data = build_model(spec)
    lik = L.make_likelihood(model, data)
    x_hat = L.fit_mle(lik)["x"]
    poi = lik.names.index(model.config.poi_name)
    for value in (0.5 * x_hat[poi], 1.5 * x_hat[poi] + 0.1):
        m = L._minuit(lik, x_hat)
        m.values[poi] = value
        m.fixed[poi] = True
        m.migrad()
        newton = L.profile_nll(lik, poi, value, x_hat)
        assert newton <= m.fval + 1e-7
        assert newton == pytest.approx(m.fval, abs=1e-6)
