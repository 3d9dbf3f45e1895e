"""JAX-native minimisers (optimistix, optax): minima reached, evaluations counted, timings honest."""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diffpipe.optimizers import compare as O
from diffpipe.optimizers import native as N
from diffpipe.optimizers import problems as P

SETTINGS = {
    "ftol_target": 1e-8,
    "gtol": 1e-8,
    "maxiter": 3000,
    "max_evaluations": 5000,
    "methods": [],
    "gradient_modes": [],
    "native_methods": list(N.NATIVE_METHODS),
    "repeats": 2,
    "learning_rate": 0.01,
}
# Adam with a fixed step does not get within 1e-8 of a minimum in a few thousand steps of these
# problems; it is tested on the quadratic bowl with a step suited to it.
CONVERGING = [m for m in N.NATIVE_METHODS if m != "optax-adam"]


@pytest.fixture(scope="module")
def rosenbrock_runs():
    """Every native method on 2-d Rosenbrock from the classic start, twice."""
    problem = P.build_problem("rosen", {"function": "rosenbrock", "starts": [[-1.2, 1.0]]})
    table, traces, summary = O.compare(problem, problem.starts, SETTINGS)
    return problem, table, traces, summary


@pytest.mark.parametrize("method", CONVERGING)
def test_each_native_method_reaches_the_known_minimum_of_rosenbrock(rosenbrock_runs, method):
    _, table, _, _ = rosenbrock_runs
    runs = table[table["method"] == method]
    assert runs["success"].all() and runs["reached_target"].all(), runs["message"].tolist()
    assert (runs["distance_to_minimiser"] < 1e-4).all()
    assert (runs["grad_norm"] < 1e-6).all()


@pytest.mark.parametrize("method", ["optimistix-BFGS", "optax-adam"])
def test_native_methods_reach_the_minimum_of_a_quadratic_bowl(method):
    problem = P.build_problem("bowl", {"function": "sum_of_shifts_squared", "starts": [[2.0, 2.0, 2.0, 4.0]]})
    settings = {**SETTINGS, "native_methods": [method], "repeats": 1, "learning_rate": 0.05, "gtol": 1e-9}
    table, _, _ = O.compare(problem, problem.starts, settings)
    assert table["reached_target"].all(), table["message"].tolist()


def test_repetitions_take_identical_steps_and_only_their_times_differ(rosenbrock_runs):
    _, table, traces, _ = rosenbrock_runs
    for _, runs in table.groupby(["method", "start"]):
        assert len(runs) == 2
        for column in ("final_f", "nfev", "njev", "nhev", "nit", "evals_to_target"):
            assert runs[column].nunique(dropna=False) == 1, column
    assert all(t["deterministic"] and len(t["time_s"]) == 2 for t in traces)


def test_evaluations_are_counted_exactly_by_the_callbacks():
    """BFGS evaluates f with its gradient once per step; exact Newton adds a Hessian per accepted step."""
    fn = lambda x: jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)  # noqa: E731
    x0 = jnp.array([-1.2, 1.0])
    bfgs = N.build_runner(fn, "optimistix-BFGS", SETTINGS)
    _, steps, *_ = bfgs.run(x0, 1000, True)
    assert len(bfgs.counts.f) == bfgs.counts.grad[-1] == int(steps) == len(bfgs.counts.step_ends)
    newton = N.build_runner(fn, "optimistix-Newton", SETTINGS)
    _, steps, *_ = newton.run(x0, 1000, True)
    assert 0 < newton.counts.nhev <= int(steps)
    quiet = N.build_runner(fn, "optimistix-BFGS", SETTINGS)
    quiet.run(x0, 1000, False)
    assert quiet.counts.f == [] and quiet.counts.step_ends == []  # callbacks off: nothing counted


def test_a_step_limit_replays_the_first_steps_of_the_full_run():
    fn = lambda x: jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)  # noqa: E731
    runner = N.build_runner(fn, "optax-lbfgs", SETTINGS)
    runner.compile(np.zeros(2))
    x0 = jnp.array([-1.2, 1.0])
    runner.run(x0, 1000, True)
    f_full, ends = list(runner.counts.f), list(runner.counts.step_ends)
    runner.counts.reset()
    x5, steps, *_ = runner.run(x0, 5, True)
    assert int(steps) == 5 and runner.counts.f == f_full[: ends[4]]
    x5_timed, *_ = runner.run(x0, 5, False)  # the timed (uncounted) run takes the same steps
    np.testing.assert_array_equal(np.asarray(x5_timed), np.asarray(x5))


def test_compile_time_is_measured_apart_and_kept_out_of_the_wall_time(rosenbrock_runs):
    fn = lambda x: jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)  # noqa: E731
    x0 = jnp.array([-1.2, 1.0])
    started = time.perf_counter()
    cold = N.build_runner(fn, "optimistix-LBFGS", SETTINGS)
    jax.block_until_ready(cold.run(x0, SETTINGS["maxiter"], False))  # compiles on this first call
    cold_s = time.perf_counter() - started
    _, table, _, _ = rosenbrock_runs
    runs = table[table["method"] == "optimistix-LBFGS"]
    assert (runs["compile_time_s"] > 0).all()
    # the recorded wall time is the compiled loop's alone: far below a cold call, which
    # includes tracing and compiling
    assert (runs["wall_time_s"] < 0.5 * cold_s).all()
    assert (runs["wall_time_s"] < runs["compile_time_s"]).all()


def test_the_evaluation_budget_stops_a_native_run_and_is_recorded_as_a_failure():
    problem = P.build_problem("rosen", {"function": "rosenbrock", "starts": [[-1.2, 1.0]]})
    settings = {**SETTINGS, "native_methods": ["optimistix-BFGS", "optimistix-Newton"], "max_evaluations": 7}
    with pytest.raises(ValueError, match="all 2 runs failed"):
        O.compare(problem, problem.starts, {**settings, "repeats": 1})
    table, _, _ = O.compare(
        problem, problem.starts, {**settings, "native_methods": ["optimistix-Newton"], "max_evaluations": 40}
    )
    assert table["success"].all() and (table["nfev"] <= 40).all()


def test_summary_ranks_by_median_time_and_by_evaluations(rosenbrock_runs):
    _, table, _, summary = rosenbrock_runs
    # the artifact keeps the methods' order; the ranks say who was fastest
    assert [s["method"] for s in summary] == list(dict.fromkeys(table["method"]))
    reached = sorted((s for s in summary if s["reached"]), key=lambda s: s["rank_time"])
    assert [s["rank_time"] for s in reached] == list(range(1, len(reached) + 1))
    medians = [s["time_to_target_s"]["median"] for s in reached]
    assert medians == sorted(medians)
    by_evals = sorted(reached, key=lambda s: s["rank_evaluations"])
    assert [s["evals_to_target"]["median"] for s in by_evals] == sorted(s["evals_to_target"]["median"] for s in reached)
    adam = next(s for s in summary if s["method"] == "optax-adam")
    assert adam["reached"] == 0 and adam["rank_time"] is None and adam["time_to_target_s"] is None
    assert {s["family"] for s in summary} == {"optimistix", "optax"}


def test_checkpoints_are_log_spaced_and_end_at_the_last_step():
    assert N.checkpoints(0) == []
    assert N.checkpoints(1) == [1]
    marks = N.checkpoints(1000)
    assert marks[0] == 1 and marks[-1] == 1000 and len(marks) <= 11 and marks == sorted(set(marks))


def test_methods_reaching_the_target_more_often_rank_first():
    import pandas as pd

    rows = [
        # a: both runs reach the target, slowly; b: one run, fast; c: never
        ("a", 0.5, 10),
        ("a", 0.7, 12),
        ("b", 0.1, 5),
        ("b", None, None),
        ("c", None, None),
        ("c", None, None),
    ]
    table = pd.DataFrame(
        [
            {
                "family": "scipy",
                "method": m,
                "gradient_mode": "jax",
                "time_to_target_s": t,
                "evals_to_target": e,
                "gradient_evals_to_target": e,
                "wall_time_s": 1.0,
            }
            for m, t, e in rows
        ]
    )
    summary = {s["method"]: s for s in O.summarise(table)}
    assert (summary["a"]["rank_time"], summary["b"]["rank_time"], summary["c"]["rank_time"]) == (1, 2, None)
    assert summary["a"]["reached"] == 2 and summary["b"]["reached"] == 1 and summary["c"]["reached"] == 0
    assert summary["a"]["time_to_target_s"]["median"] == pytest.approx(0.6)
