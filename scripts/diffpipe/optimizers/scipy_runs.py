"""scipy.optimize.minimize with and without exact (JAX) derivatives, every evaluation counted.

Gradient modes
- none:    derivatives by finite differences of f (scipy's own where the method accepts that,
           else scipy.optimize.approx_fprime), Hessians by differences of that gradient;
- jax:     exact jit-compiled JAX gradient; a required Hessian by differences of it;
- hessian: exact gradient and exact Hessian (or Hessian-vector product) from JAX.

Every call of f, the gradient and the Hessian is counted by a wrapper (scipy's own counters
omit the evaluations spent inside finite differences), and f, the time since the run started
and the gradient evaluations so far are recorded per call of f, so "evaluations (or seconds)
to reach the tolerance" is measured, not estimated.
"""

import time
import warnings

import numpy as np
from scipy.optimize import approx_fprime, minimize

from diffpipe.optimizers.problems import Problem

GRADIENT_FREE = {"Nelder-Mead", "Powell"}
NEEDS_GRADIENT = {"Newton-CG", "trust-ncg", "trust-krylov", "trust-exact", "dogleg"}
TAKES_HESSP = {"Newton-CG", "trust-ncg", "trust-krylov", "trust-constr"}
NEEDS_HESS = {"trust-exact", "dogleg"}
USES_HESSIAN = TAKES_HESSP | NEEDS_HESS
FD_STEP = np.sqrt(np.finfo(float).eps)


class EvaluationBudgetExceeded(RuntimeError):
    """A run used up its evaluations of f (max_evaluations): recorded as a failed run."""


class Compiled:
    """f, gradient, Hessian and Hessian-vector product of a problem, jit-compiled once.

    Attributes:
        compile_time_s: seconds the first calls (tracing and compiling) took beyond a warm call,
            measured by `warm_up`; kept out of every run's wall time.
    """

    def __init__(self, problem: Problem):
        import jax

        jax.config.update("jax_enable_x64", True)
        fn = problem.fn
        self.f = jax.jit(fn)
        self.grad = jax.jit(jax.grad(fn))
        self.hess = jax.jit(jax.hessian(fn))
        self.hvp = jax.jit(lambda x, v: jax.jvp(jax.grad(fn), (x,), (v,))[1])
        self.compile_time_s = 0.0

    def warm_up(self, x) -> float:
        """Compile every derivative at a point; the compile time is their first calls' excess.

        Args:
            x: a start point.

        Returns:
            The compile time in seconds (also kept in `compile_time_s`).
        """
        x = np.asarray(x, dtype=float)
        calls = [(self.f, (x,)), (self.grad, (x,)), (self.hess, (x,)), (self.hvp, (x, x))]
        started = time.perf_counter()
        for fn, args in calls:
            np.asarray(fn(*args))
        cold = time.perf_counter() - started
        started = time.perf_counter()
        for fn, args in calls:
            np.asarray(fn(*args))
        self.compile_time_s = max(0.0, cold - (time.perf_counter() - started))
        return self.compile_time_s


def _as_array(fn, *args):
    """Call a compiled derivative on float64 NumPy arguments; its result as a NumPy array."""
    return np.asarray(fn(*(np.asarray(a, dtype=float) for a in args)))


class Counted:
    """A problem's derivatives with call counters and the history of one run.

    Attributes:
        history: f at every counted evaluation of f.
        times: seconds since `started` at every evaluation of f.
        grad_history: gradient evaluations so far at every evaluation of f.
    """

    def __init__(self, problem: Problem, budget: int, compiled: Compiled | None = None):
        compiled = compiled or Compiled(problem)
        self._f = problem.numpy_fn or compiled.f
        self._g, self._h, self._hvp = compiled.grad, compiled.hess, compiled.hvp
        self.nfev = self.njev = self.nhev = 0
        self.history: list[float] = []
        self.times: list[float] = []
        self.grad_history: list[int] = []
        self.budget = budget
        self.started = time.perf_counter()

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
        self.times.append(time.perf_counter() - self.started)
        self.history.append(value)
        self.grad_history.append(self.njev)
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


def run_scipy(
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
        (record: one table row without the gap columns; trace: f, time_s and gradient
        evaluations at every evaluation of f, and the iterates).
    """
    fun = Counted(problem, settings["max_evaluations"], compiled)
    trajectory = [np.asarray(x0, float).tolist()]

    def callback(intermediate_result):
        x = getattr(intermediate_result, "x", intermediate_result)
        trajectory.append(np.asarray(x, float).tolist())

    record = {"family": "scipy", "method": method, "gradient_mode": mode}
    fun.started = started = time.perf_counter()
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
    trace = {"f": fun.history, "time_s": fun.times, "gradient_evaluations": fun.grad_history, "iterates": trajectory}
    return record, trace
