"""Inference products against independent references: pyhf (limits, significance) and cabinetry
(impacts, goodness of fit, yields), each computed in its own process with the numpy backend and
MINUIT; finite differences for the yield Jacobian."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from diffpipe.inference.analysis import prepare
from diffpipe.inference.gof import goodness_of_fit
from diffpipe.inference.impacts import impacts
from diffpipe.inference.limits import CLsScan, significance, upper_limits
from diffpipe.inference.yields import yield_table
from diffpipe.models import build_model

REFERENCE = Path(__file__).with_name("reference.py")
MODELS = {
    "counting": {
        "simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]},
        "data": "asimov",
        "bounds": {"mu": [-1.0, 10.0]},
    },
    "two_bin": {"workspace": "resources/pyhf/2-bin_1-channel.json", "data": "observed", "bounds": {"mu": [-5.0, 10.0]}},
    "example_gauss": {
        "workspace": "resources/pyhf/example_bkgonly.json",
        "measurement": "GaussExample",
        "data": "observed",
    },
    "example_patch": {
        "workspace": "resources/pyhf/example_bkgonly.json",
        "patchset": "resources/pyhf/example_patchset.json",
        "patch": "patch_channel1_signal_syst1",
        "measurement": "GaussExample",
        "data": "observed",
    },
}
# Two minima (coupled histosys): from pyhf's default init MINUIT stops in the higher one, so pyhf's
# and cabinetry's numbers there describe a local minimum; it is checked against MINUIT from
# several starts instead (test_profile_is_the_lower_envelope_of_minuit_fits).
MULTICHANNEL = {"workspace": "resources/pyhf/multichan_coupledhistosys_histfactory.json", "data": "observed"}


def reference(spec: dict, uncertainty=None, what: str = "limits,significance,ranking,yields") -> dict:
    out = subprocess.run(
        [sys.executable, str(REFERENCE), json.dumps(spec), json.dumps(uncertainty), what],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", params=list(MODELS))
def case(request, monkeypatch_module=None):
    import os

    os.chdir(ROOT)
    spec = MODELS[request.param]
    model, data = build_model(spec)
    analysis = prepare(model, data, spec)
    scan = CLsScan(analysis)
    ours = {
        "limits": upper_limits(scan, 0.95, curve_points=3),
        "significance": significance(analysis),
        "impacts": {row["parameter"]: row for row in impacts(analysis)},
        "gof": goodness_of_fit(analysis),
        "yields": yield_table(analysis),
    }
    # cabinetry ranks with MINUIT's HESSE errors, which differ from the exact-Hessian errors by up
    # to ~1% for bounded parameters (MINUIT's internal transformation): hand it ours, so that both
    # refit at the same θ̂ ± σ and the comparison tests the refits themselves.
    sigma = np.sqrt(np.diag(analysis.covariance())).tolist()
    return request.param, spec, analysis, ours, reference(spec, sigma)


def test_cls_limits_equal_pyhf_upper_limit(case):
    name, _, _, ours, ref = case
    assert ours["limits"]["failures"] == {}
    assert ours["limits"]["observed"] == pytest.approx(ref["observed"], rel=1e-3), name
    np.testing.assert_allclose(ours["limits"]["expected"], ref["expected"], rtol=1e-3, err_msg=name)


def test_discovery_p_values_equal_pyhf_q0_hypotest(case):
    name, _, _, ours, ref = case
    sig = ours["significance"]
    assert sig["observed_p"] == pytest.approx(ref["p0"], rel=1e-3, abs=1e-9), name
    assert sig["expected_p"] == pytest.approx(ref["p0_expected"], rel=1e-3), name


def test_impacts_equal_cabinetry_ranking(case):
    name, _, analysis, ours, ref = case
    sigma_poi = np.sqrt(analysis.covariance()[analysis.poi, analysis.poi])
    fixed = {n for n, f in zip(analysis.names, analysis.fixed, strict=True) if f}
    assert set(ours["impacts"]) == set(ref["ranking"]) - fixed  # every floating nuisance parameter
    assert all(ref["ranking"][par] == [0.0] * 4 for par in fixed - {analysis.names[analysis.poi]})
    for par, theirs in ref["ranking"].items():
        if par in fixed:
            continue
        row = ours["impacts"][par]
        got = [row["prefit_up"], row["prefit_down"], row["postfit_up"], row["postfit_down"]]
        # 1e-3 relative, with a floor of 1e-3 of the POI's error for impacts near zero
        np.testing.assert_allclose(got, theirs, rtol=1e-3, atol=1e-3 * sigma_poi, err_msg=f"{name} {par}")


def test_linearised_impact_approximates_the_refits(case):
    name, _, _, ours, _ = case
    for par, row in ours["impacts"].items():
        refit = 0.5 * (row["postfit_up"] - row["postfit_down"])
        assert row["linear_postfit"] == pytest.approx(refit, rel=0.35, abs=1e-3), f"{name} {par}"


def test_goodness_of_fit_equals_cabinetry(case):
    name, _, _, ours, ref = case
    assert ours["gof"]["twice_nll"] == pytest.approx(ref["twice_nll"], rel=1e-7), name
    assert ours["gof"]["p_value"] == pytest.approx(ref["gof_p"], rel=1e-5, nan_ok=True), name  # NaN: ndof = 0


def _rows(table, stage, scope, sample="total"):
    return [r for r in table if r["stage"] == stage and r["scope"] == scope and r["sample"] == sample]


def test_yield_uncertainties_equal_cabinetry_at_its_fit(case):
    """The same parameters and covariance as cabinetry's fit, propagated both ways.

    cabinetry propagates symmetric ±σ variations; that equals the Jacobian where the yields are
    linear in each parameter (the counting model, 1e-6). With normsys/histosys interpolation they
    differ by the curvature over ±σ (here below 2%), so there the exact linear propagation is
    checked against finite differences (next test) and cabinetry only to 2%.
    """
    from diffpipe.inference.yields import propagate

    name, _, analysis, _, ref = case
    sigma = np.asarray(ref["uncertainty"])
    cov = np.asarray(ref["corr"]) * np.outer(sigma, sigma)
    _, stdev = propagate(analysis.model, np.asarray(ref["bestfit"]), cov)
    theirs = np.concatenate([np.asarray(c, float) for c in ref["yield_stdev"]], axis=1)  # (samples + 1, bins)
    rtol = 1e-6 if name == "counting" else 2e-2
    np.testing.assert_allclose(stdev, theirs, rtol=rtol, atol=1e-9, err_msg=name)


def test_yield_uncertainties_equal_finite_difference_propagation(case):
    name, _, analysis, ours, _ = case
    best = analysis.best_fit().x[0]
    cov = analysis.covariance()
    model = analysis.model
    step = 1e-6

    def totals(pars):
        by_sample = np.asarray(model.main_model.expected_data(pars, return_by_sample=True))
        return by_sample.sum(axis=0)

    jac = np.stack(
        [
            (totals(best + step * np.eye(len(best))[i]) - totals(best - step * np.eye(len(best))[i])) / (2 * step)
            for i in range(len(best))
        ],
        axis=1,
    )
    fd = np.sqrt(np.einsum("bp,pq,bq->b", jac, cov, jac))
    ours_bins = [
        r["stdev"] for r in ours["yields"] if r["stage"] == "postfit" and r["scope"] == "bin" and r["sample"] == "total"
    ]
    np.testing.assert_allclose(ours_bins, fd, rtol=1e-6, err_msg=name)


def test_profile_is_the_lower_envelope_of_minuit_fits():
    """multichannel: every fit equals the lower of MINUIT's minima from two starts."""
    from diffpipe.fitting import minuit_refit

    model, data = build_model(MULTICHANNEL)
    analysis = prepare(model, data)
    scan = CLsScan(analysis)
    free_x, free_nll = scan.free[False]
    for mu in (0.3, 0.8, 1.3, 2.0):
        scan.qmu(mu, False)
        fixed = analysis.fixed.copy()
        fixed[analysis.poi] = True
        values = analysis.init.copy()
        values[analysis.poi] = mu
        minuit = min(
            minuit_refit(analysis.solver, start, data, fixed, values, scan.bounds)[1]
            for start in (free_x, analysis.init)
        )
        q = 0.0 if scan.free[False][0][analysis.poi] > mu else max(2.0 * (minuit - scan.free[False][1]), 0.0)
        assert scan.evaluated(False)[mu] == pytest.approx(q, abs=1e-6)
    best = min(
        minuit_refit(analysis.solver, s, data, analysis.fixed, analysis.init, scan.bounds)[1]
        for s in (free_x, analysis.init)
    )
    assert scan.free[False][1] == pytest.approx(best, abs=1e-7)
    assert scan.free[False][1] <= free_nll + 1e-9


@pytest.mark.parametrize("name", ["example_patch", "multichannel"])
def test_warm_searches_checked_where_decided_equal_both_starts_everywhere(name):
    """The root searches fit from the warm start alone and run the cold start where each was
    decided. On a likelihood with one minimum (the pyhf example patch) the limits equal those of
    fits from both starts at every μ, for fewer fits; on the coupled-histosys workspace the cold
    start finds a lower minimum there, so the scan falls back to both starts everywhere and gives
    exactly their limits."""
    spec = MULTICHANNEL if name == "multichannel" else MODELS[name]
    analysis = prepare(*build_model(spec), spec)
    checked = CLsScan(analysis)
    ours = upper_limits(checked, curve_points=0)
    everywhere = CLsScan(analysis)
    everywhere.use_both_starts()
    theirs = upper_limits(everywhere, curve_points=0)
    assert not ours["failures"] and not theirs["failures"]
    assert checked.both_starts == (name == "multichannel")
    np.testing.assert_allclose(
        [ours["observed"], *ours["expected"]], [theirs["observed"], *theirs["expected"]], rtol=1e-8, atol=0
    )
    if name == "multichannel":
        assert ours["n_fits"] > theirs["n_fits"]  # the warm searches, then both starts
    else:
        assert ours["n_fits"] < 0.7 * theirs["n_fits"]


def test_a_limit_above_the_poi_bound_widens_it_up_to_the_configured_maximum():
    """The counting model's limits (~1.6-4.4 for the band) with μ bounded by [0, 1]: widened to
    10 they equal those of the model declared with [0, 10]; without widening, or with a maximum
    below them, each is a failure naming the bounds (NaN, never a number)."""
    counting = {**MODELS["counting"], "bounds": {"mu": [0.0, 10.0]}}
    wide = upper_limits(CLsScan(prepare(*build_model(counting), counting)), curve_points=0)
    assert not wide["failures"] and 1.0 < wide["expected"][4] and wide["expected"][0] < 10.0
    narrow = {**counting, "bounds": {"mu": [0.0, 1.0]}}
    analysis = prepare(*build_model(narrow), narrow)
    widened = upper_limits(CLsScan(analysis), curve_points=0, poi_bound_max=100.0)
    assert not widened["failures"]
    assert widened["poi_bounds"] == [0.0, 10.0] and widened["declared_poi_upper"] == 1.0
    np.testing.assert_allclose(
        [widened["observed"], *widened["expected"]], [wide["observed"], *wide["expected"]], rtol=1e-8
    )
    for cap, said in ((None, "up to the POI upper bound 1"), (2.0, "up to the POI upper bound 2 (widened from 1")):
        capped = upper_limits(CLsScan(analysis), curve_points=0, poi_bound_max=cap)
        assert np.isnan(capped["observed"]) and said in capped["failures"]["observed"], capped["failures"]
        within = [v for v in capped["expected"] if np.isfinite(v)]
        assert all(v < (cap or 1.0) for v in within)


def test_toy_goodness_of_fit_agrees_with_a_direct_pyhf_toy_loop(tmp_path):
    """A three-bin counting workspace whose few observed events are in some tension with its
    shape: our toy p-value (toys at the best fit, batched fits) against pyhf's own loop (its
    pdf's samples at its best fit, each fitted by pyhf with scipy; the saturated model from
    pyhf's constraint pdf), within four combined binomial errors."""
    import pyhf
    from scipy.special import gammaln

    from diffpipe.inference.gof import constraint_maximising_parameters, toy_p_value

    samples = [
        {"name": "signal", "data": [1.0, 2.0, 4.0], "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
        {
            "name": "background",
            "data": [6.0, 5.0, 4.0],
            "modifiers": [{"name": "bkg_norm", "type": "normsys", "data": {"hi": 1.2, "lo": 0.8}}],
        },
    ]
    workspace = {
        "channels": [{"name": "sr", "samples": samples}],
        "observations": [{"name": "sr", "data": [11.0, 2.0, 6.0]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }
    (tmp_path / "ws.json").write_text(json.dumps(workspace))
    spec = {"workspace": str(tmp_path / "ws.json"), "data": "observed", "bounds": {"mu": [0.0, 10.0]}}
    model, data = build_model(spec)
    analysis = prepare(model, data, spec)
    observed = goodness_of_fit(analysis)
    ours = toy_p_value(analysis, observed["chi2"], 2000, 0, "tension")
    assert ours["toys_converged"] == 2000

    bounds = [list(b) for b in model.config.suggested_bounds()]
    bounds[model.config.poi_index] = spec["bounds"]["mu"]
    init = np.asarray(model.config.suggested_init(), float)
    best = pyhf.infer.mle.fit(data, model, par_bounds=bounds)
    nmain = model.config.nmaindata
    toys = np.asarray(model.make_pdf(pyhf.tensorlib.astensor(best)).sample((300,)), float)

    def statistic(dataset):
        _, twice_nll = pyhf.infer.mle.fit(dataset, model, par_bounds=bounds, return_fitted_val=True)
        main, aux = dataset[:nmain], dataset[nmain:]
        poisson = np.sum(main * np.log(np.where(main > 0, main, 1.0)) - main - gammaln(main + 1.0))
        pars = constraint_maximising_parameters(model, aux, init)
        constraint = float(np.asarray(model.constraint_logpdf(aux, pars)).reshape(-1)[0])
        return float(twice_nll) + 2.0 * (poisson + constraint)

    assert statistic(data) == pytest.approx(observed["chi2"], rel=1e-5, abs=1e-6)
    theirs = np.mean([statistic(t) >= observed["chi2"] for t in toys])
    error = np.hypot(ours["toy_p_error"], np.sqrt(theirs * (1 - theirs) / len(toys)))
    assert abs(ours["toy_p_value"] - theirs) < 4 * error, (ours, theirs)
    assert 0.02 < theirs < 0.98  # a p-value the test can resolve
