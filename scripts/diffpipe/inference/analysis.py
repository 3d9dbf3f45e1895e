"""One model prepared for inference: its `fitting.Fitter`, its data and its nominal fit.

Every product of the stage (limits, significance, impacts, goodness of fit, yields) starts from
the same compiled fit and the same nominal fit, so a model is compiled once per job however many
fits its products need.
"""

import logging
from dataclasses import dataclass, field

import numpy as np

from diffpipe.fitting import Fitter
from diffpipe.solver import FitBatch

log = logging.getLogger("diffpipe")


@dataclass(kw_only=True)
class Analysis(Fitter):
    """A model's fitter with its data and the nominal fit every product starts from.

    Attributes:
        data: the dataset (main + auxiliary).
        (the others: `fitting.Fitter`'s.)
    """

    data: np.ndarray
    _best: FitBatch | None = field(default=None, repr=False)

    def fit(self, data=None, hold: dict | None = None, held=None, start=None, bounds=None, **options) -> FitBatch:
        """`Fitter.fit` of the analysis' data by default, started at its nominal best fit where known.

        Args:
            data: datasets (default: the analysis' data), shape (ndata,) or (n, ndata).
            hold: {parameter index: value or array of n values} held besides the entry's fixed.
            held: per-row held parameters: (mask, values), both (n, npars).
            start: start points (default: the nominal best fit where known, else init).
            bounds: (npars, 2) bounds (default: the analysis bounds; others do not recompile).
            options: `Fitter.fit`'s `batched` and `hessian`.

        Returns:
            The `FitBatch` (a warning where MINUIT refitted rows).
        """
        data = self.data if data is None else data
        if start is None and self._best is not None:
            start = self._best.x[0]
        batch = super().fit(data, hold=hold, held=held, start=start, bounds=bounds, **options)
        refitted = int(batch.refitted.sum())
        if refitted:
            log.warning(
                "%d of %d fits did not converge in the Newton solve and were refitted with MINUIT",
                refitted,
                len(batch.nll),
            )
        return batch

    def best_fit(self) -> FitBatch:
        """The free fit to the data (cached).

        Returns:
            A one-row `FitBatch`.
        """
        if self._best is None:
            self._best = self.fit()
        return self._best

    def covariance(self, fit: FitBatch | None = None) -> np.ndarray:
        """`Fitter.covariance` of a fit (default: the nominal best fit).

        Args:
            fit: a one-row fit whose Hessian to invert.

        Returns:
            (npars, npars) covariance.
        """
        return super().covariance(self.best_fit() if fit is None else fit)


def prepare(model, data, entry: dict | None = None, derived=None, like: Analysis | None = None) -> Analysis:
    """A model's `Analysis`: its fitter (compiled, or shared with `like`) and its data.

    Args:
        model: a pyhf model.
        data: its dataset.
        entry: the model's config entry (its `bounds` and `fixed`, see `models.parameter_setup`).
        derived: the kernel's derived numbers the model is fitted with (a patch's, see
            `patches.patch_derived`), or None for the model's own.
        like: the `Analysis` of an identically structured model whose compiled fit and expected
            data to reuse, with `derived` as its input (the bounds and held parameters: `entry`'s).

    Returns:
        The `Analysis`.
    """
    return Analysis.of(model, entry, like=like, data=np.asarray(data, float), derived=derived)
