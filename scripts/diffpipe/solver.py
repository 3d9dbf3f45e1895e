"""Batched maximum-likelihood fits: one compiled bounded Newton solve for many fits at once.

Every fit of an analysis (free fit, fixed-POI fits on data and Asimov data, the four refits per
nuisance parameter of a ranking, pseudo-experiments) is the same problem: minimise -ln L(θ | data)
over box bounds with some parameters held at given values. `Solver` compiles that once per model,
with the data, the start, the fixed mask and the fixed values as arguments, so changing which
parameter is fixed does not recompile, and `jax.vmap` fits a whole batch in one call.

Method: Levenberg-damped Newton steps with the exact gradient and Hessian, projected on the
bounds (a parameter at a bound whose gradient points outwards is held there for that step),
accepted only when -ln L does not rise (a start where it is not finite ends the fit,
unconverged). Above SMALL parameters the damped system is solved by Cholesky (about half an LU's
cost; a damped Hessian that is not positive definite gives a non-finite step, rejected like any
other, and more damping). A fit has converged when a step was
accepted and the largest projected gradient component at its new point is below `gtol` (scaled by
the curvature, i.e. in units of the parameter's error). Fits that end unconverged are reported,
never dropped: `fitting.fit_all` refits them with MINUIT (with a bounded number of calls).

Batched fits may take their steps from a cheaper curvature (`curvature`: the HistFactory kernel's
Hessian with float32 matrix products): the fixed point of a Newton iteration is set by the exact
gradient, so the fits converge to the same minimum, and the exact Hessian is computed once per fit
at its end, where the caller asks for it.

A model may give its likelihood's domain (`domain`: for a HistFactory model, no bin without
events has a negative expected count). A step that leaves it is rejected like a non-finite one
(more damping), and a fit whose steps leave it STRIKES times ends, marked `outside`: pyhf's Poisson
term of such a bin is the expected count itself, so -ln L falls without bound as a shift drives
the bin down, and the fit would run down that slope to the box bounds (published likelihoods'
toys: a few percent of them, each taking the iteration cap and minutes of MINUIT). Such a fit is
a named failure, not refitted.
"""

import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

MAX_ITER = 200
GTOL = 1e-9
# one-by-one fits (an analysis' own: limits, scans, the fits finite differences check gradients
# against) end at a gradient this much below GTOL: one step more at most, since Newton converges
# quadratically there, and best fits to ~1e-12 sigma (a difference quotient over a 1e-4 step reads
# 1e-9 sigma as a 1e-5 error)
FINE = 1e-3
# steps out of the likelihood's domain after which a fit ends as `outside` (each is rejected and
# raises the damping). On 512 toys of the 1Lbb patch 1, 3, 5 and 10 strikes flagged 37, 27, 12 and
# 11 toys: a fit whose minimum lies inside comes back after a few
STRIKES = 10
# Batched fits run on up to LANES lanes through a queue of up to QUEUE rows per compiled call (and
# at most QUEUE_ENTRIES Hessian entries per queue, which bounds the call's memory). On a CPU the
# lanes' Hessians are kept within LANE_ENTRIES entries (2 MiB, about a core's L2 cache): measured on
# 2 cores, 256 lanes were fastest for small models (128-1024 tried), 16 for the published 1Lbb
# likelihood (126 parameters: 73 free fits/s against 11 on 256 lanes, whose slowest fits keep the
# finished lanes computing) and 32 for 3L eRJR (69: 520 against 332). A GPU needs many more lanes.
LANES = 256
MIN_LANES = 16
LANE_ENTRIES = 2**18
QUEUE = 8192
GPU_LANES = 8192
GPU_QUEUE = 131072
QUEUE_ENTRIES = 2**25
# A pool's queue (`fit_rows`: one fit per waiting patch, a few dozen rows per call, their steps from
# 2 to 60) on a CPU: fewer lanes leave less of a call's tail idle. A signal grid's limits through
# `grid_limits` on one core, 16/32/64 lanes against 4: 1Lbb (32 patches) 49.1 s against 28.1,
# 3L eRJR (64) 23.4 against 18.4, the generated 55-parameter grid (25) 24.4 against 19.2, the
# limits equal to 6e-14 (2 lanes 28.0 s and 1 lane 32.2 on 1Lbb).
POOL_LANES = 4
# Up to this many parameters the Newton step is solved by unrolled elimination (vectorised
# element-wise over a batch; LAPACK's per-matrix calls cost more than the arithmetic there).
SMALL = 12
# the Levenberg damping a fit starts with (relative to the curvature's diagonal). Above SMALL
# parameters a start far from the minimum (a toy's free fit from the model's init) starts with
# COLD_DAMPING (`Solver.initial_damping`): there the first Newton steps overshoot and each
# rejection (x10 damping) costs a whole evaluation. Toys' free fits from the suggested init, 1e-3,
# 1e-2, 1e-1, 1: 3L eRJR (69 parameters, 1 000 toys) 12.4, 11.4, 10.4, 9.4 steps; 1Lbb (126, 256
# toys) 16.9, -, 14.5, 13.4; the generated 56-parameter patch (500) 7.5 at 1e-3, 6.2 at 1e-1, the
# same minima. A warm start (the held fit from the free minimum) takes 4.5, 4.6, 4.9, 5.7 on 3L
# and keeps DAMPING, as do small models: GaussExample (7) 3.9 -> 4.5 steps at 1e-1, and the
# multichannel workspace (3, two minima) reaches the other minimum on some toys
DAMPING = 1e-3
COLD_DAMPING = 0.1
# the damped system's diagonal shift relative to its diagonal beside the Levenberg damping, so that
# a held row (identity) and a free one are both well scaled for Cholesky
_JITTER = 1e-12


class NewtonState(NamedTuple):
    """One fit's damped Newton iteration (a JAX pytree: one lane's, or many lanes' under vmap)."""

    x: Any  # the parameters
    f: Any  # -ln L at x
    g: Any  # its gradient
    h: Any  # its Hessian
    lam: Any  # the Levenberg damping
    it: Any  # steps taken
    fresh: Any  # x is a start whose derivatives are still to be computed
    strikes: Any  # steps rejected for leaving the likelihood's domain


@dataclass
class FitBatch:
    """Results of a batch of fits (leading axis: fit).

    Attributes:
        x: best-fit parameters, shape (n, npars).
        nll: -ln L at x, shape (n,).
        converged: per fit, shape (n,).
        iterations: Newton iterations per fit, shape (n,).
        hessian: exact Hessian of -ln L at x, shape (n, npars, npars); None where the caller did
            not ask for it.
        outside: per fit, whether it ended outside the likelihood's domain (never converged).
        refitted: per fit, whether MINUIT redid it (`fitting.fit_all`); None: all False.
        refit_seconds: per fit, the wall seconds of its MINUIT refit (0 where none); None: all 0.
    """

    x: np.ndarray
    nll: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    hessian: np.ndarray | None
    outside: np.ndarray
    refitted: np.ndarray | None = None
    refit_seconds: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.refitted is None:
            self.refitted = np.zeros(len(self.nll), bool)
        if self.refit_seconds is None:
            self.refit_seconds = np.zeros(len(self.nll))

    def row(self, i: int) -> "FitBatch":
        """One fit as a one-row batch.

        Args:
            i: its index.

        Returns:
            The `FitBatch` of that fit.
        """
        return FitBatch(*(None if a is None else a[i : i + 1] for a in _fields(self)))


class Solver:
    """Compiled bounded Newton fits of one model.

    Args:
        nll: -ln L(pars, data, derived) as a JAX-traceable scalar function (`derived`: the
            kernel's derived numbers the model takes as input, e.g. a patch's; None: its own).
        bounds: (npars, 2) lower and upper bounds.
        max_iter: iteration cap per fit.
        gtol: convergence threshold of batched fits on |g_i| * sqrt(1 / H_ii) (the gradient in
            units of sigma); one-by-one fits use gtol * FINE.
        derivatives: (value, gradient, Hessian)(pars, data, derived) of `nll` computed another way
            (the HistFactory kernel's structured derivatives), used above SMALL parameters;
            default: autodiff of `nll`.
        domain: whether (pars, data, derived) lies in the likelihood's domain (a JAX-traceable
            bool); default: everywhere.
        curvature: (value, gradient, approximate Hessian)(pars, data, derived) for the steps of
            batched fits above SMALL parameters (value and gradient exact); default: `derivatives`.
    """

    def __init__(
        self,
        nll,
        bounds,
        max_iter: int = MAX_ITER,
        gtol: float = GTOL,
        derivatives=None,
        domain=None,
        curvature=None,
    ):
        import jax
        import jax.numpy as jnp

        self.bounds = np.asarray(bounds, float)
        self.npars = len(self.bounds)
        self.nll = jax.jit(nll)
        self.grad = jax.jit(jax.grad(nll))
        linsolve = _small_solve if self.npars <= SMALL else _cholesky_solve

        def autodiff(x, data, derived):
            """-ln L, gradient and Hessian from one forward-over-reverse pass."""

            def value_and_grad(y):
                f, g = jax.value_and_grad(nll)(y, data, derived)
                return g, (f, g)

            h, (f, g) = jax.jacfwd(value_and_grad, has_aux=True)(x)
            return f, g, h

        # up to SMALL parameters one forward pass per parameter through the fused likelihood
        # costs less than the structured products (their scatters and pair products)
        derivatives = autodiff if derivatives is None or self.npars <= SMALL else derivatives
        curvature = derivatives if curvature is None or self.npars <= SMALL else curvature

        def exact_hessian(x, data, derived):
            return derivatives(x, data, derived)[2]

        self.hess = jax.jit(exact_hessian)

        def in_domain(x, data, derived):
            return jnp.asarray(True) if domain is None else domain(x, data, derived)

        def start(x0, fixed, values, lo, hi, damping=DAMPING):
            """A fresh lane: the start point, derivatives still to be computed."""
            x = jnp.where(fixed, values, jnp.clip(x0, lo, hi))  # held values may lie outside
            n = x.shape[0]
            lam = jnp.asarray(damping, dtype=x.dtype)
            return NewtonState(x, jnp.inf, jnp.zeros(n), jnp.eye(n), lam, 0, jnp.asarray(True), 0)

        def projected(x, g, h, fixed, lo, hi):
            """The free parameters (not held, not at a bound the gradient pushes against), the curvature scale."""
            free = ~(fixed | ((x <= lo) & (g > 0)) | ((x >= hi) & (g < 0)))
            return free, jnp.abs(jnp.diag(h)) + 1e-12

        def newton_step(derivatives, threshold, state, data, fixed, lo, hi, derived):
            """One damped Newton step (or, for a fresh lane, the derivatives at the start).

            Args:
                derivatives: the (value, gradient, curvature) the step is taken with.
                threshold: the convergence threshold on the projected gradient in units of sigma.
                state: the lane's `NewtonState`.
                data: its dataset.
                fixed: its held parameters.
                lo: lower bounds.
                hi: upper bounds.
                derived: the kernel's derived numbers (None: the model's own).

            Returns:
                (the new state, whether the fit has converged, whether it has ended).
            """
            x, f, g, h, lam, it, fresh, strikes = state
            free, scale = projected(x, g, h, fixed, lo, hi)
            g_free = jnp.where(free, g, 0.0)
            mask = free[:, None] & free[None, :]
            h_free = jnp.where(mask, h, 0.0) + jnp.diag(jnp.where(free, (lam + _JITTER) * scale, 1.0))
            delta = -linsolve(h_free, g_free)
            trial = jnp.where(fresh | fixed, x, jnp.clip(x + delta, lo, hi))
            f_trial, g_trial, h_trial = derivatives(trial, data, derived)
            # a (finite) step that leaves the likelihood's domain is rejected like a non-finite one, and counted
            finite = jnp.all(jnp.isfinite(trial))
            leaves = ~fresh & finite & ~in_domain(trial, data, derived)
            better = jnp.isfinite(f_trial) & (f_trial <= f + 1e-13 * jnp.maximum(1.0, jnp.abs(f))) & ~leaves
            ok = fresh | better
            x_new, f_new = jnp.where(ok, trial, x), jnp.where(ok, f_trial, f)
            g_new, h_new = jnp.where(ok, g_trial, g), jnp.where(ok, h_trial, h)
            lam_new = jnp.where(fresh, lam, jnp.where(ok, jnp.maximum(lam * 0.1, 1e-12), jnp.minimum(lam * 10.0, 1e12)))
            # converged: the accepted point's projected gradient is below the threshold, or a step
            # from a point below gtol was accepted (where rounding keeps a one-by-one fit's
            # gradient above its finer threshold)
            free_new, scale_new = projected(x_new, g_new, h_new, fixed, lo, hi)
            g_sigma = jnp.where(free_new, jnp.abs(g_new), 0.0) / jnp.sqrt(scale_new)
            confirmed = ~fresh & (jnp.max(jnp.abs(g_free) / jnp.sqrt(scale)) < gtol)
            converged = ok & ((jnp.max(g_sigma) < threshold) | confirmed)
            # a rejected step with a negligible proposed change: the minimum is reached
            tiny = ~fresh & (lam <= 1.0) & (jnp.max(jnp.abs(delta) * jnp.sqrt(scale)) < 1e-14)
            it_new = jnp.where(fresh, 0, it + 1)
            strikes = strikes + leaves
            outside = strikes >= STRIKES
            done = (converged | tiny) & ~outside
            # a start where -ln L is not finite has no finite step either (a held fit started at a
            # free minimum whose bin the held value empties): it ends at once, unconverged, for
            # the caller's second start instead of spinning to max_iter
            stuck = fresh & ~jnp.isfinite(f_trial)
            state = NewtonState(x_new, f_new, g_new, h_new, lam_new, it_new, jnp.asarray(False), strikes)
            return state, done, done | outside | stuck

        exact_step = functools.partial(newton_step, derivatives, gtol * FINE)
        cheap_step = functools.partial(newton_step, curvature, gtol)
        # the rows of a shared queue (`fit_rows`) stand for one-by-one fits: their finer threshold
        fine_step = functools.partial(newton_step, curvature, gtol * FINE)

        def solve(x0, data, fixed, values, derived, lo, hi):
            def body(carry):
                state, _, _ = carry
                return exact_step(state, data, fixed, lo, hi, derived)

            def more(carry):
                state, _, ended = carry
                return ~ended & (state.it < max_iter)

            no = jnp.asarray(False)
            state, done, _ = jax.lax.while_loop(more, body, (start(x0, fixed, values, lo, hi), no, no))
            x, f, _, h, _, it, _, strikes = state
            return x, f, done, it, h, strikes >= STRIKES

        def solve_queue(x0s, datas, fixeds, valuess, n_valid, derived, lo, hi, which, lanes, fine, damping=DAMPING):
            """Fit rows [0, n_valid) of a queue on `lanes` lanes; a lane whose fit ends takes the next row.

            Under a plain vmap every row iterates until the slowest of its batch has converged
            (typically 2-3x the mean number of steps); refilling lanes keeps them all busy.

            `which` None: every row fits `derived` within the bounds (lo, hi), (npars,) each.
            Otherwise rows fit different models of the one structure: row i the numbers
            `derived[which[i]]` (a pytree stacked along a leading axis) within its own bounds
            (lo[i], hi[i]). `fine`: the one-by-one fit's finer convergence threshold. `damping`:
            every row's initial Levenberg damping.

            Returns:
                (x, nll, converged, iterations, outside) per row.
            """
            size = x0s.shape[0]
            rowwise = which is not None
            step = fine_step if fine else cheap_step
            if rowwise:

                def model_step(state, data, fixed, lane):
                    # the lane's model read inside the step (no per-lane copy of its numbers)
                    model = jax.tree_util.tree_map(lambda a: a[lane[0]], derived)
                    return step(state, data, fixed, lo[lane[1]], hi[lane[1]], model)

                lane_step = jax.vmap(model_step)
                lane_start = jax.vmap(start, in_axes=(0, 0, 0, 0, 0))
            else:
                lane_step = jax.vmap(lambda state, data, fixed, lane: step(state, data, fixed, lo, hi, derived))
                lane_start = jax.vmap(start, in_axes=(0, 0, 0, None, None, None))

            def lane_inputs(rows):
                rows = jnp.minimum(rows, size - 1)
                if rowwise:
                    lane = jnp.stack([which[rows], rows], axis=1)
                    state = lane_start(x0s[rows], fixeds[rows], valuess[rows], lo[rows], hi[rows])
                else:
                    lane = rows[:, None]
                    state = lane_start(x0s[rows], fixeds[rows], valuess[rows], lo, hi, damping)
                return datas[rows], fixeds[rows], lane, state

            rows = jnp.arange(lanes)
            data, fixed, lane, state = lane_inputs(rows)
            npars = x0s.shape[1]
            out = (
                jnp.zeros((size, npars)),
                jnp.full(size, jnp.nan),
                jnp.zeros(size, bool),
                jnp.zeros(size, int),
                jnp.zeros(size, bool),
            )

            def body(carry):
                rows, data, fixed, lane, state, nxt, out = carry
                state, converged, stop = lane_step(state, data, fixed, lane)
                ended = (rows < n_valid) & (stop | (state.it >= max_iter))
                at = jnp.where(ended, rows, size)  # out of range: dropped
                fields = (state.x, state.f, converged, state.it, state.strikes >= STRIKES)
                out = tuple(o.at[at].set(v, mode="drop") for o, v in zip(out, fields))
                rows = jnp.where(ended, nxt + jnp.cumsum(ended) - 1, rows)
                nxt = nxt + jnp.sum(ended)
                new_data, new_fixed, new_lane, fresh = lane_inputs(rows)

                def pick(new, old):
                    return jnp.where(ended.reshape((-1,) + (1,) * (new.ndim - 1)), new, old)

                state = NewtonState(*(pick(a, b) for a, b in zip(fresh, state)))
                return rows, pick(new_data, data), pick(new_fixed, fixed), pick(new_lane, lane), state, nxt, out

            def more(carry):
                return jnp.any(carry[0] < n_valid)

            carry = jax.lax.while_loop(more, body, (rows, data, fixed, lane, state, jnp.asarray(lanes), out))
            return carry[-1]

        def hessians(xs, datas, n_valid, derived, lanes):
            """The exact Hessians of rows [0, n_valid), `lanes` at a time (rows: a multiple of lanes).

            Rows past the chunks that hold n_valid are NaN: a queue's padding is not computed.
            """
            per_lane = jax.vmap(exact_hessian, in_axes=(0, 0, None))
            size, npars = xs.shape

            def chunk(k, out):
                at = k * lanes
                x = jax.lax.dynamic_slice_in_dim(xs, at, lanes)
                data = jax.lax.dynamic_slice_in_dim(datas, at, lanes)
                return jax.lax.dynamic_update_slice_in_dim(out, per_lane(x, data, derived), at, 0)

            out = jnp.full((size, npars, npars), jnp.nan, dtype=xs.dtype)
            return jax.lax.fori_loop(0, (n_valid + lanes - 1) // lanes, chunk, out)

        self._solve = jax.jit(solve)
        self._solve_queue = jax.jit(solve_queue, static_argnames=("lanes", "fine"))
        self._hessians = jax.jit(hessians, static_argnames="lanes")

    def initial_damping(self, cold: bool) -> float:
        """The Levenberg damping batched fits start with.

        Args:
            cold: the starts are far from the minima (a toy's free fit from the init).

        Returns:
            COLD_DAMPING for cold starts above SMALL parameters, else DAMPING.
        """
        return COLD_DAMPING if cold and self.npars > SMALL else DAMPING

    def fit(
        self,
        x0,
        data,
        fixed=None,
        values=None,
        batched: bool = False,
        bounds=None,
        hessian: bool = True,
        derived=None,
        damping: float = DAMPING,
    ) -> FitBatch:
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
            hessian: compute the exact Hessian at each best fit (batched fits: one more
                evaluation per fit; one by one it comes with the last step).
            derived: the kernel's derived numbers fitted (None: the model's own).
            damping: the initial Levenberg damping of batched fits (`initial_damping`; changing
                it does not recompile).

        Returns:
            The `FitBatch`.
        """
        x0 = np.atleast_2d(np.asarray(x0, float))
        data = np.atleast_2d(np.asarray(data, float))
        fixed = np.zeros(self.npars, bool) if fixed is None else np.asarray(fixed, bool)
        fixed = np.atleast_2d(fixed)
        values = x0 if values is None else np.atleast_2d(np.asarray(values, float))
        n = max(len(x0), len(data), len(fixed), len(values))
        x0, data, fixed, values = (broadcast_rows(a, n) for a in (x0, data, fixed, values))
        lo, hi = np.asarray(self.bounds if bounds is None else bounds, float).T
        if batched:
            # one compiled shape for every queue (rows past n_valid are never fitted)
            lanes, queue = (GPU_LANES, GPU_QUEUE) if _on_gpu() else (cpu_lanes(self.npars), QUEUE)
            lanes = min(lanes, n)
            size = lanes if n <= lanes else max(lanes, min(queue, QUEUE_ENTRIES // self.npars**2) // lanes * lanes)
            parts = []
            for first in range(0, n, size):
                rows = slice(first, min(first + size, n))
                pad = size - (rows.stop - rows.start)
                args = [
                    np.concatenate([a[rows], np.repeat(a[rows][-1:], pad, axis=0)]) for a in (x0, data, fixed, values)
                ]
                x, nll, converged, iterations, outside = self._solve_queue(
                    *args, rows.stop - rows.start, derived, lo, hi, None, lanes=lanes, fine=False, damping=damping
                )
                h = self._hessians(x, args[1], rows.stop - rows.start, derived, lanes=lanes) if hessian else None
                parts.append(
                    [
                        None if a is None else np.asarray(a)[: size - pad]
                        for a in (x, nll, converged, iterations, h, outside)
                    ]
                )
            return FitBatch(*(None if parts[0][k] is None else np.concatenate([p[k] for p in parts]) for k in range(6)))
        rows = [self._solve(x0[i], data[i], fixed[i], values[i], derived, lo, hi) for i in range(n)]
        return FitBatch(*(np.asarray([row[k] for row in rows]) for k in range(6)))

    def fit_rows(self, x0, data, fixed, values, bounds, stacked, which, hessian) -> FitBatch:
        """Fits of several models of this structure in one queue, each to a one-by-one fit's precision.

        The fits several callers ask for at once (the patches of a signal grid, `fitpool.FitPool`):
        each row steps with the cheap curvature of batched fits (the same minimum: the fixed point
        is the exact gradient's) down to the one-by-one fit's finer threshold, on one lane of a
        shared queue. One compiled shape (the full queue), whatever the number of rows.

        Args:
            x0: starts, (n, npars).
            data: datasets, (n, ndata).
            fixed: held-parameter masks, (n, npars).
            values: held values, (n, npars).
            bounds: per-row bounds, (n, npars, 2).
            stacked: the kernel's derived numbers of every model, stacked along a leading axis.
            which: the model of each row, (n,) indices into `stacked`.
            hessian: per row, whether to compute the exact Hessian at its best fit, (n,).

        Returns:
            The `FitBatch` (Hessians of rows not asked for are NaN).
        """
        import jax

        n = len(x0)
        lanes = GPU_LANES if _on_gpu() else min(POOL_LANES, cpu_lanes(self.npars))
        # one shape whatever the number of rows: a pool's calls range from one row to hundreds,
        # and compiling a second shape costs seconds where the padding costs nothing
        size = max(lanes, min(QUEUE, QUEUE_ENTRIES // self.npars**2) // lanes * lanes)
        columns = [np.asarray(a) for a in (x0, data, fixed, values, bounds, which)]
        parts = []
        for first in range(0, n, size):
            rows = slice(first, min(first + size, n))
            pad = size - (rows.stop - rows.start)
            x0s, datas, fixeds, valuess, bound, whichs = (
                np.concatenate([a[rows], np.repeat(a[rows][-1:], pad, axis=0)]) for a in columns
            )
            out = self._solve_queue(
                x0s,
                datas,
                fixeds,
                valuess,
                rows.stop - rows.start,
                stacked,
                bound[..., 0],
                bound[..., 1],
                whichs,
                lanes=lanes,
                fine=True,
            )
            parts.append([np.asarray(a)[: size - pad] for a in out])
        x, nll, converged, iterations, outside = (np.concatenate([p[k] for p in parts]) for k in range(5))
        hessians = np.full((n, self.npars, self.npars), np.nan)
        for i in np.flatnonzero(hessian):
            model = jax.tree_util.tree_map(lambda a, w=columns[5][i]: a[w], stacked)
            hessians[i] = np.asarray(self.hess(x[i], columns[1][i], model))
        return FitBatch(x, nll, converged, iterations, hessians, outside)


def cpu_lanes(npars: int) -> int:
    """Lanes of a batched fit on a CPU: a power of two whose Hessians fit LANE_ENTRIES, within [MIN_LANES, LANES].

    Args:
        npars: the model's parameters.

    Returns:
        The number of lanes.
    """
    fit = max(1, LANE_ENTRIES // max(1, npars * npars))
    return int(min(LANES, max(MIN_LANES, 2 ** int(np.log2(fit)))))


def _fields(batch: FitBatch) -> tuple:
    return (
        batch.x,
        batch.nll,
        batch.converged,
        batch.iterations,
        batch.hessian,
        batch.outside,
        batch.refitted,
        batch.refit_seconds,
    )


def _on_gpu() -> bool:
    import jax

    return jax.default_backend() == "gpu"


def _cholesky_solve(a, b):
    """Solve a @ x = b for a symmetric positive definite a (NaN where a is not).

    Args:
        a: (n, n) matrix.
        b: (n,) right-hand side.

    Returns:
        x, shape (n,).
    """
    import jax.scipy.linalg as jsl

    return jsl.cho_solve(jsl.cho_factor(a, lower=True), b)


def _small_solve(a, b):
    """Solve a @ x = b by Gauss-Jordan elimination, unrolled over the (static) size.

    The matrices solved here are the damped Hessian with held rows replaced by identity rows;
    the damping keeps pivots away from zero, and a failed step (non-finite trial) is rejected
    and retried with more damping, so no pivoting is needed.

    Args:
        a: (n, n) matrix.
        b: (n,) right-hand side.

    Returns:
        x, shape (n,).
    """
    import jax.numpy as jnp

    n = a.shape[-1]
    m = jnp.concatenate([a, b[:, None]], axis=1)
    for k in range(n):
        row = m[k] / m[k, k]
        m = (m - m[:, k : k + 1] * row[None, :]).at[k].set(row)
    return m[:, n]


def broadcast_rows(a, n: int) -> np.ndarray:
    """An array as `n` rows (a single row repeated).

    Args:
        a: (m,) or (n, m) (or (1, m)).
        n: the rows.

    Returns:
        A read-only (n, m) view.
    """
    a = np.atleast_2d(np.asarray(a))
    return np.broadcast_to(a, (n, a.shape[1]))
