"""Pseudo-experiments: sampling from the full pdf, sharding invariance, agreement with MINUIT, coverage."""

import numpy as np
import pytest
from conftest import ROOT

from diffpipe.compiled import make_nll
from diffpipe.fitting import minuit_refit
from diffpipe.models import build_model, parameter_setup
from diffpipe.sampling import TOY_STARTS, make_sampler, sample_toys, toy_starts
from diffpipe.solver import Solver
from diffpipe.toys.coverage import NOMINAL, binomial, coverage, verdict
from diffpipe.toys.shard import run_shard, true_parameters

COUNTING = {
    "simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]},
    "data": "asimov",
    "bounds": {"mu": [-1.0, 10.0]},
}
GAUSS = {
    "workspace": str(ROOT / "resources/pyhf/example_bkgonly.json"),
    "measurement": "GaussExample",
    "data": "observed",
}


@pytest.mark.parametrize("spec", [COUNTING, GAUSS], ids=["counting", "gauss"])
def test_toys_are_drawn_from_the_full_pdf(spec):
    model, _ = build_model(spec)
    truth = true_parameters(model, {})
    toys = sample_toys(make_sampler(model), 5, "m", np.arange(20000), truth)
    expected = np.asarray(model.expected_data(truth))  # main and auxiliary expectations
    spread = toys.std(axis=0) / np.sqrt(len(toys))
    assert np.all(np.abs(toys.mean(axis=0) - expected) < 5 * spread + 1e-12)
    nmain = model.config.nmaindata
    np.testing.assert_allclose(toys[:, :nmain].var(axis=0), expected[:nmain], rtol=0.05)  # Poisson


def test_a_toy_is_the_same_whatever_the_sharding():
    whole = run_shard("counting", COUNTING, {"seed": 7}, 0, 300)
    parts = [run_shard("counting", COUNTING, {"seed": 7}, a, b) for a, b in ((0, 75), (75, 200), (200, 300))]
    for key in ("bestfit", "twice_nll", "sigma", "twice_nll_true"):
        joined = np.concatenate([p[key] for p in parts])
        np.testing.assert_allclose(joined, whole[key], rtol=1e-12, atol=1e-12, equal_nan=True)
    merged = coverage(parts)
    assert merged["hessian"] == coverage([whole])["hessian"] and merged["profile"] == coverage([whole])["profile"]


def test_a_shard_in_chunks_equals_it_in_one_and_logs_its_progress(monkeypatch, caplog):
    import diffpipe.toys.shard as shard

    whole = run_shard("counting", COUNTING, {"seed": 7}, 0, 300)
    monkeypatch.setattr(shard, "MIN_CHUNK", 64)
    monkeypatch.setattr(shard, "CHUNK_LANES", 0)
    with caplog.at_level("INFO", logger="diffpipe"):
        chunked = run_shard("counting", COUNTING, {"seed": 7}, 0, 300)  # 5 chunks of 60
    for key in ("index", "bestfit", "twice_nll", "sigma", "twice_nll_true", "converged", "outside", "steps"):
        np.testing.assert_allclose(chunked[key], whole[key], rtol=1e-12, atol=1e-12, equal_nan=True)
    assert chunked["refitted"] == whole["refitted"] == 0 and chunked["refit_max_s"] == whole["refit_max_s"] == 0.0
    lines = [r.getMessage() for r in caplog.records if "done" in r.getMessage()]
    assert len(lines) == 5 and lines[0].startswith("counting toys 0-300: 60 of 300 done") and "300 of 300" in lines[-1]


@pytest.mark.parametrize("spec", [COUNTING, GAUSS], ids=["counting", "gauss"])
def test_batched_toy_fits_equal_minuit(spec):
    """200 random toys: 2NLL within 1e-6 and the POI within 1e-4 of its error."""
    result = run_shard("m", spec, {"seed": 11}, 0, 1000)
    model, _ = build_model(spec)
    setup = parameter_setup(model, spec)
    solver = Solver(make_nll(model), setup.bounds)
    truth = np.asarray(result["truth"])
    data = sample_toys(make_sampler(model), 11, "m", np.arange(1000), truth)
    poi = model.config.poi_index
    for i in np.random.default_rng(0).choice(1000, 200, replace=False):
        x, nll, valid = minuit_refit(
            solver, np.asarray(setup.init), data[i], np.asarray(setup.fixed), truth, setup.bounds
        )
        assert valid
        assert result["twice_nll"][i] == pytest.approx(2 * nll, abs=1e-6)
        assert abs(result["bestfit"][i][poi] - x[poi]) <= 1e-4 * result["sigma"][i][poi]


def test_coverage_arithmetic_and_verdicts():
    assert binomial(np.array([True, False, True, True])) == {
        "value": 0.75,
        "error": pytest.approx(np.sqrt(0.75 * 0.25 / 4)),
        "n": 4,
    }
    assert verdict({"value": NOMINAL, "error": 0.01}) == "covers"
    assert verdict({"value": 0.60, "error": 0.01}) == "under-covers"
    assert verdict({"value": 0.75, "error": 0.01}) == "over-covers"
    rng = np.random.default_rng(0)
    n = 4000
    mu = rng.normal(1.0, 1.0, n)
    shard = {
        "index": np.arange(n),
        "bestfit": mu[:, None],
        "twice_nll": np.zeros(n),
        "sigma": np.ones((n, 1)),
        "twice_nll_true": (mu - 1.0) ** 2,  # a parabola: the profile interval is the Hessian one
        "converged": np.ones(n, bool),
        "outside": np.zeros(n, bool),
        "truth": [1.0],
        "parameters": ["mu"],
        "poi": "mu",
        "refitted": 0,
    }
    out = coverage([shard])
    assert out["n_outside"] == 0 and out["n_converged"] == n
    assert out["hessian"]["value"] == out["profile"]["value"] == pytest.approx(np.mean(np.abs(mu - 1) <= 1))
    assert out["hessian"]["verdict"] == "covers"
    assert out["pulls"][0]["mean"] == pytest.approx(np.mean(mu - 1)) and out["pulls"][0]["width"] == pytest.approx(
        np.std(mu, ddof=1)
    )


@pytest.fixture(scope="module")
def pyhf_toys_at_2():
    """pyhf's ToyCalculator at μ = 2 of the counting model (400 toys per hypothesis, own process)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    spec = {k: v for k, v in COUNTING.items() if k != "bounds"}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("pyhf_toys.py")), json.dumps(spec), "2.0", "400"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return spec, json.loads(out.stdout.strip().splitlines()[-1])


def test_toy_cls_distributions_match_pyhf_toycalculator(pyhf_toys_at_2):
    """q̃μ under s+b and b-only at μ = 2: same distributions as pyhf's (two-sample KS), and CLs+b,
    CLb within their Monte Carlo errors; the observed q̃μ equals pyhf's."""
    from scipy.stats import ks_2samp

    from diffpipe.toys.hypotest import pvalue, toy_cls

    spec, ref = pyhf_toys_at_2
    ours = toy_cls("c", spec, [2.0, 3.0], 3000, seed=2)
    assert ours["qmu_observed"][0] == pytest.approx(ref["q_obs"], abs=1e-6)
    for hyp in ("sb", "b"):
        mine, theirs = np.asarray(ours["samples"][0][hyp]), np.asarray(ref[hyp])
        assert ks_2samp(mine, theirs).pvalue > 1e-3, hyp
        p_mine, p_theirs = pvalue(mine, ref["q_obs"]), pvalue(theirs, ref["q_obs"])
        error = np.sqrt(p_theirs * (1 - p_theirs) / len(theirs) + p_mine * (1 - p_mine) / len(mine))
        assert abs(p_mine - p_theirs) <= 4 * error + 1e-9, hyp


def test_toy_limit_cls_and_its_error_at_a_point_agree_with_pyhf_toycalculator(pyhf_toys_at_2):
    """The toy-based limit's toys at μ = 2: the data's q̃μ equals pyhf's, and CLs, CLs+b, CLb from
    3000 of its toys agree with those from pyhf's 400 within their combined binomial errors (the
    errors `toys.limit.point_cls` states)."""
    from diffpipe.toys.limit import point_cls
    from diffpipe.toys.limit_fits import LimitFits

    spec, ref = pyhf_toys_at_2
    fits = LimitFits("c", spec, 2.0)
    points = fits.points([2.0])
    assert points["qmu_observed"][0] == pytest.approx(ref["q_obs"], abs=1e-6)
    part = fits.part(4, points, 0, 0, 3000)
    ours = point_cls(points["qmu_observed"][0], part["q_sb"], part["q_b"])
    theirs = point_cls(ref["q_obs"], np.asarray(ref["sb"]), np.asarray(ref["b"]))
    assert ours["n_sb"] == 3000 and theirs["n_b"] == 400
    assert abs(ours["cls"] - theirs["cls"]) <= 4 * np.hypot(ours["cls_error"], theirs["cls_error"])
    for key in ("clsb", "clb"):
        n = np.array([3000, 400])
        p = np.array([ours[key], theirs[key]])
        assert abs(p[0] - p[1]) <= 4 * np.sqrt(np.sum(p * (1 - p) / n)) + 1e-9, key


def test_hessian_errors_flag_singular_and_non_positive_hessians():
    from diffpipe.toys.shard import hessian_errors

    good = np.array([[4.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
    singular = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    near = np.array([[1.0, 1.0 - 1e-15, 0.0], [1.0 - 1e-15, 1.0, 0.0], [0.0, 0.0, 1.0]])  # cond ~ 1e15
    negative = np.array([[-1.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 1.0]])
    broken = np.full((3, 3), np.nan)
    floating = np.array([True, True, False])
    errors = hessian_errors(np.stack([good, singular, near, negative, broken, good]), floating)
    expected = np.sqrt(np.diag(np.linalg.inv(good[:2, :2])))
    np.testing.assert_allclose(errors[0, :2], expected, rtol=1e-12)
    np.testing.assert_allclose(errors[5, :2], expected, rtol=1e-12)
    assert np.isnan(errors[:, 2]).all()  # held
    assert np.isnan(errors[1:3, :2]).all() and np.isnan(errors[4]).all()  # (near) singular, NaN
    assert np.isnan(errors[3, 0]) and errors[3, 1] == pytest.approx(0.5)  # negative variance


def test_toys_whose_fit_leaves_the_domain_are_nan_in_qmu_and_left_out_of_cls():
    from conftest import falling_bin_model

    from diffpipe.fitting import Fitter
    from diffpipe.toys.limit import point_cls

    model, data = falling_bin_model()
    toys = np.tile(data, (3, 1))
    toys[1, 0] = 2.0  # events in the falling bin: its expected count cannot go below zero
    toys[2, 0] = 1.0
    q, refitted = Fitter.of(model).qmu(toys, 1.0)
    assert np.isnan(q[0]) and np.isfinite(q[1:]).all() and refitted == 0
    rng = np.random.default_rng(3)
    q_sb, q_b = rng.chisquare(1, 400), rng.chisquare(1, 400)
    with_nan = point_cls(1.0, np.concatenate([q_sb, [np.nan] * 7]), np.concatenate([[np.nan] * 3, q_b]))
    assert with_nan == point_cls(1.0, q_sb, q_b) and with_nan["n_sb"] == with_nan["n_b"] == 400


@pytest.mark.parametrize("spec", [COUNTING, GAUSS], ids=["counting (Poisson term)", "gauss (Gaussian terms)"])
def test_an_auxdata_start_puts_each_constrained_parameter_at_its_toys_constraint_maximum(spec):
    model, _ = build_model(spec)
    setup = parameter_setup(model, spec)
    init, bounds = np.asarray(setup.init, float), np.asarray(setup.bounds, float)
    toys = sample_toys(make_sampler(model), 3, "m", np.arange(50), true_parameters(model, {}))
    fixed = np.zeros(len(init), bool)
    fixed[-1] = True  # a held parameter stays at its init value
    np.testing.assert_array_equal(toy_starts(model, "suggested", init, toys, fixed, bounds), init)
    starts = toy_starts(model, "auxdata", init, toys, fixed, bounds)
    assert starts.shape == (50, len(init))
    config, aux = model.config, toys[:, model.config.nmaindata :]
    offset = 0
    for name in config.auxdata_order:  # pyhf's own layout of the auxiliary data, independently of the kernel's
        pset, where = config.param_set(name), config.par_slice(name)
        for k in range(pset.n_parameters):
            p = where.start + k
            factor = pset.factors[k] if pset.pdf_type == "poisson" else 1.0
            expected = init[p] if fixed[p] else np.clip(aux[:, offset + k] / factor, *bounds[p])
            np.testing.assert_allclose(starts[:, p], expected, rtol=1e-12)
        offset += pset.n_parameters
    poi = config.poi_index
    np.testing.assert_array_equal(starts[:, poi], init[poi])  # no constraint term: its init
    with pytest.raises(ValueError, match="unknown toy start"):
        toy_starts(model, "midpoint", init, toys, fixed, bounds)


def test_toys_started_at_their_auxdata_reach_the_same_minima_in_fewer_steps():
    runs = {start: run_shard("gauss", GAUSS, {"seed": 4, "start": start}, 0, 200) for start in TOY_STARTS}
    sugg, aux = runs["suggested"], runs["auxdata"]
    assert sugg["converged"].all() and aux["converged"].all()
    np.testing.assert_allclose(aux["twice_nll"], sugg["twice_nll"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(aux["twice_nll_true"], sugg["twice_nll_true"], rtol=0, atol=1e-8)
    assert aux["steps"].mean() < sugg["steps"].mean()


def test_free_fits_from_the_init_start_more_damped_and_reach_the_same_minima_in_fewer_steps(monkeypatch):
    """The generated 56-parameter patch: above SMALL parameters a toy's free fit starts damped."""
    import diffpipe.solver as solver_module

    generated = {
        "workspace": str(ROOT / "resources/generated/bkgonly.json"),
        "patchset": str(ROOT / "resources/generated/patchset.json"),
        "patch": "sig_800_200",
        "data": "observed",
    }
    damped = run_shard("generated", generated, {"seed": 4}, 0, 200)
    monkeypatch.setattr(solver_module, "COLD_DAMPING", solver_module.DAMPING)  # the warm starts' damping
    plain = run_shard("generated", generated, {"seed": 4}, 0, 200)
    assert damped["converged"].all() and plain["converged"].all()
    np.testing.assert_allclose(damped["twice_nll"], plain["twice_nll"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(damped["twice_nll_true"], plain["twice_nll_true"], rtol=0, atol=1e-8)
    assert damped["steps"].mean() < plain["steps"].mean()


def test_small_models_start_every_fit_with_the_warm_damping():
    from diffpipe.compiled import make_solver
    from diffpipe.models import parameter_setup
    from diffpipe.solver import COLD_DAMPING, DAMPING, SMALL

    model, _ = build_model(GAUSS)
    solver = make_solver(model, parameter_setup(model).bounds)
    assert solver.npars <= SMALL and solver.initial_damping(True) == solver.initial_damping(False) == DAMPING
    assert COLD_DAMPING > DAMPING
