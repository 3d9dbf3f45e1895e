import jax.numpy as jnp
import numpy as np
import pytest

from diffpipe.artifacts import FitResult
from diffpipe.functions import REGISTRY
from diffpipe.likelihood.fit import analyse
from diffpipe.optimizers import compare as O

FIT_SETTINGS = {"flag_rtol": 0.01, "profile_points": 7, "profile_span_sigma": 3.0}

SETTINGS = {
    "ftol_target": 1e-8,
    "gtol": 1e-8,
    "maxiter": 500,
    "max_evaluations": 5000,
    "methods": ["BFGS", "Newton-CG", "trust-exact"],
    "gradient_modes": ["none", "jax", "hessian"],
}


def rosenbrock_problem(dim=2):
    return O.build_problem("rosen", {"function": "rosenbrock", "starts": [[0.0] * dim]})


def test_jax_gradient_and_hessian_match_analytic_on_rosenbrock():
    problem = rosenbrock_problem(5)
    fun = O.Counted(problem, 100, 1e-8)
    x = np.array([-1.2, 1.0, 0.3, 2.0, -0.5])
    np.testing.assert_allclose(fun.grad(x), REGISTRY["rosenbrock"].gradient(x), rtol=1e-12)
    p = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(fun.hessp(x, p), fun.hess(x) @ p, rtol=1e-12, atol=1e-12)
    assert (fun.njev, fun.nhev) == (1, 2)


def test_trajectory_and_counters_are_recorded():
    record, trace = O.run_one(rosenbrock_problem(), "BFGS", "jax", [-1.2, 1.0], SETTINGS)
    assert record["success"] and record["reached_target"]
    assert trace["trajectory"][0] == [-1.2, 1.0]
    np.testing.assert_allclose(trace["trajectory"][-1], [1.0, 1.0], atol=1e-4)
    assert record["distance_to_minimiser"] < 1e-6
    assert record["nfev"] >= record["evals_to_target"] > 0
    assert trace["evaluations"][-1] == record["nfev"]


def test_exact_gradient_needs_fewer_evaluations_than_finite_differences():
    fd, _ = O.run_one(rosenbrock_problem(), "BFGS", "none", [-1.2, 1.0], SETTINGS)
    exact, _ = O.run_one(rosenbrock_problem(), "BFGS", "jax", [-1.2, 1.0], SETTINGS)
    assert 0 < exact["evals_to_target"] < fd["evals_to_target"]


def test_failing_method_is_recorded_not_raised():
    # NaN beyond x0 > 0.5: the trust-region step fails on it; the run must come back as data.
    problem = O.Problem("bad", lambda x: jnp.sum(x**2) + jnp.where(x[0] > 0.5, jnp.nan, 0.0), 0.0, np.zeros(2))
    record, _ = O.run_one(problem, "trust-exact", "hessian", [2.0, 2.0], SETTINGS)
    assert record["success"] is False and record["message"]
    budget, _ = O.run_one(rosenbrock_problem(), "BFGS", "none", [-1.2, 1.0], {**SETTINGS, "max_evaluations": 10})
    assert budget["success"] is False and "max_evaluations" in budget["message"]


def test_unique_minimiser_absent_for_the_notebook_hyperplane():
    problem = O.build_problem("nb", {"function": "sum_of_shifts_squared", "starts": [[2.0, 2.0, 2.0, 2.0]]})
    assert problem.minimiser is None and "no unique minimiser" in problem.note
    record, _ = O.run_one(problem, "BFGS", "jax", [2.0, 2.0, 2.0, 2.0], SETTINGS)
    assert np.isnan(record["distance_to_minimiser"]) and record["f_minus_fstar"] <= 1e-8


@pytest.mark.parametrize(
    "method, mode, ok",
    [
        ("Nelder-Mead", "jax", False),
        ("Nelder-Mead", "none", True),
        ("BFGS", "hessian", False),
        ("trust-exact", "hessian", True),
    ],
)
def test_applicability(method, mode, ok):
    assert O.applicable(method, mode) is ok


def test_counting_nll_problem_uses_the_likelihood_model():
    model = {
        "simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]},
        "data": "asimov",
        "bounds": {"mu": [-1.0, 10.0]},
    }
    fit = FitResult(model="m", definition=model, **analyse(model, FIT_SETTINGS))
    problem = O.build_problem("nll", {"likelihood_model": "m", "starts": [[0.5, 1.2]]}, fit)
    np.testing.assert_allclose(problem.minimiser, [1.0, 1.0], atol=1e-10)
    assert (
        problem.fstar == pytest.approx(fit.twice_nll / 2) and "fit of model 'm'" in problem.definition["fstar_source"]
    )
    table, traces = O.compare(
        problem, [[0.5, 1.2]], {**SETTINGS, "methods": ["BFGS"], "gradient_modes": ["none", "jax"]}
    )
    assert len(table) == len(traces) == 2
    assert table["reached_target"].all()
    by_mode = table.set_index("gradient_mode")["evals_to_target"]
    assert 0 < by_mode["jax"] < by_mode["none"]  # the exact gradient needs fewer evaluations of f


def test_never_reaching_the_target_is_null_not_minus_one():
    record, _ = O.run_one(rosenbrock_problem(), "BFGS", "none", [-1.2, 1.0], {**SETTINGS, "max_evaluations": 10})
    assert record["evals_to_target"] is None
