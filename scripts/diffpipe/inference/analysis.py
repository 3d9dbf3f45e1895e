"""One model prepared for inference: compiled likelihood, bounds, best fit and covariance.

Every product of the stage (limits, significance, impacts, goodness of fit, yields) starts from
the same compiled fit (`diffpipe.solver.Solver`) and the same nominal fit, so a model is compiled
once per job however many fits its products need.
"""

import copy
import logging
from dataclasses import dataclass, field

import numpy as np

from diffpipe.models import make_expected, make_solver
from diffpipe.solver import FitBatch, Solver, fit_all

log = logging.getLogger("diffpipe")


@dataclass
class Analysis:
    """A model, its data and the fits every product starts from.

    Attributes:
        model: the pyhf model.
        data: its dataset (main + auxiliary).
        bounds: (npars, 2) fit bounds (config overrides applied).
        init: initial values (held parameters at their values).
        fixed: which parameters every fit holds (pyhf's suggestion and the entry's `fixed`).
        poi: index of the POI (None: the model has none).
        solver: the compiled fit.
        refits: fits that needed MINUIT (counted over the analysis).
    """

    model: object
    data: np.ndarray
    bounds: np.ndarray
    init: np.ndarray
    fixed: np.ndarray
    poi: int | None
    solver: Solver
    refits: int = 0
    _best: FitBatch | None = field(default=None, repr=False)

    @property
    def names(self) -> list[str]:
        """Parameter names.

        Returns:
            The model's parameter names, in parameter order.
        """
        return list(self.model.config.par_names)

    def fit(self, data=None, fix: dict | None = None, starts=None, bounds=None, held=None) -> FitBatch:
        """Fits of `data` (rows) with further parameters held (MINUIT for any unconverged row).

        Args:
            data: datasets (default: the model's data), shape (ndata,) or (n, ndata).
            fix: {parameter index: value or array of n values} held besides the suggested fixed.
            starts: start points (default: the nominal best fit where known, else init).
            bounds: (npars, 2) bounds (default: the analysis bounds; others do not recompile).
            held: per-row held parameters besides those: (mask, values), both (n, npars) (the
                impacts hold a different parameter in each row).

        Returns:
            The `FitBatch`.
        """
        data = self.data if data is None else data
        rows = [len(np.atleast_2d(data)), *(np.size(v) for v in (fix or {}).values())]
        if starts is not None:
            rows.append(len(np.atleast_2d(starts)))
        if held is not None:
            rows.append(len(held[0]))
        n = max(rows)
        fixed = np.tile(self.fixed, (n, 1))
        values = np.tile(self.init, (n, 1))
        for index, value in (fix or {}).items():
            fixed[:, index] = True
            values[:, index] = value
        if held is not None:
            mask = np.asarray(held[0], bool)
            fixed |= mask
            values = np.where(mask, held[1], values)
        if starts is None:
            starts = self._best.x[0] if self._best is not None else self.init
        starts = np.where(fixed, values, np.broadcast_to(starts, values.shape))
        batch, refits = fit_all(self.solver, starts, data, fixed, values, self.bounds if bounds is None else bounds)
        if refits:
            log.warning("%d of %d fits did not converge in the Newton solve and were refitted with MINUIT", refits, n)
        self.refits += refits
        return batch

    def best_fit(self) -> FitBatch:
        """The free fit to the data (cached).

        Returns:
            A one-row `FitBatch`.
        """
        if self._best is None:
            self._best = self.fit()
        return self._best

    def free_mask(self) -> np.ndarray:
        """Which parameters float in the nominal fit.

        Returns:
            Boolean mask over all parameters.
        """
        return ~np.asarray(self.fixed, bool)

    def expected_data(self, pars: np.ndarray) -> np.ndarray:
        """The model's expected data (main + auxiliary; the solver's nominal rates), compiled once.

        Args:
            pars: parameter values.

        Returns:
            The expected dataset as float64.
        """
        if self.solver.expected is None:
            import jax

            self.solver.expected = jax.jit(make_expected(self.model))
        return np.asarray(self.solver.expected(np.asarray(pars, float), self.solver.numbers), float)

    def covariance(self, fit: FitBatch | None = None) -> np.ndarray:
        """Covariance over all parameters: inv(Hessian of -ln L) over the floating ones, 0 elsewhere.

        Args:
            fit: a one-row fit whose Hessian to invert (default: the nominal best fit).

        Returns:
            (npars, npars) covariance.
        """
        fit = self.best_fit() if fit is None else fit
        hess = fit.hessian[0]
        free = np.flatnonzero(self.free_mask())
        cov = np.zeros(hess.shape)
        cov[np.ix_(free, free)] = np.linalg.inv(hess[np.ix_(free, free)])
        return cov

    def prior_widths(self) -> np.ndarray:
        """Pre-fit widths: the constraint widths of constrained parameters, 0 for unconstrained or fixed ones.

        Returns:
            One width per parameter (cabinetry's convention).
        """
        config = self.model.config
        widths = np.zeros(config.npars)
        for name in config.par_order:
            pset = config.param_set(name)
            if pset.constrained:
                widths[config.par_slice(name)] = pset.width()
        widths[np.asarray(self.fixed, bool)] = 0.0
        return widths


def prepare(model, data, entry: dict | None = None, numbers=None, like: Analysis | None = None) -> Analysis:
    """Compile a model's fit and wrap it with its data, bounds and held parameters.

    Args:
        model: a pyhf model (jax backend).
        data: its dataset.
        entry: the model's config entry (its `bounds` and `fixed`, see `models.parameter_setup`).
        numbers: the specification's numbers the compiled model takes as input (a patch's, see
            `patches.patch_numbers`), or None for the model's own.
        like: the `Analysis` of an identically structured model whose compiled fit (and
            expected data) to reuse, with `numbers` as its input.

    Returns:
        The `Analysis`.
    """
    from diffpipe.models import parameter_setup

    setup = parameter_setup(model, entry)
    bounds = np.asarray(setup.bounds, float)
    if like is None:
        solver = make_solver(model, bounds)
    else:
        solver = copy.copy(like.solver)  # the compiled functions are shared; `numbers` is not
    solver.numbers = numbers
    return Analysis(
        model=model,
        data=np.asarray(data, float),
        bounds=bounds,
        init=np.asarray(setup.init, float),
        fixed=np.asarray(setup.fixed, bool),
        poi=model.config.poi_index,
        solver=solver,
    )
