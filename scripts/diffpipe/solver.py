"""Batched maximum-likelihood fits: one compiled bounded Newton solve for many fits at once.

Every fit of an analysis (free fit, fixed-POI fits on data and Asimov data, the four refits per
nuisance parameter of a ranking, pseudo-experiments) is the same problem: minimise -ln L(θ | data)
over box bounds with some parameters held at given values. `Solver` compiles that once per model,
with the data, the start, the fixed mask and the fixed values as arguments, so changing which
parameter is fixed does not recompile, and `jax.vmap` fits a whole batch in one call.

Method: Levenberg-damped Newton steps with the exact autodiff gradient and Hessian, projected on
the bounds (a parameter at a bound whose gradient points outwards is held there for that step),
accepted only when -ln L does not rise. A fit has converged when the largest projected gradient
component is below `gtol` (scaled by the curvature, i.e. in units of the parameter's error) and the
last Newton step was accepted. Fits that end unconverged are reported, never dropped: callers
refit them with MINUIT (`minuit_refit`).
"""

from dataclasses import dataclass

import numpy as np

MAX_ITER = 200
GTOL = 1e-9
# Rows per vmapped call: under vmap every row of a call iterates until the slowest one has
# converged, so smaller calls waste less on a few slow fits; larger ones dispatch less.
CHUNK = 1024


@dataclass
class FitBatch:
    """Results of a batch of fits (leading axis: fit).

    Attributes:
        x: best-fit parameters, shape (n, npars).
        nll: -ln L at x, shape (n,).
        converged: per fit, shape (n,).
        iterations: Newton iterations per fit, shape (n,).
        hessian: Hessian of -ln L at the last Newton iterate, shape (n, npars, npars): at a
            converged fit that iterate is within the last (negligible) step of x, so its inverse
            over the floating parameters is the covariance without another compiled function.
    """

    x: np.ndarray
    nll: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    hessian: np.ndarray

    def row(self, i: int) -> "FitBatch":
        """One fit as a one-row batch.

        Args:
            i: its index.

        Returns:
            The `FitBatch` of that fit.
        """
        return FitBatch(*(a[i : i + 1] for a in (self.x, self.nll, self.converged, self.iterations, self.hessian)))


class Solver:
    """Compiled bounded Newton fits of one model.

    Args:
        nll: -ln L(pars, data, extra) as a JAX-traceable scalar function (`extra`: any further
            input the model takes, e.g. a patch's signal yields; None when there is none).
        bounds: (npars, 2) lower and upper bounds.
        max_iter: iteration cap per fit.
        gtol: convergence threshold on |g_i| * sqrt(1 / H_ii) (the gradient in units of sigma).
    """

    def __init__(self, nll, bounds, max_iter: int = MAX_ITER, gtol: float = GTOL):
        import jax
        import jax.numpy as jnp

        self.bounds = np.asarray(bounds, float)
        grad, hess = jax.grad(nll), jax.hessian(nll)
        self.npars = len(self.bounds)
        self.nll = jax.jit(nll)
        self.grad = jax.jit(grad)
        self.hess = jax.jit(hess)

        def solve(x0, data, fixed, values, extra, lo, hi):
            x0 = jnp.where(fixed, values, jnp.clip(x0, lo, hi))  # held values may lie outside

            def step(state):
                x, f, lam, it, done, _, _ = state
                g, h = grad(x, data, extra), hess(x, data, extra)
                hold = fixed | ((x <= lo) & (g > 0)) | ((x >= hi) & (g < 0))
                free = ~hold
                g_free = jnp.where(free, g, 0.0)
                scale = jnp.abs(jnp.diag(h)) + 1e-12
                mask = free[:, None] & free[None, :]
                h_free = jnp.where(mask, h, 0.0) + jnp.diag(jnp.where(free, lam * scale, 1.0))
                delta = -jnp.linalg.solve(h_free, g_free)
                trial = jnp.where(fixed, x, jnp.clip(x + delta, lo, hi))
                f_trial = nll(trial, data, extra)
                ok = jnp.isfinite(f_trial) & (f_trial <= f + 1e-13 * jnp.maximum(1.0, jnp.abs(f)))
                x_new = jnp.where(ok, trial, x)
                f_new = jnp.where(ok, f_trial, f)
                lam_new = jnp.where(ok, jnp.maximum(lam * 0.1, 1e-12), jnp.minimum(lam * 10.0, 1e12))
                g_sigma = jnp.abs(g_free) / jnp.sqrt(scale)
                converged = ok & (jnp.max(g_sigma) < gtol)
                # a rejected step with a negligible proposed change: the minimum is reached
                tiny = (lam <= 1.0) & (jnp.max(jnp.abs(delta) * jnp.sqrt(scale)) < 1e-14)
                return x_new, f_new, lam_new, it + 1, converged | tiny, converged | tiny, h

            def more(state):
                return (~state[4]) & (state[3] < max_iter)

            f0 = nll(x0, data, extra)
            h0 = jnp.zeros((x0.shape[0], x0.shape[0]), x0.dtype)
            state = (x0, f0, jnp.asarray(1e-3), 0, jnp.asarray(False), jnp.asarray(False), h0)
            x, f, _, it, _, converged, h = jax.lax.while_loop(more, step, state)
            return x, f, converged, it, h

        self._solve = jax.jit(solve)
        self._solve_batch = jax.jit(jax.vmap(solve, in_axes=(0, 0, 0, 0, None, None, None)))
        self.extra = None

    def fit(self, x0, data, fixed=None, values=None, batched: bool = False, bounds=None) -> FitBatch:
        """Fit several problems (rows), one by one or in one vmapped call.

        One by one reuses one compiled fit whatever the number of rows (the right choice for a
        few hundred fits of a large model); `batched` compiles once per number of rows and runs
        them all in one call (the right choice for thousands of fits of a small model).

        Args:
            x0: starts, shape (n, npars) (or (npars,): broadcast).
            data: datasets, shape (n, ndata) (or (ndata,): broadcast).
            fixed: bool mask of held parameters, shape (n, npars) or (npars,) (default: none).
            values: values of the held parameters, same shape as `fixed` (default: x0).
            batched: one vmapped call instead of one call per row.
            bounds: (npars, 2) bounds (default: the solver's); changing them does not recompile.

        Returns:
            The `FitBatch`.
        """
        x0 = np.atleast_2d(np.asarray(x0, float))
        data = np.atleast_2d(np.asarray(data, float))
        fixed = np.zeros(self.npars, bool) if fixed is None else np.asarray(fixed, bool)
        fixed = np.atleast_2d(fixed)
        values = x0 if values is None else np.atleast_2d(np.asarray(values, float))
        n = max(len(x0), len(data), len(fixed), len(values))
        x0, data, fixed, values = (_rows(a, n) for a in (x0, data, fixed, values))
        lo, hi = np.asarray(self.bounds if bounds is None else bounds, float).T
        if batched:
            parts = []
            for first in range(0, n, CHUNK):
                rows = slice(first, min(first + CHUNK, n))
                size = rows.stop - rows.start
                pad = CHUNK - size if n > CHUNK else 0  # one compiled shape for every chunk
                args = [
                    np.concatenate([a[rows], np.repeat(a[rows][-1:], pad, axis=0)]) for a in (x0, data, fixed, values)
                ]
                out = self._solve_batch(*args, self.extra, lo, hi)
                parts.append([np.asarray(a)[:size] for a in out])
            return FitBatch(*(np.concatenate([p[k] for p in parts]) for k in range(5)))
        rows = [self._solve(x0[i], data[i], fixed[i], values[i], self.extra, lo, hi) for i in range(n)]
        return FitBatch(*(np.asarray([row[k] for row in rows]) for k in range(5)))


def minuit_refit(solver: Solver, x0, data, fixed, values, bounds) -> tuple[np.ndarray, float, bool]:
    """One fit with MINUIT (MIGRAD, strategy 2, exact gradient): the fallback for a fit that did not converge.

    Args:
        solver: the model's `Solver` (its compiled nll and gradient are reused).
        x0: start, shape (npars,).
        data: the dataset.
        fixed: bool mask of held parameters.
        values: their values.
        bounds: (npars, 2) bounds.

    Returns:
        (x, nll, valid).
    """
    from iminuit import Minuit

    data = np.asarray(data, float)
    start = np.where(fixed, values, x0).astype(float)
    m = Minuit(
        lambda p: float(solver.nll(np.asarray(p), data, solver.extra)),
        start,
        grad=lambda p: np.asarray(solver.grad(np.asarray(p), data, solver.extra)),
    )
    m.errordef = Minuit.LIKELIHOOD
    m.limits = [tuple(b) for b in np.asarray(bounds, float)]
    m.fixed = list(np.asarray(fixed, bool))
    m.strategy = 2
    m.tol = 1e-6
    m.print_level = 0
    m.migrad()
    x = np.asarray(m.values, float)
    return x, float(solver.nll(x, data, solver.extra)), bool(m.valid)


def _rows(a, n: int) -> np.ndarray:
    a = np.atleast_2d(np.asarray(a))
    return np.broadcast_to(a, (n, a.shape[1]))


def fit_all(
    solver: Solver, x0, data, fixed=None, values=None, bounds=None, batched: bool = False
) -> tuple[FitBatch, int]:
    """`Solver.fit`, then MINUIT for every fit that did not converge (none dropped).

    Args:
        solver: the model's `Solver`.
        x0: starts (see `Solver.fit`).
        data: datasets.
        fixed: held-parameter masks.
        values: held values.
        bounds: (npars, 2) bounds (default: the solver's).
        batched: one vmapped call for all rows (see `Solver.fit`).

    Returns:
        (the batch, with refitted rows replaced where MINUIT found a lower -ln L; number refitted).
    """
    bounds = solver.bounds if bounds is None else np.asarray(bounds, float)
    batch = solver.fit(x0, data, fixed, values, batched=batched, bounds=bounds)
    bad = np.flatnonzero(~batch.converged)
    if len(bad) == 0:
        return batch, 0
    n = len(batch.nll)
    x0b, datab = (_rows(a, n) for a in (x0, data))
    fixedb = _rows(np.zeros(solver.npars, bool) if fixed is None else fixed, n)
    valuesb = x0b if values is None else _rows(values, n)
    x, nll, converged, hessian = batch.x.copy(), batch.nll.copy(), batch.converged.copy(), batch.hessian.copy()
    for i in bad:
        xi, fi, valid = minuit_refit(solver, batch.x[i], datab[i], fixedb[i], valuesb[i], bounds)
        if fi <= nll[i]:
            x[i], nll[i] = xi, fi
            hessian[i] = np.asarray(solver.hess(xi, datab[i], solver.extra))
        converged[i] = valid
    return FitBatch(x, nll, converged, batch.iterations, hessian), len(bad)
