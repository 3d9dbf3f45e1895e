"""The compiled bounded Newton fit against MINUIT, batched against one by one, and its fallback."""

import numpy as np
import pytest
from conftest import ROOT, falling_bin_model

from diffpipe.compiled import make_nll
from diffpipe.fitting import fit_all, minuit_refit
from diffpipe.models import build_model, parameter_setup
from diffpipe.solver import Solver

SPEC = {
    "workspace": str(ROOT / "resources/pyhf/example_bkgonly.json"),
    "measurement": "GaussExample",
    "data": "observed",
}


@pytest.fixture(scope="module")
def problem():
    model, data = build_model(SPEC)
    setup = parameter_setup(model)
    return Solver(make_nll(model), setup.bounds), np.asarray(data), setup


def test_free_and_held_fits_equal_minuit(problem):
    solver, data, setup = problem
    rng = np.random.default_rng(1)
    fixed = np.tile(setup.fixed, (6, 1))
    values = np.tile(setup.init, (6, 1))
    for row in range(1, 6):  # row 0: the free fit; then one parameter held at a random value
        i = rng.choice(np.flatnonzero(~np.asarray(setup.fixed)))
        fixed[row, i] = True
        values[row, i] = rng.uniform(*setup.bounds[i]) * 0.5
    batch = solver.fit(setup.init, data, fixed, values)
    assert batch.converged.all()
    for row in range(6):
        _, nll, valid = minuit_refit(solver, setup.init, data, fixed[row], values[row], setup.bounds)
        assert valid and batch.nll[row] == pytest.approx(nll, abs=1e-8)
        assert np.all(batch.x[row][fixed[row]] == values[row][fixed[row]])  # held exactly


def test_batched_equals_one_by_one(problem):
    solver, data, setup = problem
    mus = np.linspace(0.0, 2.5, 4)
    fixed = np.tile(setup.fixed, (4, 1))
    fixed[:, 1] = True  # SigXsecOverSM
    values = np.tile(setup.init, (4, 1))
    values[:, 1] = mus
    one = solver.fit(setup.init, data, fixed, values)
    many = solver.fit(setup.init, data, fixed, values, batched=True)
    np.testing.assert_allclose(many.nll, one.nll, rtol=1e-12)
    np.testing.assert_allclose(many.x, one.x, atol=1e-9)


def test_unconverged_fits_are_refitted_with_minuit_not_dropped(problem):
    _, data, setup = problem
    model, _ = build_model(SPEC)
    capped = Solver(make_nll(model), setup.bounds, max_iter=1)
    batch = fit_all(capped, setup.init, data, setup.fixed, setup.init)
    assert batch.refitted.sum() == 1 and batch.converged.all()
    assert 0 < batch.refit_seconds[0] < 60 and batch.row(0).refit_seconds[0] == batch.refit_seconds[0]
    _, nll, _ = minuit_refit(capped, setup.init, data, np.asarray(setup.fixed), setup.init, setup.bounds)
    assert batch.nll[0] == pytest.approx(nll, abs=1e-9)


def _varied_rows(setup, n):
    """n fits that need different numbers of Newton steps (POI held at values far and near)."""
    fixed = np.tile(setup.fixed, (n, 1))
    fixed[:, 1] = np.arange(n) % 3 != 0  # every third row free
    values = np.tile(setup.init, (n, 1))
    values[:, 1] = np.linspace(0.0, 4.0, n)
    starts = np.tile(setup.init, (n, 1)) * (1.0 + 0.6 * np.sin(np.arange(n)))[:, None]
    return starts, fixed, values


def test_queue_refills_lanes_with_the_right_rows(problem, monkeypatch):
    """Few lanes, several queues: each row's result lands in its own place, as one by one."""
    import diffpipe.solver as solver_module

    _, data, setup = problem
    monkeypatch.setattr(solver_module, "LANES", 3)
    monkeypatch.setattr(solver_module, "QUEUE", 8)
    monkeypatch.setattr(solver_module, "FINE", 1.0)  # one by one to the batched fits' threshold
    model, _ = build_model(SPEC)
    solver = Solver(make_nll(model), setup.bounds)
    starts, fixed, values = _varied_rows(setup, 19)  # 3 queues, the last one partly padded
    one = solver.fit(starts, data, fixed, values)
    many = solver.fit(starts, data, fixed, values, batched=True)
    assert len(set(one.iterations)) > 2  # the lanes really finish at different steps
    np.testing.assert_array_equal(many.iterations, one.iterations)
    np.testing.assert_array_equal(many.converged, one.converged)
    np.testing.assert_allclose(many.nll, one.nll, rtol=1e-13)
    np.testing.assert_allclose(many.x, one.x, atol=1e-12)
    np.testing.assert_allclose(many.hessian, one.hessian, rtol=1e-10, atol=1e-12)


def test_hessian_is_the_exact_one_at_the_best_fit(problem):
    solver, data, setup = problem
    batch = solver.fit(setup.init, data, setup.fixed, setup.init, batched=True)
    np.testing.assert_allclose(batch.hessian[0], solver.hess(batch.x[0], data, None), rtol=1e-12)


def test_iteration_cap_in_the_queue_is_reported_and_refitted(problem, monkeypatch):
    import diffpipe.solver as solver_module

    _, data, setup = problem
    monkeypatch.setattr(solver_module, "LANES", 2)
    model, _ = build_model(SPEC)
    capped = Solver(make_nll(model), setup.bounds, max_iter=1)
    starts, fixed, values = _varied_rows(setup, 5)
    raw = capped.fit(starts, data, fixed, values, batched=True)
    assert not raw.converged.any() and (raw.iterations == 1).all()
    batch = fit_all(capped, starts, data, fixed, values, batched=True)
    assert batch.refitted.sum() == 5 and batch.converged.all() and (batch.refit_seconds > 0).all()
    assert not raw.refit_seconds.any()  # the Newton solve's own batch: none refitted
    full = Solver(make_nll(model), setup.bounds).fit(starts, data, fixed, values)
    np.testing.assert_allclose(batch.nll, full.nll, atol=1e-8)


def test_small_solve_equals_lapack():
    from diffpipe.solver import _small_solve

    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 12):
        a = rng.normal(size=(n, n)) + n * np.eye(n)
        b = rng.normal(size=n)
        np.testing.assert_allclose(np.asarray(_small_solve(a, b)), np.linalg.solve(a, b), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "spec",
    [
        {"simple": {"signal": [5.0, 3.0], "background": [10.0, 8.0], "background_uncertainty": [3.5, 2.0]}},
        SPEC,
        {"workspace": str(ROOT / "resources/pyhf/multichan_coupledhistosys_histfactory.json"), "data": "observed"},
    ],
    ids=["simple", "example", "multichannel"],
)
@pytest.mark.pyhf_jax
def test_model_built_under_numpy_evaluates_as_one_built_under_jax(spec):
    """Under pyhf's jax backend (a user's choice; the pipeline leaves pyhf on numpy),
    build_model builds under numpy (no per-operation compilation), then hands back jax."""
    import jax
    import pyhf

    from diffpipe.models import _build_model

    model, data = build_model(spec)
    assert pyhf.tensorlib.name == "jax" and pyhf.tensorlib.precision == "64b"
    reference, reference_data = _build_model(spec)  # built under jax
    np.testing.assert_allclose(data, reference_data, rtol=1e-14)
    rng = np.random.default_rng(0)
    init = np.asarray(model.config.suggested_init())
    for _ in range(3):
        pars = init * rng.uniform(0.7, 1.3, size=len(init))
        for m in (model, reference):
            assert isinstance(m.main_model.nominal_rates, jax.Array)
        got = jax.jit(jax.value_and_grad(lambda p: model.logpdf(p, data)[0]))(pars)
        want = jax.value_and_grad(lambda p: reference.logpdf(p, data)[0])(pars)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-10, atol=1e-12)


def test_newton_converges_on_every_toy_of_a_published_likelihood():
    """3L eRJR (62 parameters, shapesys tau up to 1e11): every free fit of 40 toys converges
    without MINUIT, at MINUIT's minimum (before -ln L was computed without cancellation, 12 of 50
    ran into the iteration cap)."""
    from diffpipe.compiled import make_derivatives
    from diffpipe.sampling import make_sampler, sample_toys

    spec = {"workspace": str(ROOT / "resources/published/ATLAS-SUSY-2018-06_3L-eRJR/BkgOnly.json"), "data": "observed"}
    model, _ = build_model(spec)
    setup = parameter_setup(model)
    solver = Solver(make_nll(model), setup.bounds, derivatives=make_derivatives(model))
    truth = np.asarray(setup.init)
    data = sample_toys(make_sampler(model), 1, "published", np.arange(40), truth)
    batch = solver.fit(truth, data, np.asarray(setup.fixed), truth, batched=True)
    assert batch.converged.all(), np.flatnonzero(~batch.converged)
    for i in (0, 1):  # two of them against MINUIT from the Newton solution's start
        x, f, valid = minuit_refit(solver, truth, data[i], np.asarray(setup.fixed), truth, solver.bounds)
        assert valid and batch.nll[i] <= f + 1e-6


@pytest.mark.parametrize("batched", [False, True], ids=["one-by-one", "batched"])
def test_a_fit_that_leaves_the_domain_ends_there_as_a_named_failure(batched):
    from diffpipe.compiled import make_solver

    model, data = falling_bin_model()
    setup = parameter_setup(model)
    solver = make_solver(model, setup.bounds)
    batch = fit_all(solver, setup.init, data, setup.fixed, setup.init, batched=batched)
    assert batch.outside.all() and not batch.converged.any() and not batch.refitted.any()  # not handed to MINUIT
    assert batch.iterations[0] < 50  # it stopped where the bin went negative, not at the cap

    # pyhf's clip_bin_data bounds the bin: the same fit then converges inside, at MINUIT's minimum
    clipped, data = falling_bin_model(clip_bin_data=0.0)
    solver = make_solver(clipped, setup.bounds)
    batch = fit_all(solver, setup.init, data, setup.fixed, setup.init, batched=batched)
    assert batch.converged.all() and not batch.outside.any()
    _, nll, valid = minuit_refit(solver, setup.init, data, np.asarray(setup.fixed), setup.init, setup.bounds)
    assert valid and batch.nll[0] == pytest.approx(nll, abs=1e-6)


@pytest.mark.parametrize("batched", [False, True], ids=["one-by-one", "batched"])
def test_a_fit_started_where_nll_is_not_finite_ends_there_and_is_restarted_from_the_second_start(batched):
    from diffpipe.compiled import make_solver

    model, data = falling_bin_model()
    data = data.copy()
    data[0] = 2.0  # events in the bin the histosys empties: -ln L is NaN where its count is negative
    setup = parameter_setup(model)
    solver = make_solver(model, setup.bounds)
    start = np.array(setup.init, float)
    start[model.config.par_names.index("hs")] = -3.0
    assert np.isnan(solver.nll(start, data, None))

    stuck = solver.fit(start, data, setup.fixed, start, batched=batched)
    assert stuck.iterations[0] == 0 and not stuck.converged[0] and not stuck.outside[0]  # not 200 steps

    batch = fit_all(solver, start, data, setup.fixed, start, batched=batched, restart=setup.init)
    assert batch.converged[0] and not batch.refitted[0]  # the second start converged: no MINUIT
    direct = solver.fit(setup.init, data, setup.fixed, setup.init)  # the same fit started there
    assert direct.converged[0] and batch.nll[0] == pytest.approx(direct.nll[0], abs=1e-9)
    np.testing.assert_allclose(batch.x[0], direct.x[0], atol=1e-7)
    assert batch.hessian is not None and np.all(np.isfinite(batch.hessian[0]))


def test_lanes_shrink_with_the_model_on_a_cpu():
    from diffpipe.solver import LANE_ENTRIES, LANES, MIN_LANES, cpu_lanes

    assert cpu_lanes(3) == LANES and cpu_lanes(1000) == MIN_LANES
    for npars in (45, 69, 126):
        lanes = cpu_lanes(npars)
        assert lanes * npars**2 <= LANE_ENTRIES < 2 * lanes * npars**2 and lanes & (lanes - 1) == 0


def test_float32_curvature_fits_reach_the_exact_minimum_and_return_the_exact_hessian():
    """3L eRJR: batched fits stepping with float32 Hessian products (make_solver's default) end at
    the minimum of fits stepping with the exact Hessian, and their Hessian is the exact float64 one."""
    from diffpipe.compiled import make_derivatives, make_solver
    from diffpipe.sampling import make_sampler, sample_toys

    spec = {"workspace": str(ROOT / "resources/published/ATLAS-SUSY-2018-06_3L-eRJR/BkgOnly.json"), "data": "observed"}
    model, _ = build_model(spec)
    setup = parameter_setup(model)
    cheap = make_solver(model, setup.bounds)
    exact = Solver(make_nll(model), setup.bounds, derivatives=make_derivatives(model))
    truth, fixed = np.asarray(setup.init), np.asarray(setup.fixed)
    data = sample_toys(make_sampler(model), 3, "published", np.arange(24), truth)
    ours = cheap.fit(truth, data, fixed, truth, batched=True)
    reference = exact.fit(truth, data, fixed, truth, batched=True)
    assert ours.converged.all() and reference.converged.all()
    np.testing.assert_allclose(ours.nll, reference.nll, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.x, reference.x, atol=1e-5)
    for i in (0, 7):
        np.testing.assert_allclose(ours.hessian[i], exact.hess(ours.x[i], data[i], None), rtol=1e-12, atol=1e-12)
    assert cheap.fit(truth, data[:3], fixed, truth, batched=True, hessian=False).hessian is None


def test_a_fit_started_at_its_minimum_ends_at_once(problem):
    solver, data, setup = problem
    best = solver.fit(setup.init, data, setup.fixed, setup.init)
    again = solver.fit(best.x, data, setup.fixed, best.x, batched=True)
    assert again.converged.all() and again.iterations[0] <= 1
