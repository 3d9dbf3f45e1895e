"""Optimizer comparison: scipy.optimize.minimize with and without exact (JAX) derivatives.

Gradient modes
- none:    derivatives by finite differences of f (scipy's own where the method accepts that,
           else scipy.optimize.approx_fprime), Hessians by differences of that gradient;
- jax:     exact jit-compiled JAX gradient; a required Hessian by differences of it;
- hessian: exact gradient and exact Hessian (or Hessian-vector product) from JAX.

Every call of f, the gradient and the Hessian is counted by a wrapper (scipy's own counters
omit the evaluations spent inside finite differences), and f is recorded per call, so
"evaluations to reach the tolerance" is measured, not estimated.

The reference f* is the function's known minimum (registry functions, a likelihood model's fit,
or `fstar` in the config). Without one, gaps are measured against f_best, the lowest f found by
any method from any start of the problem, and the table, traces and report say so.

Failures of a method are data; a problem whose every run fails, or whose configured f* lies
above a value actually found, is an error (the config made the result wrong).
"""

import logging
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import approx_fprime, minimize

log = logging.getLogger("diffpipe")

GRADIENT_FREE = {"Nelder-Mead", "Powell"}
NEEDS_GRADIENT = {"Newton-CG", "trust-ncg", "trust-krylov", "trust-exact", "dogleg"}
TAKES_HESSP = {"Newton-CG", "trust-ncg", "trust-krylov", "trust-constr"}
NEEDS_HESS = {"trust-exact", "dogleg"}
USES_HESSIAN = TAKES_HESSP | NEEDS_HESS
FD_STEP = np.sqrt(np.finfo(float).eps)
TRACE_POINTS = 400  # stored points per trace (log-spaced over the evaluations)


F_BEST_SOURCE = "none known: f_best, the lowest f found by any method from any start"
F_BEST_NOTE = "no known minimum: gaps are f - f_best, f_best the lowest f any run found"


class EvaluationBudgetExceeded(RuntimeError):
    """A run used up its evaluations of f (max_evaluations): recorded as a failed run."""


@dataclass
class Problem:
    """A function to minimise and what is known about its minimum.

    Attributes:
        name: the problem's name in the config.
        fn: JAX-traceable scalar function of a 1-D float64 array.
        fstar: the known minimum f* that gaps are measured against (None: none known; gaps
            are measured against the best f found, f_best).
        minimiser: the unique minimiser (None: none unique; distances are not reported).
        note: what the table and report should say about the problem.
        numpy_fn: the same f in NumPy (about 30x cheaper per call than a jit dispatch).
        definition: the problem's definition, recorded in its artifacts.
        fstar_configured: f* was given in the config (then a lower f found is an error).
    """

    name: str
    fn: object
    fstar: float | None
    minimiser: np.ndarray | None
    note: str = ""
    numpy_fn: object = None
    definition: dict = field(default_factory=dict)
    fstar_configured: bool = False


def build_problem(name: str, spec: dict, fit=None) -> Problem:
    """The problem a config entry names.

    Args:
        name: the problem's name.
        spec: its `optimizers.problems` entry (function or likelihood_model, starts, condition).
        fit: the `artifacts.FitResult` of the problem's likelihood model (likelihood problems
            only): the model definition and the reference minimum come from it.

    Returns:
        The `Problem`.
    """
    import jax.numpy as jnp

    from diffpipe.functions import make_ill_conditioned_quadratic, resolve

    dim = len(spec["starts"][0])
    definition = {"name": name, "starts": spec["starts"], "dimension": dim}
    if spec.get("likelihood_model"):
        from diffpipe.models import build_model, nll_function, use_jax_backend

        use_jax_backend()
        model, data = build_model(fit.definition)
        nll = nll_function(model, data)
        x_hat = np.asarray(fit.bestfit_all, float)
        definition.update(
            function=f"-ln L of likelihood model {fit.model!r} (pyhf)",
            description="negative log-likelihood (pyhf)",
            fstar=float(fit.twice_nll) / 2.0,
            fstar_source=f"fit of model {fit.model!r} (MINUIT + Newton polish), likelihood/{fit.model}/fit.json",
            minimiser=x_hat.tolist(),
        )
        return Problem(name, nll, float(fit.twice_nll) / 2.0, x_hat, "negative log-likelihood (pyhf)", None, definition)
    if spec["function"] == "ill_conditioned_quadratic":
        func = make_ill_conditioned_quadratic(spec["condition"])
    else:
        func = resolve(spec["function"])
    minimiser = func.minimiser(dim) if func.minimiser is not None else None
    if "fstar" in spec:
        fstar, source = float(spec["fstar"]), f"config key optimizers.problems.{name}.fstar"
    elif func.minimum is not None:
        fstar, source = float(func.minimum), "known minimum of the registry function"
    else:
        fstar, source = None, F_BEST_SOURCE
    notes = []
    if minimiser is None:
        notes.append("no unique minimiser known: distance not defined")
    if fstar is None:
        notes.append(F_BEST_NOTE)
    definition.update(
        function=spec["function"],
        description=func.description,
        fstar=fstar,
        fstar_source=source,
        minimiser=minimiser.tolist() if minimiser is not None else None,
    )
    return Problem(
        name,
        lambda x: func.fn(x, jnp),
        fstar,
        minimiser,
        "; ".join(notes),
        lambda x: float(func.fn(x, np)),
        definition,
        fstar_configured="fstar" in spec,
    )


class Compiled:
    """f, gradient, Hessian and Hessian-vector product of a problem, jit-compiled once."""

    def __init__(self, problem: Problem):
        import jax

        jax.config.update("jax_enable_x64", True)
        fn = problem.fn
        self.f = jax.jit(fn)
        self.grad = jax.jit(jax.grad(fn))
        self.hess = jax.jit(jax.hessian(fn))
        self.hvp = jax.jit(lambda x, v: jax.jvp(jax.grad(fn), (x,), (v,))[1])


def _as_array(fn, *args):
    """Call a compiled derivative on float64 NumPy arguments; its result as a NumPy array."""
    return np.asarray(fn(*(np.asarray(a, dtype=float) for a in args)))


class Counted:
    """A problem's derivatives with call counters and the f history of one run."""

    def __init__(self, problem: Problem, budget: int, compiled: Compiled | None = None):
        compiled = compiled or Compiled(problem)
        self._f = problem.numpy_fn or compiled.f
        self._g, self._h, self._hvp = compiled.grad, compiled.hess, compiled.hvp
        self.nfev = self.njev = self.nhev = 0
        self.history: list[float] = []  # f at every counted evaluation
        self.budget = budget

    def f(self, x):
        """f, counted against the evaluation budget and recorded.

        Args:
            x: the point.

        Returns:
            f(x).

        Raises:
            EvaluationBudgetExceeded: past max_evaluations.
        """
        if self.nfev >= self.budget:
            raise EvaluationBudgetExceeded(f"stopped after {self.budget} evaluations of f (max_evaluations)")
        self.nfev += 1
        value = float(self._f(np.asarray(x, dtype=float)))
        self.history.append(value)
        return value

    def grad(self, x):
        """The exact gradient (counted in njev).

        Args:
            x: the point.

        Returns:
            The gradient from the jit-compiled jax.grad.
        """
        self.njev += 1
        return _as_array(self._g, x)

    def hess(self, x):
        """The exact Hessian (counted in nhev).

        Args:
            x: the point.

        Returns:
            The Hessian from the jit-compiled jax.hessian.
        """
        self.nhev += 1
        return _as_array(self._h, x)

    def hessp(self, x, p):
        """The exact Hessian-vector product (counted as a Hessian evaluation).

        Args:
            x: the point.
            p: the vector.

        Returns:
            H(x) p.
        """
        self.nhev += 1
        return _as_array(self._hvp, x, p)

    def fd_grad(self, x):
        """Forward-difference gradient of the counted f (its evaluations count).

        Args:
            x: the point.

        Returns:
            The gradient estimate.
        """
        return approx_fprime(np.asarray(x, float), self.f, FD_STEP * np.maximum(1.0, np.abs(x)))

    def value(self, x) -> float:
        """The value f(x), not counted (for the final record).

        Args:
            x: the final point of a run.

        Returns:
            f(x).
        """
        return float(self._f(np.asarray(x, dtype=float)))

    def exact_grad_norm(self, x) -> float:
        """Norm of the exact gradient (not counted).

        Args:
            x: the final point of a run.

        Returns:
            |grad f(x)|.
        """
        return float(np.linalg.norm(_as_array(self._g, x)))


def applicable(method: str, mode: str) -> bool:
    """Whether a scipy method can use a gradient mode.

    Args:
        method: a scipy.optimize.minimize method.
        mode: none, jax or hessian.

    Returns:
        True when the combination is meaningful.
    """
    if method in GRADIENT_FREE:
        return mode == "none"
    if mode == "hessian":
        return method in USES_HESSIAN
    return True


def derivative_options(method: str, mode: str, fun: Counted) -> dict:
    """jac/hess/hessp arguments for one (method, gradient mode).

    Args:
        method: the scipy method.
        mode: none (finite differences), jax (exact gradient) or hessian (+ exact Hessian).
        fun: the counted problem.

    Returns:
        Keyword arguments for scipy.optimize.minimize.
    """
    if method in GRADIENT_FREE:
        return {}
    if mode == "none":
        jac = fun.fd_grad if method in NEEDS_GRADIENT else "2-point"
        grad_for_hess = fun.fd_grad
    else:
        jac = grad_for_hess = fun.grad
    opts = {"jac": jac}
    if mode == "hessian":
        opts.update({"hessp": fun.hessp} if method in TAKES_HESSP else {"hess": fun.hess})
    elif method in NEEDS_HESS or method in {"trust-ncg", "trust-krylov"}:

        def fd_hess(x):
            step = FD_STEP * np.maximum(1.0, np.abs(x))
            jac_matrix = np.array([(grad_for_hess(x + e) - grad_for_hess(x)) / s for e, s in zip(np.diag(step), step)])
            return 0.5 * (jac_matrix + jac_matrix.T)

        opts["hess"] = fd_hess
    return opts


def method_options(method: str, settings: dict) -> dict:
    """Scipy options of a method from the stage's settings.

    Args:
        method: the scipy method.
        settings: maxiter, gtol, ftol_target.

    Returns:
        The `options` dict.
    """
    options = {"maxiter": settings["maxiter"]}
    if method in {"CG", "BFGS", "L-BFGS-B", "trust-ncg", "trust-krylov", "trust-exact", "dogleg", "trust-constr"}:
        options["gtol"] = settings["gtol"]
    if method == "Newton-CG":
        options["xtol"] = 1e-12
    if method == "Nelder-Mead":
        options.update(xatol=1e-10, fatol=settings["ftol_target"] / 10, adaptive=True)
    return options


def thin(values: list, points: int = TRACE_POINTS) -> tuple[list[int], list]:
    """Log-spaced subset (1-based positions, values) that keeps the first and last entries.

    Args:
        values: a history.
        points: the most entries kept.

    Returns:
        (positions, values).
    """
    if not values:
        return [], []
    idx = np.unique(np.geomspace(1, len(values), min(points, len(values))).astype(int)) - 1
    return (idx + 1).tolist(), [values[i] for i in idx]


def run_one(
    problem: Problem, method: str, mode: str, x0, settings: dict, compiled: Compiled | None = None
) -> tuple[dict, dict]:
    """One minimisation: counted evaluations, the result, and the trace.

    Args:
        problem: the problem.
        method: the scipy method.
        mode: the gradient mode.
        x0: the start.
        settings: the stage's settings.
        compiled: the problem's compiled derivatives (built when None).

    Returns:
        (record: one table row without the gap columns, trace: f at every evaluation, iterations,
        trajectory); `add_gaps` adds the gaps once the reference f* is known.
    """
    fun = Counted(problem, settings["max_evaluations"], compiled)
    trajectory = [np.asarray(x0, float).tolist()]

    def callback(intermediate_result):
        x = getattr(intermediate_result, "x", intermediate_result)
        trajectory.append(np.asarray(x, float).tolist())

    record = {"method": method, "gradient_mode": mode, "start": str(list(map(float, x0)))}
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            res = minimize(
                fun.f,
                np.asarray(x0, float),
                method=method,
                callback=callback,
                options=method_options(method, settings),
                **derivative_options(method, mode, fun),
            )
            x, success, message, nit = res.x, bool(res.success), str(res.message), int(res.get("nit", -1))
        except Exception as err:  # a failing method is a result, not a crash
            x, success, message, nit = None, False, f"{type(err).__name__}: {err}", -1
    record["wall_time_s"] = time.perf_counter() - started
    warning_text = "; ".join(sorted({str(w.message).splitlines()[0] for w in caught}))
    final_f = fun.value(x) if x is not None else np.nan
    record.update(
        success=success,
        message=message + (f" [warnings: {warning_text}]" if warning_text else ""),
        nit=nit,
        nfev=fun.nfev,
        njev=fun.njev,
        nhev=fun.nhev,
        final_f=float(final_f),
        grad_norm=fun.exact_grad_norm(x) if x is not None else np.nan,
        distance_to_minimiser=(
            float(np.linalg.norm(np.asarray(x) - problem.minimiser))
            if x is not None and problem.minimiser is not None
            else np.nan
        ),
    )
    iterations, path = thin(trajectory)
    trace = {
        **{k: record[k] for k in ("method", "gradient_mode", "start")},
        "f": fun.history,
        "iterations": iterations,
        "trajectory": path,
    }
    return record, trace


def reference_value(problem: Problem, records: list[dict], traces: list[dict]) -> float:
    """The f* that gaps are measured against: the known minimum, else f_best.

    Args:
        problem: the problem.
        records: every run's record (with final_f).
        traces: every run's trace (with the f history).

    Returns:
        f*, or the lowest finite f of any run when none is known.

    Raises:
        ValueError: a configured f* lies above a value that was found; or no run found any
            finite f (nothing to measure against).
    """
    found = [v for t in traces for v in t["f"] if np.isfinite(v)]
    found += [r["final_f"] for r in records if np.isfinite(r["final_f"])]
    f_best = min(found) if found else None
    if problem.fstar is not None:
        if (
            problem.fstar_configured
            and f_best is not None
            and f_best < problem.fstar - 1e-9 * max(1.0, abs(problem.fstar))
        ):
            source = problem.definition["fstar_source"]
            raise ValueError(f"{source} = {problem.fstar!r}, but f = {f_best!r} was found: f* is not the minimum")
        return problem.fstar
    if f_best is None:
        raise ValueError(f"problem {problem.name}: no run evaluated f to a finite number; f_best is undefined")
    return f_best


def add_gaps(record: dict, trace: dict, fstar: float, target: float) -> None:
    """Measure a run against the reference: gap columns in its record, thinned gaps in its trace.

    Args:
        record: the run's record (gains f_minus_fstar, reached_target, evals_to_target).
        trace: the run's trace (its f history becomes evaluations and f_gap).
        fstar: the reference f*.
        target: the tolerance on f - f*.
    """
    gaps = [value - fstar for value in trace.pop("f")]
    hit = next((i + 1 for i, gap in enumerate(gaps) if gap <= target), None)
    f_gap = record["final_f"] - fstar
    record.update(
        f_minus_fstar=f_gap,
        reached_target=bool(np.isfinite(f_gap) and f_gap <= target),
        evals_to_target=hit,
    )
    trace["evaluations"], trace["f_gap"] = thin(gaps)


def compare(problem: Problem, starts, settings: dict) -> tuple[pd.DataFrame, list[dict]]:
    """Every start x method x applicable gradient mode of one problem.

    Args:
        problem: the problem.
        starts: start points.
        settings: methods, gradient_modes and the tolerances.

    Returns:
        (runs table, traces).
    """
    rows, traces = [], []
    compiled = Compiled(problem)
    for x0 in starts:
        for method in settings["methods"]:
            for mode in settings["gradient_modes"]:
                if not applicable(method, mode):
                    continue
                record, trace = run_one(problem, method, mode, x0, settings, compiled)
                log.info("%s %s %s: %s nfev=%d", method, mode, record["start"], record["success"], record["nfev"])
                rows.append({"problem": problem.name, **record})
                traces.append(trace)
    fstar = reference_value(problem, rows, traces)
    problem.definition["reference_fstar"] = fstar
    for record, trace in zip(rows, traces):
        add_gaps(record, trace, fstar, settings["ftol_target"])
    # Against f_best some run always "reaches the target": only a reported success counts then.
    known = problem.fstar is not None
    if rows and not any(r["success"] or (known and r["reached_target"]) for r in rows):
        reasons = sorted({r["message"].split(" [warnings")[0] for r in rows})
        raise ValueError(
            f"optimizers.problems.{problem.name}: all {len(rows)} runs failed (none converged or reached the "
            f"target): {'; '.join(reasons[:3])}. Check the function, its starts, maxiter and max_evaluations"
        )
    return pd.DataFrame(rows), traces


def run_optimize(job, name: str, spec: dict, settings: dict, fit_path: str | None, outputs: dict) -> None:
    """Rule `optimize`: every (start, method, gradient mode) of one problem.

    Args:
        job: the `runtime.Job`.
        name: the problem's name.
        spec: its `optimizers.problems` entry.
        settings: the other `optimizers` keys (methods, modes, tolerances, caps).
        fit_path: fit.json of the problem's likelihood model (None for a function).
        outputs: paths `table` (runs CSV) and `traces` (JSON).
    """
    from diffpipe.artifacts import FitResult, OptimizerRuns, OptimizerTraces
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job

    with compute_job(job) as device:
        started = time.perf_counter()
        fit = FitResult.read(fit_path) if fit_path else None
        problem = build_problem(name, spec, fit)
        table, traces = compare(problem, spec["starts"], settings)
        table["evals_to_target"] = table["evals_to_target"].astype("Int64")
        prov = Provenance.record(
            {"problem": spec, "settings": settings, "fit": fit_path}, device, time.perf_counter() - started
        )
        OptimizerTraces(problem=problem.definition | {"note": problem.note}, runs=traces, provenance=prov).write(
            outputs["traces"]
        )
        OptimizerRuns(table=table, problem=problem.definition | {"note": problem.note}, provenance=prov).write(
            outputs["table"]
        )
