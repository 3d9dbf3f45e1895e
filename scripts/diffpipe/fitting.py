"""One model's fits: every fit of every stage goes through a `Fitter`.

A `Fitter` is built once per model (its compiled `solver.Solver`, its bounds, which parameters
every fit holds, the POI), and fits rows of datasets with further parameters held
(`fit(data, hold=..., held=..., start=..., bounds=...)`). A fit the Newton solve leaves
unconverged is redone by MINUIT (`fit_all`, the one fallback) and counted, never dropped. q̃μ of
datasets (`Fitter.qmu`) is the fit pair every toy calculation needs.

The patches of a signal grid share one compiled model: `Fitter.sharing(derived)` is the same
fitter on another patch's derived numbers (the kernel's `HistFactory.derive`), with nothing
compiled again.
"""

import dataclasses
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from diffpipe.solver import DAMPING, FitBatch, Solver, broadcast_rows

if TYPE_CHECKING:
    from diffpipe.fitpool import FitPool

# MINUIT's call budget for one refit (its default grows as npars^2: ~90 000 calls, minutes, at
# 126 parameters); MIGRAD with the exact gradient needs a few hundred where it converges
MINUIT_CALLS = 4000


@dataclass(kw_only=True)
class Fitter:
    """A model's compiled fits with the bounds and held parameters of its config entry.

    Attributes:
        model: the pyhf model.
        bounds: (npars, 2) fit bounds (config overrides and the test statistic's POI floor applied).
        init: initial values (held parameters at their values).
        fixed: which parameters every fit holds (pyhf's suggestion and the entry's `fixed`).
        poi: index of the POI (None: the model has none).
        solver: the compiled fit.
        derived: the kernel's derived numbers fitted (None: the model's own; a patch's in a grid).
        refits: fits that needed MINUIT, counted over the fitter's life.
        pool: the `FitPool` this fitter's fits join (None: its own calls).
        worker: its index in the pool.
    """

    model: object
    bounds: np.ndarray
    init: np.ndarray
    fixed: np.ndarray
    poi: int | None
    solver: Solver
    derived: dict | None = None
    refits: int = 0
    pool: "FitPool | None" = field(default=None, repr=False)
    worker: int = 0

    @classmethod
    def of(
        cls,
        model,
        entry: dict | None = None,
        test_statistic: str | None = None,
        poi_upper: float | None = None,
        like: "Fitter | None" = None,
        **fields,
    ):
        """The fitter of a model as its config entry sets it up (`models.parameter_setup`).

        Args:
            model: a pyhf model.
            entry: its config entry (`bounds`, `fixed`); None: pyhf's suggestions.
            test_statistic: "qtilde" or "q": the POI's bounds for that statistic
                (`teststat.statistic_bounds`); None: the entry's.
            poi_upper: raise the POI's upper bound to at least this.
            like: a fitter of an identically structured model whose compiled fit to share; the
                bounds and held parameters are this entry's.
            fields: a subclass's further attributes (an `Analysis`'s data).

        Returns:
            The fitter (of `cls`'s type: an `Analysis` builds itself the same way).
        """
        from diffpipe.compiled import make_solver
        from diffpipe.models import parameter_setup
        from diffpipe.teststat import statistic_bounds

        setup = parameter_setup(model, entry)
        poi = model.config.poi_index
        bounds = np.asarray(setup.bounds, float)
        if test_statistic is not None:
            bounds = statistic_bounds(bounds, poi, test_statistic)
        if poi_upper is not None:
            bounds[poi, 1] = max(bounds[poi, 1], float(poi_upper))
        return cls(
            model=model,
            bounds=bounds,
            init=np.asarray(setup.init, float),
            fixed=np.asarray(setup.fixed, bool),
            poi=poi,
            solver=make_solver(model, bounds) if like is None else like.solver,
            **fields,
        )

    def sharing(self, derived: dict | None, **fields) -> "Fitter":
        """This fitter on other derived numbers (a patch of the same structure): nothing recompiled.

        Args:
            derived: the numbers.
            fields: other attributes to replace (a subclass's, e.g. an `Analysis`'s data).

        Returns:
            A new fitter of this one's type, its refits counted from 0.
        """
        return dataclasses.replace(self, derived=derived, refits=0, **fields)

    @property
    def names(self) -> list[str]:
        """Parameter names.

        Returns:
            The model's parameter names, in parameter order.
        """
        return list(self.model.config.par_names)

    def free_mask(self) -> np.ndarray:
        """Which parameters float in the nominal fit.

        Returns:
            Boolean mask over all parameters.
        """
        return ~np.asarray(self.fixed, bool)

    def nll(self, pars, data) -> float:
        """-ln L.

        Args:
            pars: parameter values.
            data: a dataset.

        Returns:
            The value.
        """
        return float(self.solver.nll(np.asarray(pars, float), np.asarray(data, float), self.derived))

    def grad(self, pars, data) -> np.ndarray:
        """The gradient of -ln L.

        Args:
            pars: parameter values.
            data: a dataset.

        Returns:
            One component per parameter.
        """
        return np.asarray(self.solver.grad(np.asarray(pars, float), np.asarray(data, float), self.derived))

    def hessian(self, pars, data) -> np.ndarray:
        """The exact Hessian of -ln L (the kernel's structured one, as every fit's covariance).

        Args:
            pars: parameter values.
            data: a dataset.

        Returns:
            (npars, npars).
        """
        return np.asarray(self.solver.hess(np.asarray(pars, float), np.asarray(data, float), self.derived))

    def expected_data(self, pars) -> np.ndarray:
        """The model's expected data (main + auxiliary) under the fitter's derived numbers.

        Args:
            pars: parameter values.

        Returns:
            The expected dataset as float64.
        """
        from diffpipe.compiled import expected_function

        return np.asarray(expected_function(self.model)(np.asarray(pars, float), self.derived), float)

    def holding(self, rows: int, hold: dict | None = None, held=None) -> tuple[np.ndarray, np.ndarray]:
        """The held-parameter masks and values of `rows` fits.

        Args:
            rows: the number of fits.
            hold: {parameter index: value, or one value per row} held besides the entry's fixed.
            held: per-row held parameters besides those: (mask, values), both (rows, npars).

        Returns:
            (fixed, values), both (rows, npars).
        """
        fixed = np.tile(self.fixed, (rows, 1))
        values = np.tile(self.init, (rows, 1))
        for index, value in (hold or {}).items():
            fixed[:, index] = True
            values[:, index] = value
        if held is not None:
            mask = np.asarray(held[0], bool)
            fixed |= mask
            values = np.where(mask, held[1], values)
        return fixed, values

    def fit(
        self,
        data,
        hold: dict | None = None,
        held=None,
        start=None,
        bounds=None,
        batched: bool = False,
        hessian: bool = True,
        cold: bool = False,
    ) -> FitBatch:
        """Fits of datasets (rows) with parameters held; a second start, then MINUIT, for every row left unconverged.

        Args:
            data: datasets, shape (ndata,) or (n, ndata).
            hold: {parameter index: value or one value per row} held besides the entry's fixed.
            held: per-row held parameters besides those: (mask, values), both (n, npars).
            start: start points, (npars,) or (n, npars) (default: init); held parameters start
                at their values.
            bounds: (npars, 2) bounds (default: the fitter's; others do not recompile).
            batched: one vmapped call for all rows (thousands of fits of a model: toys) rather
                than one call per row (see `Solver.fit`); a pooled fitter's fits always join
                its pool's queue.
            hessian: compute the exact Hessian at each best fit.
            cold: the starts are far from the minima (a toy's free fit from the init): batched
                fits start more damped where the solver's model is large (`Solver.initial_damping`).

        Returns:
            The `FitBatch` (its `refitted` marks the rows MINUIT redid; counted in `refits`).
        """
        rows = [len(np.atleast_2d(data)), *(np.size(v) for v in (hold or {}).values())]
        if start is not None:
            rows.append(len(np.atleast_2d(start)))
        if held is not None:
            rows.append(len(held[0]))
        n = max(rows)
        fixed, values = self.holding(n, hold, held)
        start = np.where(fixed, values, np.broadcast_to(self.init if start is None else start, values.shape))
        bounds = self.bounds if bounds is None else np.asarray(bounds, float)
        if self.pool is None:
            damping = self.solver.initial_damping(cold)
            batch = fit_all(
                self.solver, start, data, fixed, values, bounds, batched, hessian, self.derived, self.init, damping
            )
        else:
            data = broadcast_rows(data, n)
            batch = self.pool.fit(self.worker, start, data, fixed, values, bounds, hessian)
            batch = refit_unconverged(self.solver, batch, start, data, fixed, values, bounds, self.derived, self.init)
        self.refits += int(batch.refitted.sum())
        return batch

    def qmu(self, data, mu: float, start=None, batched: bool = True, bounds=None) -> tuple[np.ndarray, int]:
        """q̃μ (or qμ, as the bounds make it) of datasets: each fitted free and with the POI held at μ.

        Args:
            data: (n, ndata) datasets.
            mu: the tested POI value.
            start: where the free fits start ((npars,) or one row per dataset; default init: a
                cold start, see `fit`); the held fits start at the free fits' minima.
            batched: one vmapped call for all rows (see `Solver.fit`).
            bounds: (npars, 2) bounds (default: the fitter's).

        Returns:
            (2 (nll(μ) - nll(μ̂)) per dataset, 0 where μ̂ > μ, NaN where a fit left the likelihood's
            domain; the fits MINUIT redid).
        """
        before = self.refits
        free = self.fit(data, start=start, bounds=bounds, batched=batched, cold=True)
        fix = self.fit(data, hold={self.poi: mu}, start=free.x, bounds=bounds, batched=batched)
        q = np.where(free.x[:, self.poi] > mu, 0.0, np.clip(2.0 * (fix.nll - free.nll), 0.0, None))
        return np.where(free.outside | fix.outside, np.nan, q), self.refits - before

    def covariance(self, fit: FitBatch) -> np.ndarray:
        """Covariance over all parameters: inv(Hessian of -ln L) over the floating ones, 0 elsewhere.

        Args:
            fit: a one-row fit whose Hessian to invert.

        Returns:
            (npars, npars) covariance.
        """
        hess = fit.hessian[0]
        free = np.flatnonzero(self.free_mask())
        cov = np.zeros(hess.shape)
        cov[np.ix_(free, free)] = np.linalg.inv(hess[np.ix_(free, free)])
        return cov

    def prior_widths(self) -> np.ndarray:
        """Pre-fit widths: each constraint term's width, 0 for unconstrained or held parameters.

        Returns:
            One width per parameter (cabinetry's convention; the kernel's constraint terms).
        """
        from diffpipe.compiled import kernel

        hf = kernel(self.model)
        widths = hf.constraint_widths(hf.default() if self.derived is None else self.derived)
        widths[np.asarray(self.fixed, bool)] = 0.0
        return widths


def minuit(nll, grad, start, bounds, fixed=None, names=None):
    """MINUIT on -ln L with its exact gradient (strategy 2, tolerance 1e-6), not yet run.

    Args:
        nll: -ln L(x) -> float.
        grad: its gradient(x) -> array.
        start: start point (held parameters at their values).
        bounds: (n, 2) bounds (a held value outside them widens them: MINUIT would clip it).
        fixed: bool mask of held parameters (default: none).
        names: parameter names (default: MINUIT's x0, x1, ...).

    Returns:
        The `iminuit.Minuit`.
    """
    from iminuit import Minuit

    start = np.asarray(start, float)
    fixed = np.zeros(len(start), bool) if fixed is None else np.asarray(fixed, bool)
    m = Minuit(nll, start, grad=grad, name=names)
    m.errordef = Minuit.LIKELIHOOD  # -ln L: a 1 sigma change is 0.5
    lo, hi = np.asarray(bounds, float).T
    lo, hi = np.where(fixed, np.minimum(lo, start), lo), np.where(fixed, np.maximum(hi, start), hi)
    m.limits = list(zip(lo, hi))
    m.fixed = list(fixed)
    m.strategy = 2
    m.tol = 1e-6
    m.print_level = 0
    return m


def minuit_refit(solver: Solver, x0, data, fixed, values, bounds, derived=None) -> tuple[np.ndarray, float, bool]:
    """One fit with MINUIT (MIGRAD, `minuit`'s set-up, MINUIT_CALLS calls at most): the fallback.

    Args:
        solver: the model's `Solver` (its compiled nll and gradient are reused).
        x0: start, shape (npars,).
        data: the dataset.
        fixed: bool mask of held parameters.
        values: their values.
        bounds: (npars, 2) bounds.
        derived: the kernel's derived numbers (None: the model's own).

    Returns:
        (x, nll, valid).
    """
    data = np.asarray(data, float)
    m = minuit(
        lambda p: float(solver.nll(np.asarray(p), data, derived)),
        lambda p: np.asarray(solver.grad(np.asarray(p), data, derived)),
        np.where(fixed, values, x0),
        bounds,
        fixed,
    )
    m.migrad(ncall=MINUIT_CALLS)
    x = np.asarray(m.values, float)
    return x, float(solver.nll(x, data, derived)), bool(m.valid)


def fit_all(
    solver: Solver,
    x0,
    data,
    fixed=None,
    values=None,
    bounds=None,
    batched: bool = False,
    hessian: bool = True,
    derived=None,
    restart=None,
    damping: float = DAMPING,
) -> FitBatch:
    """`Solver.fit`, then MINUIT for every fit that did not converge (none dropped).

    Args:
        solver: the model's `Solver`.
        x0: starts (see `Solver.fit`).
        data: datasets.
        fixed: held-parameter masks.
        values: held values.
        bounds: (npars, 2) bounds (default: the solver's).
        batched: one vmapped call for all rows (see `Solver.fit`).
        hessian: compute the exact Hessian at each best fit (see `Solver.fit`).
        derived: the kernel's derived numbers (None: the model's own).
        restart: the second start of fits whose own start has no finite -ln L (see
            `refit_unconverged`; None: none).
        damping: the initial Levenberg damping of batched fits (see `Solver.fit`).

    Returns:
        The batch, with the refitted rows (`refitted`) replaced where MINUIT found a lower -ln L.
        Fits that ended outside the likelihood's domain are not refitted and stay unconverged.
    """
    bounds = solver.bounds if bounds is None else np.asarray(bounds, float)
    batch = solver.fit(
        x0, data, fixed, values, batched=batched, bounds=bounds, hessian=hessian, derived=derived, damping=damping
    )
    return refit_unconverged(solver, batch, x0, data, fixed, values, bounds, derived, restart)


def refit_unconverged(
    solver: Solver, batch: FitBatch, x0, data, fixed, values, bounds, derived=None, restart=None
) -> FitBatch:
    """A second start, then MINUIT, for every fit of a batch that did not converge (none dropped).

    A fit whose start has no finite -ln L ended there (`Solver`): a toy's held fit started at its
    free minimum, where the held value can empty a bin. Given `restart`, such fits are run again
    by the Newton solve from it (one by one: the rare fit), and only those still unconverged go
    to MINUIT, which cannot start from such a point either.

    Args:
        solver: the model's `Solver`.
        batch: the Newton solve's fits.
        x0: their starts.
        data: their datasets.
        fixed: held-parameter masks (None: none).
        values: held values (None: x0).
        bounds: (npars, 2) bounds.
        derived: the kernel's derived numbers (None: the model's own).
        restart: (npars,) the second start of fits whose start has no finite -ln L (held
            parameters keep their values; None: none).

    Returns:
        The batch, with the restarted rows replaced where they converged and the refitted rows
        (`refitted`, each refit's seconds in `refit_seconds`) where MINUIT found a lower -ln L.
        Fits that ended outside the likelihood's domain are not refitted and stay unconverged.
    """
    bad = np.flatnonzero(~batch.converged & ~batch.outside)
    if len(bad) == 0:
        return batch
    n = len(batch.nll)
    datab = broadcast_rows(data, n)
    fixedb = broadcast_rows(np.zeros(solver.npars, bool) if fixed is None else fixed, n)
    valuesb = broadcast_rows(x0, n) if values is None else broadcast_rows(values, n)
    x, nll, converged = batch.x.copy(), batch.nll.copy(), batch.converged.copy()
    iterations, outside = batch.iterations.copy(), batch.outside.copy()
    hessians = None if batch.hessian is None else batch.hessian.copy()
    if restart is not None:
        for i in bad[~np.isfinite(nll[bad])]:
            start = np.where(fixedb[i], valuesb[i], restart)
            if np.array_equal(start, np.where(fixedb[i], valuesb[i], broadcast_rows(x0, n)[i])):
                continue  # it started there already
            again = solver.fit(start, datab[i], fixedb[i], valuesb[i], bounds=bounds, derived=derived)
            x[i], nll[i], converged[i] = again.x[0], again.nll[0], again.converged[0]
            iterations[i], outside[i] = again.iterations[0], again.outside[0]
            if hessians is not None:
                hessians[i] = again.hessian[0]
        bad = bad[~converged[bad] & ~outside[bad]]
    seconds = np.zeros(n)
    for i in bad:
        began = time.perf_counter()
        xi, fi, valid = minuit_refit(solver, batch.x[i], datab[i], fixedb[i], valuesb[i], bounds, derived)
        seconds[i] = time.perf_counter() - began
        if fi <= nll[i]:
            x[i], nll[i] = xi, fi
            if hessians is not None:
                hessians[i] = np.asarray(solver.hess(xi, datab[i], derived))
        converged[i] = valid
    refitted = np.zeros(n, bool)
    refitted[bad] = True
    return FitBatch(x, nll, converged, iterations, hessians, outside, refitted, seconds)
