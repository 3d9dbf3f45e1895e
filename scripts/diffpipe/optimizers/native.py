"""JAX-native minimisers (optimistix, optax) in one jit-compiled loop per (problem, method).

Every solver runs inside one `jax.lax.while_loop`, compiled once per problem and method, with
the stopping rule of the scipy runs: the gradient's max-norm at the current point below
`gtol`, or `maxiter` steps (or the solver's own failure). Three arguments of the compiled loop
make the benchmark honest:

- `x0`: every start and repetition shares the one executable;
- `limit`: a step cap, so timed runs replay exactly the first k steps of the counted run (the
  wall time at step k is measured, as benchopt does, not interpolated from the total);
- `count`: evaluations of f, of the gradient and of the Hessian reach Python counters through
  callbacks only when it is true. The counted and the timed runs execute the same
  executable, so they take the same steps; the callbacks stay out of the timings.

The evaluation budget (`max_evaluations` of f) is applied to the counted run: the timed runs
stop at the last step within it, and a run that needed more is recorded as failed.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# method -> (family, gradient mode): what the solver uses of the problem.
NATIVE_METHODS = {
    "optimistix-BFGS": ("optimistix", "jax"),
    "optimistix-LBFGS": ("optimistix", "jax"),
    "optimistix-NonlinearCG": ("optimistix", "jax"),
    "optimistix-Newton": ("optimistix", "hessian"),
    "optax-adam": ("optax", "jax"),
    "optax-lbfgs": ("optax", "jax"),
}


@dataclass
class Counts:
    """What one counted run evaluated, in order.

    Attributes:
        f: f at every evaluation of f (gradient evaluations evaluate f too).
        grad: cumulative gradient evaluations after each evaluation of f.
        nhev: Hessian evaluations.
        step_ends: cumulative evaluations of f at the end of each step (index k-1: step k).
    """

    f: list = field(default_factory=list)
    grad: list = field(default_factory=list)
    nhev: int = 0
    step_ends: list = field(default_factory=list)

    def reset(self) -> None:
        """Empty the counters in place (the compiled loop's callbacks hold this object)."""
        self.f, self.grad, self.nhev, self.step_ends = [], [], 0, []

    def value(self, v) -> None:
        """An evaluation of f alone.

        Args:
            v: the value.
        """
        self.f.append(float(v))
        self.grad.append(self.grad[-1] if self.grad else 0)

    def value_and_grad(self, v) -> None:
        """An evaluation of f with its gradient.

        Args:
            v: the value.
        """
        self.f.append(float(v))
        self.grad.append((self.grad[-1] if self.grad else 0) + 1)

    def hessian(self, _) -> None:
        """An evaluation of the Hessian.

        Args:
            _: the callback's operand (unused).
        """
        self.nhev += 1

    def step(self, _) -> None:
        """The end of a step.

        Args:
            _: the callback's operand (unused).
        """
        self.step_ends.append(len(self.f))


def _emit(count, callback, operand) -> None:
    """Call `callback(operand)` on the host when `count` is true (a traced boolean)."""
    import jax

    jax.lax.cond(
        count,
        lambda v: jax.debug.callback(callback, v, ordered=True),
        lambda v: None,
        operand,
    )


def counted_functions(fn: Callable, counts: Counts, count):
    """The function and its Hessian, reporting each evaluation to `counts` when `count` is true.

    f is a `jax.custom_jvp` function: a plain call counts an evaluation of f; a call under
    differentiation (optimistix linearises f, optax takes value_and_grad) evaluates f and its
    gradient together and counts both.

    Args:
        fn: the problem's JAX function of a 1-D array.
        counts: the counters.
        count: traced boolean, true in the counted run.

    Returns:
        (f, hessian): both traceable.
    """
    import jax

    @jax.custom_jvp
    def f(x):
        value = fn(x)
        _emit(count, counts.value, value)
        return value

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (dx,) = primals, tangents
        value, grad = jax.value_and_grad(fn)(x)
        _emit(count, counts.value_and_grad, value)
        return value, grad @ dx

    def hessian(x):
        h = jax.hessian(fn)(x)
        _emit(count, counts.hessian, h[0, 0])
        return h

    return f, hessian


def _exact_newton(hessian: Callable):
    """Newton's method in optimistix: the exact Hessian in a trust region.

    The descent is Levenberg-Marquardt-damped and the classical trust region keeps it
    descending where the Hessian is indefinite.

    Args:
        hessian: the (counted) Hessian of f.

    Returns:
        An optimistix minimiser.
    """
    import jax.numpy as jnp
    import lineax as lx
    import optimistix as optx

    class ExactNewton(optx.AbstractQuasiNewton):
        """Quasi-Newton machinery whose Hessian "update" evaluates the exact Hessian."""

        rtol: float
        atol: float
        norm: Callable
        use_inverse: bool
        descent: optx.DampedNewtonDescent
        search: optx.ClassicalTrustRegion
        verbose: Callable
        hess: Callable

        def init_hessian(self, y, f, grad):
            zero = lx.MatrixLinearOperator(jnp.zeros((y.size, y.size), y.dtype), lx.symmetric_tag)
            return optx.FunctionInfo.EvalGradHessian(f, grad, zero), None

        def update_hessian(self, y, y_eval, f_info, f_eval_info, hessian_update_state):
            matrix = lx.MatrixLinearOperator(self.hess(y_eval), lx.symmetric_tag)
            return optx.FunctionInfo.EvalGradHessian(f_eval_info.f, f_eval_info.grad, matrix), None

    return ExactNewton(
        rtol=0.0,
        atol=0.0,
        norm=optx.max_norm,
        use_inverse=False,
        descent=optx.DampedNewtonDescent(),
        search=optx.ClassicalTrustRegion(),
        verbose=lambda **kwargs: None,
        hess=hessian,
    )


def _optimistix_solver(method: str, hessian: Callable):
    import optimistix as optx

    # The shared gradient rule stops the runs; rtol = atol = 0 leaves the solvers' own
    # Cauchy test only for exact stagnation.
    if method == "optimistix-BFGS":
        return optx.BFGS(rtol=0.0, atol=0.0)
    if method == "optimistix-LBFGS":
        return optx.LBFGS(rtol=0.0, atol=0.0)
    if method == "optimistix-NonlinearCG":
        return optx.NonlinearCG(rtol=0.0, atol=0.0)
    if method == "optimistix-Newton":
        return _exact_newton(hessian)
    raise ValueError(f"unknown optimistix method {method!r}; valid: {sorted(NATIVE_METHODS)}")


def _optimistix_loop(method: str, f: Callable, hessian: Callable):
    """The init and step functions of an optimistix minimiser under the shared stopping rule."""
    import jax
    import jax.numpy as jnp
    import optimistix as optx

    solver = _optimistix_solver(method, hessian)
    fn = lambda y, args: (f(y), None)  # noqa: E731  optimistix's (value, aux) convention
    options, tags = {}, frozenset()

    def init(x0):
        f_struct = jax.ShapeDtypeStruct((), x0.dtype)
        return solver.init(fn, x0, None, options, f_struct, None, tags)

    def step(y, state):
        y, state, _ = solver.step(fn, y, None, options, state, tags)
        stagnated, result = solver.terminate(fn, y, None, options, state, tags)
        grad_norm = jnp.max(jnp.abs(state.f_info.grad))
        failed = result != optx.RESULTS.successful
        return y, state, grad_norm, stagnated | failed, failed

    return init, step


def _optax_loop(method: str, f: Callable, settings: dict):
    """The init and step functions of an optax transformation under the shared stopping rule."""
    import jax
    import jax.numpy as jnp
    import optax

    if method == "optax-adam":
        opt = optax.adam(settings["learning_rate"])
        value_and_grad = jax.value_and_grad(f)
    elif method == "optax-lbfgs":
        opt = optax.lbfgs()
        value_and_grad = optax.value_and_grad_from_state(f)  # reuses the line search's evaluation
    else:
        raise ValueError(f"unknown optax method {method!r}; valid: {sorted(NATIVE_METHODS)}")

    def init(x0):
        return opt.init(x0)

    def step(y, state):
        if method == "optax-lbfgs":
            value, grad = value_and_grad(y, state=state)
        else:
            value, grad = value_and_grad(y)
        grad_norm = jnp.max(jnp.abs(grad))
        updates, new_state = opt.update(grad, state, y, value=value, grad=grad, value_fn=f)
        done = grad_norm <= settings["gtol"]
        y = jnp.where(done, y, optax.apply_updates(y, updates))
        return y, new_state, grad_norm, ~jnp.isfinite(value), ~jnp.isfinite(value)

    return init, step


@dataclass
class NativeRunner:
    """One method's compiled loop for one problem.

    Attributes:
        method: a key of NATIVE_METHODS.
        family: optimistix or optax.
        gradient_mode: jax (gradient) or hessian (gradient and Hessian).
        counts: the counters the counted run fills.
        run: the loop, run(x0, limit, count) -> (x, steps, grad_norm, converged, failed);
            after `compile`, the compiled executable.
        compile_time_s: seconds `compile` took (tracing, lowering and compiling).
    """

    method: str
    family: str
    gradient_mode: str
    counts: Counts
    run: Callable
    compile_time_s: float = 0.0

    def compile(self, x0) -> float:
        """Compile the loop ahead of time for starts shaped like x0 (every start shares it).

        Args:
            x0: a start point.

        Returns:
            The compile time in seconds (also kept in `compile_time_s`).
        """
        import jax.numpy as jnp

        started = time.perf_counter()
        self.run = self.run.lower(jnp.asarray(np.asarray(x0, float)), 0, True).compile()
        self.compile_time_s = time.perf_counter() - started
        return self.compile_time_s


def build_runner(fn: Callable, method: str, settings: dict) -> NativeRunner:
    """Compile-ready loop of one JAX-native method on one problem.

    Args:
        fn: the problem's JAX function of a 1-D float64 array.
        method: a key of NATIVE_METHODS.
        settings: gtol, learning_rate (optax adam).

    Returns:
        The `NativeRunner` (compiled on its first call).
    """
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    if method not in NATIVE_METHODS:
        raise ValueError(f"unknown JAX-native method {method!r}; valid: {sorted(NATIVE_METHODS)}")
    family, mode = NATIVE_METHODS[method]
    counts = Counts()
    gtol = settings["gtol"]

    def solve(x0, limit, count):
        f, hessian = counted_functions(fn, counts, count)
        if family == "optimistix":
            init, step = _optimistix_loop(method, f, hessian)
        else:
            init, step = _optax_loop(method, f, settings)

        # Only the state's arrays are carried; the rest (closures, operator structure) is
        # static and equal at every step, as in optimistix's own loop.
        dynamic, static = eqx.partition(init(x0), eqx.is_array)

        def cond(carry):
            _, _, k, grad_norm, stop, _ = carry
            return (k < limit) & ~stop & ~(grad_norm <= gtol)

        def body(carry):
            y, state, k, _, _, _ = carry
            y, state, grad_norm, stop, failed = step(y, eqx.combine(state, static))
            _emit(count, counts.step, k)
            return y, eqx.filter(state, eqx.is_array), k + 1, grad_norm, stop, failed

        start = (x0, dynamic, jnp.array(0), jnp.array(jnp.inf, x0.dtype), jnp.array(False), jnp.array(False))
        y, _, steps, grad_norm, _, failed = jax.lax.while_loop(cond, body, start)
        return y, steps, grad_norm, grad_norm <= gtol, failed

    return NativeRunner(method, family, mode, counts, jax.jit(solve))


def checkpoints(steps: int, points: int = 10) -> list[int]:
    """Step counts at which a timed run is stopped: log-spaced, ending at `steps`.

    Args:
        steps: the run's number of steps.
        points: the most checkpoints.

    Returns:
        Increasing step counts (at least [steps]; empty for 0).
    """
    if steps <= 0:
        return []
    return sorted({int(k) for k in np.unique(np.geomspace(1, steps, min(points, steps)).round())} | {steps})
