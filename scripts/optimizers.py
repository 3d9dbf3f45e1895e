"""Optimizer comparison: scipy.optimize.minimize with and without exact (JAX) derivatives.

Gradient modes
- none:    derivatives by finite differences of f (scipy's own where the method accepts that,
           else scipy.optimize.approx_fprime), Hessians by differences of that gradient;
- jax:     exact jit-compiled JAX gradient; a required Hessian by differences of it;
- hessian: exact gradient and exact Hessian (or Hessian-vector product) from JAX.

Every call of f, the gradient and the Hessian is counted by a wrapper (scipy's own counters
omit the evaluations spent inside finite differences), and f - f* is recorded per call, so
"evaluations to reach the tolerance" is measured, not estimated. Failures are data.
"""


import logging
import time
import warnings
from dataclasses import dataclass

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


class EvaluationBudgetExceeded(RuntimeError):
    pass


@dataclass
class Problem:
    name: str
    fn: object  # JAX-traceable scalar function of a 1-D float64 array
    fstar: float
    minimiser: np.ndarray | None  # None: no unique minimiser (measure f - f* only)
    note: str = ""
    numpy_fn: object = None  # the same f in NumPy: ~30x cheaper per call than a jit dispatch


def build_problem(name: str, spec: dict, model_spec: dict | None = None) -> Problem:
    import jax.numpy as jnp

    from functions import make_ill_conditioned_quadratic, resolve

    dim = len(spec["starts"][0])
    if spec.get("likelihood_model"):
        from likelihood import fit_mle, make_likelihood
        from likelihood_model import build_model, nll_function, use_jax_backend

        use_jax_backend()
        model, data = build_model(model_spec)
        nll = nll_function(model, data)
        # Independent reference minimum: MINUIT + Newton polish with the exact Hessian.
        lik = make_likelihood(model, data, model_spec.get("bounds"))
        x_hat = lik.full(fit_mle(lik)["x"])
        return Problem(name, nll, float(nll(jnp.asarray(x_hat))), x_hat, "negative log-likelihood (pyhf)")
    if spec["function"] == "ill_conditioned_quadratic":
        func = make_ill_conditioned_quadratic(spec.get("condition", 1e4))
    else:
        func = resolve(spec["function"])
    if func.minimum is None:
        raise ValueError(f"problem {name}: function {spec['function']} has no known minimum f*")
    minimiser = func.minimiser(dim) if func.minimiser is not None else None
    note = "" if minimiser is not None else "no unique minimiser: distance not defined, f - f* reported"
    return Problem(
        name, lambda x: func.fn(x, jnp), float(func.minimum), minimiser, note, lambda x: float(func.fn(x, np))
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


class Counted:
    """A problem's derivatives with call counters and the f - f* history of one run."""

    def __init__(self, problem: Problem, budget: int, target: float, compiled: Compiled | None = None):
        compiled = compiled or Compiled(problem)
        self._f = problem.numpy_fn or compiled.f
        self._g, self._h, self._hvp = compiled.grad, compiled.hess, compiled.hvp
        self.fstar = problem.fstar
        self.nfev = self.njev = self.nhev = 0
        self.history: list[float] = []
        self.budget, self.target = budget, target
        self.first_hit = -1  # evaluation count at which f - f* first reached the target

    def f(self, x):
        if self.nfev >= self.budget:
            raise EvaluationBudgetExceeded(f"stopped after {self.budget} evaluations of f (max_evaluations)")
        self.nfev += 1
        value = float(self._f(np.asarray(x, dtype=float)))
        gap = value - self.fstar
        self.history.append(gap)
        if self.first_hit < 0 and gap <= self.target:
            self.first_hit = self.nfev
        return value

    def grad(self, x):
        self.njev += 1
        return np.asarray(self._g(np.asarray(x, dtype=float)))

    def hess(self, x):
        self.nhev += 1
        return np.asarray(self._h(np.asarray(x, dtype=float)))

    def hessp(self, x, p):
        self.nhev += 1
        return np.asarray(self._hvp(np.asarray(x, dtype=float), np.asarray(p, dtype=float)))

    def fd_grad(self, x):
        return approx_fprime(np.asarray(x, float), self.f, FD_STEP * np.maximum(1.0, np.abs(x)))

    def value(self, x) -> float:
        """f without counting (for the final record)."""
        return float(self._f(np.asarray(x, dtype=float)))

    def exact_grad_norm(self, x) -> float:
        return float(np.linalg.norm(np.asarray(self._g(np.asarray(x, dtype=float)))))


def applicable(method: str, mode: str) -> bool:
    if method in GRADIENT_FREE:
        return mode == "none"
    if mode == "hessian":
        return method in USES_HESSIAN
    return True


def derivative_options(method: str, mode: str, fun: Counted) -> dict:
    """jac/hess/hessp arguments for one (method, gradient mode)."""
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
    options = {"maxiter": settings["maxiter"]}
    if method in {"CG", "BFGS", "L-BFGS-B", "trust-ncg", "trust-krylov", "trust-exact", "dogleg", "trust-constr"}:
        options["gtol"] = settings["gtol"]
    if method == "Newton-CG":
        options["xtol"] = 1e-12
    if method == "Nelder-Mead":
        options.update(xatol=1e-10, fatol=settings["ftol_target"] / 10, adaptive=True)
    return options


def thin(values: list, points: int = TRACE_POINTS) -> tuple[list[int], list]:
    """Log-spaced subset (1-based positions, values) that keeps the first and last entries."""
    if not values:
        return [], []
    idx = np.unique(np.geomspace(1, len(values), min(points, len(values))).astype(int)) - 1
    return (idx + 1).tolist(), [values[i] for i in idx]


def run_one(
    problem: Problem, method: str, mode: str, x0, settings: dict, compiled: Compiled | None = None
) -> tuple[dict, dict]:
    fun = Counted(problem, settings["max_evaluations"], settings["ftol_target"], compiled)
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
    f_gap = final_f - problem.fstar
    record.update(
        success=success,
        message=message + (f" [warnings: {warning_text}]" if warning_text else ""),
        nit=nit,
        nfev=fun.nfev,
        njev=fun.njev,
        nhev=fun.nhev,
        final_f=float(final_f),
        f_minus_fstar=f_gap,
        grad_norm=fun.exact_grad_norm(x) if x is not None else np.nan,
        distance_to_minimiser=(
            float(np.linalg.norm(np.asarray(x) - problem.minimiser))
            if x is not None and problem.minimiser is not None
            else np.nan
        ),
        reached_target=bool(np.isfinite(f_gap) and f_gap <= settings["ftol_target"]),
        evals_to_target=fun.first_hit,
    )
    evaluations, f_gap = thin(fun.history)
    iterations, path = thin(trajectory)
    trace = {
        **{k: record[k] for k in ("method", "gradient_mode", "start")},
        "evaluations": evaluations,
        "f_gap": f_gap,
        "iterations": iterations,
        "trajectory": path,
    }
    return record, trace


def compare(problem: Problem, starts, settings: dict) -> tuple[pd.DataFrame, list[dict]]:
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
    return pd.DataFrame(rows), traces


def gradient_benefit(table: pd.DataFrame) -> pd.DataFrame:
    """Per method and start: evaluations of f to reach the target, finite differences vs exact."""
    pivot = table.pivot_table(
        index=["method", "start"], columns="gradient_mode", values="evals_to_target", aggfunc="first"
    )
    if "none" not in pivot or "jax" not in pivot:
        return pd.DataFrame()
    pivot = pivot.reset_index()
    pivot["exact_fewer"] = (pivot["jax"] > 0) & ((pivot["none"] < 0) | (pivot["jax"] < pivot["none"]))
    return pivot


def main(smk) -> None:
    from artifacts import write_csv, write_json, write_provenance
    from runtime import start_job

    device = start_job(smk)
    started = time.perf_counter()
    spec, settings = smk.params.problem, smk.params.settings
    problem = build_problem(smk.wildcards.problem, spec, smk.params.model or None)
    table, traces = compare(problem, spec["starts"], settings)
    table["fstar"] = problem.fstar
    table["unique_minimiser"] = problem.minimiser is not None
    table["note"] = problem.note
    elapsed = time.perf_counter() - started
    write_json(smk.output.traces, {"problem": problem.name, "fstar": problem.fstar, "runs": traces})
    write_provenance(smk.output.table, {"problem": spec, "settings": settings}, device, elapsed)
    write_csv(smk.output.table, table)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
