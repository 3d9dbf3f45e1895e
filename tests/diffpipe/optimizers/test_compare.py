import jax.numpy as jnp
import numpy as np
import pytest

from diffpipe.artifacts import FitResult
from diffpipe.functions import REGISTRY
from diffpipe.likelihood.fit import analyse
from diffpipe.optimizers import compare as O
from diffpipe.optimizers import problems as P
from diffpipe.optimizers import scipy_runs as S

FIT_SETTINGS = {"flag_rtol": 0.01, "profile_points": 7, "profile_span_sigma": 3.0, "minos_max_parameters": 60}

SETTINGS = {
    "ftol_target": 1e-8,
    "gtol": 1e-8,
    "maxiter": 500,
    "max_evaluations": 5000,
    "methods": ["BFGS", "Newton-CG", "trust-exact"],
    "gradient_modes": ["none", "jax", "hessian"],
    "native_methods": [],
    "repeats": 1,
    "learning_rate": 0.01,
}


def run_one(problem, method, mode, x0, settings):
    """One run measured against the problem's known f*."""
    record, trace = S.run_scipy(problem, method, mode, x0, settings)
    O.add_gaps(record, trace, problem.fstar, settings["ftol_target"])
    return record, trace


def rosenbrock_problem(dim=2):
    return P.build_problem("rosen", {"function": "rosenbrock", "starts": [[0.0] * dim]})


def test_jax_gradient_and_hessian_match_analytic_on_rosenbrock():
    problem = rosenbrock_problem(5)
    fun = S.Counted(problem, 100)
    x = np.array([-1.2, 1.0, 0.3, 2.0, -0.5])
    np.testing.assert_allclose(fun.grad(x), REGISTRY["rosenbrock"].gradient(x), rtol=1e-12)
    p = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(fun.hessp(x, p), fun.hess(x) @ p, rtol=1e-12, atol=1e-12)
    assert (fun.njev, fun.nhev) == (1, 2)


def test_trajectory_and_counters_are_recorded():
    record, trace = run_one(rosenbrock_problem(), "BFGS", "jax", [-1.2, 1.0], SETTINGS)
    assert record["success"] and record["reached_target"]
    assert trace["iterates"][0] == [-1.2, 1.0]
    np.testing.assert_allclose(trace["iterates"][-1], [1.0, 1.0], atol=1e-4)
    assert record["distance_to_minimiser"] < 1e-6
    assert record["nfev"] >= record["evals_to_target"] > 0
    assert len(trace["f"]) == len(trace["time_s"]) == len(trace["gradient_evaluations"]) == record["nfev"]
    assert trace["gradient_evaluations"][-1] <= record["njev"] and np.all(np.diff(trace["time_s"]) >= 0)
    hit = record["evals_to_target"] - 1
    assert record["time_to_target_s"] == trace["time_s"][hit] <= record["wall_time_s"]
    assert record["gradient_evals_to_target"] == trace["gradient_evaluations"][hit]


def test_exact_gradient_needs_fewer_evaluations_than_finite_differences():
    fd, _ = run_one(rosenbrock_problem(), "BFGS", "none", [-1.2, 1.0], SETTINGS)
    exact, _ = run_one(rosenbrock_problem(), "BFGS", "jax", [-1.2, 1.0], SETTINGS)
    assert 0 < exact["evals_to_target"] < fd["evals_to_target"]


def test_failing_method_is_recorded_not_raised():
    # NaN beyond x0 > 0.5: the trust-region step fails on it; the run must come back as data.
    problem = P.Problem("bad", lambda x: jnp.sum(x**2) + jnp.where(x[0] > 0.5, jnp.nan, 0.0), 0.0, np.zeros(2))
    record, _ = run_one(problem, "trust-exact", "hessian", [2.0, 2.0], SETTINGS)
    assert record["success"] is False and record["message"]
    budget, _ = run_one(rosenbrock_problem(), "BFGS", "none", [-1.2, 1.0], {**SETTINGS, "max_evaluations": 10})
    assert budget["success"] is False and "max_evaluations" in budget["message"]


def test_unique_minimiser_absent_for_the_notebook_hyperplane():
    problem = P.build_problem("nb", {"function": "sum_of_shifts_squared", "starts": [[2.0, 2.0, 2.0, 2.0]]})
    assert problem.minimiser is None and "no unique minimiser" in problem.note
    record, _ = run_one(problem, "BFGS", "jax", [2.0, 2.0, 2.0, 2.0], SETTINGS)
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
    assert S.applicable(method, mode) is ok


def test_counting_nll_problem_uses_the_likelihood_model():
    model = {
        "simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]},
        "data": "asimov",
        "bounds": {"mu": [-1.0, 10.0]},
    }
    fit = FitResult(model="m", definition=model, **analyse(model, FIT_SETTINGS))
    problem = P.build_problem("nll", {"likelihood_model": "m", "starts": [[0.5, 1.2]]}, fit)
    np.testing.assert_allclose(problem.minimiser, [1.0, 1.0], atol=1e-10)
    assert (
        problem.fstar == pytest.approx(fit.twice_nll / 2) and "fit of model 'm'" in problem.definition["fstar_source"]
    )
    table, traces, _ = O.compare(
        problem, [[0.5, 1.2]], {**SETTINGS, "methods": ["BFGS"], "gradient_modes": ["none", "jax"]}
    )
    assert len(table) == len(traces) == 2
    assert table["reached_target"].all()
    by_mode = table.set_index("gradient_mode")["evals_to_target"]
    assert 0 < by_mode["jax"] < by_mode["none"]  # the exact gradient needs fewer evaluations of f


def test_an_fstar_from_a_fit_that_stopped_short_is_an_error():
    model = {"simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]}, "data": "asimov"}
    fit = FitResult(model="m", definition=model, **analyse(model, FIT_SETTINGS))
    fit.twice_nll += 1e-3  # as if the fit had stopped short of the minimum
    problem = P.build_problem("nll", {"likelihood_model": "m", "starts": [[0.5, 1.2]]}, fit)
    with pytest.raises(ValueError, match=r"problem nll: f\* = .* from fit of model 'm'.* f\* is not the minimum"):
        O.compare(problem, [[0.5, 1.2]], {**SETTINGS, "methods": ["BFGS"], "gradient_modes": ["jax"]})


def test_never_reaching_the_target_is_null_not_minus_one():
    record, _ = run_one(rosenbrock_problem(), "BFGS", "none", [-1.2, 1.0], {**SETTINGS, "max_evaluations": 10})
    assert record["evals_to_target"] is None


def test_a_function_without_known_minimum_is_measured_against_the_best_f_found(tmp_path, monkeypatch):
    (tmp_path / "bowl_mod.py").write_text("def bowl(x, xp):\n    return xp.sum((x - 2.0) ** 2) + 3.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    problem = P.build_problem("bowl", {"function": "bowl_mod:bowl", "starts": [[0.0, 0.0]]})
    assert problem.fstar is None and "f_best" in problem.note and "f_best" in problem.definition["fstar_source"]
    table, traces, _ = O.compare(problem, [[0.0, 0.0], [5.0, -1.0]], {**SETTINGS, "methods": ["BFGS", "Newton-CG"]})
    f_best = problem.definition["reference_fstar"]
    assert f_best == pytest.approx(3.0, abs=1e-10) and f_best == table["final_f"].min()
    assert table["f_minus_fstar"].min() == 0.0 and (table["f_minus_fstar"] >= 0).all()
    assert table["reached_target"].sum() >= len(table) - 2
    assert all(min(g for g in t["f_gap"] if g is not None) >= 0 and t["evaluations"][-1] > 0 for t in traces)


def test_a_configured_fstar_is_used_and_one_above_a_found_value_is_an_error():
    spec = {"function": "sin_cos_mix", "starts": [[1.0]], "fstar": -1.0}
    problem = P.build_problem("sc", spec)
    assert problem.fstar == -1.0 and "fstar" in problem.definition["fstar_source"]
    with pytest.raises(
        ValueError, match=r"f\* = -1.0 from config key optimizers.problems.sc.fstar, but f = .* not the min"
    ):
        O.compare(problem, [[1.0]], {**SETTINGS, "methods": ["BFGS"], "gradient_modes": ["jax"]})


def test_every_run_failing_is_an_error_naming_the_problem():
    settings = {**SETTINGS, "methods": ["BFGS"], "gradient_modes": ["none", "jax"], "max_evaluations": 2}
    with pytest.raises(ValueError, match=r"optimizers.problems.rosen: all 2 runs failed.*max_evaluations"):
        O.compare(rosenbrock_problem(), [[-1.2, 1.0]], settings)
