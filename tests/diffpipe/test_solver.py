"""The compiled bounded Newton fit against MINUIT, batched against one by one, and its fallback."""

import numpy as np
import pytest
from conftest import ROOT

from diffpipe.models import build_model, make_nll, model_spec, use_jax_backend
from diffpipe.solver import Solver, fit_all, minuit_refit

SPEC = {
    "workspace": str(ROOT / "resources/pyhf/example_bkgonly.json"),
    "measurement": "GaussExample",
    "data": "observed",
}


@pytest.fixture(scope="module")
def problem():
    use_jax_backend()
    model, data = build_model(SPEC)
    spec = model_spec(model)
    return Solver(make_nll(model), spec.bounds), np.asarray(data), spec


def test_free_and_held_fits_equal_minuit(problem):
    solver, data, spec = problem
    rng = np.random.default_rng(1)
    fixed = np.tile(spec.fixed, (6, 1))
    values = np.tile(spec.init, (6, 1))
    for row in range(1, 6):  # row 0: the free fit; then one parameter held at a random value
        i = rng.choice(np.flatnonzero(~np.asarray(spec.fixed)))
        fixed[row, i] = True
        values[row, i] = rng.uniform(*spec.bounds[i]) * 0.5
    batch = solver.fit(spec.init, data, fixed, values)
    assert batch.converged.all()
    for row in range(6):
        _, nll, valid = minuit_refit(solver, spec.init, data, fixed[row], values[row], spec.bounds)
        assert valid and batch.nll[row] == pytest.approx(nll, abs=1e-8)
        assert np.all(batch.x[row][fixed[row]] == values[row][fixed[row]])  # held exactly


def test_batched_equals_one_by_one(problem):
    solver, data, spec = problem
    mus = np.linspace(0.0, 2.5, 4)
    fixed = np.tile(spec.fixed, (4, 1))
    fixed[:, 1] = True  # SigXsecOverSM
    values = np.tile(spec.init, (4, 1))
    values[:, 1] = mus
    one = solver.fit(spec.init, data, fixed, values)
    many = solver.fit(spec.init, data, fixed, values, batched=True)
    np.testing.assert_allclose(many.nll, one.nll, rtol=1e-12)
    np.testing.assert_allclose(many.x, one.x, atol=1e-9)


def test_unconverged_fits_are_refitted_with_minuit_not_dropped(problem):
    _, data, spec = problem
    use_jax_backend()
    model, _ = build_model(SPEC)
    capped = Solver(make_nll(model), spec.bounds, max_iter=1)
    batch, refitted = fit_all(capped, spec.init, data, spec.fixed, spec.init)
    assert refitted == 1 and batch.converged.all()
    _, nll, _ = minuit_refit(capped, spec.init, data, np.asarray(spec.fixed), spec.init, spec.bounds)
    assert batch.nll[0] == pytest.approx(nll, abs=1e-9)
