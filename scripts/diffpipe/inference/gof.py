"""Goodness of fit against the saturated model (as cabinetry's `fit.goodness_of_fit`).

The saturated model predicts every bin's observed count exactly and puts every constrained
parameter where its constraint term is largest (θ = a for a Gaussian constraint on auxiliary
datum a, γ = a / τ for a Poisson one). χ² = 2 (nll(θ̂) - nll_saturated), with
n_dof = bins - floating unconstrained parameters, p = P(χ²_ndof > χ²).
"""

import numpy as np
from scipy.special import gammaln
from scipy.stats import chi2

from diffpipe.inference.analysis import Analysis
from diffpipe.models import kernel


def constraint_maximising_parameters(model, aux: np.ndarray, init: np.ndarray) -> np.ndarray:
    """Parameters that maximise the constraint terms for auxiliary data `aux`.

    Args:
        model: the pyhf model.
        aux: its auxiliary data.
        init: values for the parameters without a constraint.

    Returns:
        One value per parameter.
    """
    config = model.config
    pars = np.asarray(init, float).copy()
    offset = 0
    for name in config.auxdata_order:
        pset = config.param_set(name)
        n = pset.n_parameters
        values = np.asarray(aux[offset : offset + n], float)
        if pset.pdf_type == "poisson":
            values = values / np.asarray(pset.factors, float)
        pars[config.par_slice(name)] = values
        offset += n
    return pars


def goodness_of_fit(analysis: Analysis) -> dict:
    """Saturated-model χ² and p-value of the nominal fit.

    Args:
        analysis: the prepared model.

    Returns:
        {"twice_nll", "twice_nll_saturated", "chi2", "ndof", "p_value"}.
    """
    model, data = analysis.model, analysis.data
    nmain = model.config.nmaindata
    main, aux = data[:nmain], data[nmain:]
    best = analysis.best_fit()
    poisson = float(np.sum(main * np.log(np.where(main > 0, main, 1.0)) - main - gammaln(main + 1.0)))
    constraint = 0.0
    if len(aux):
        pars = constraint_maximising_parameters(model, aux, analysis.init)
        import jax

        hf = kernel(model)
        constraint = -float(jax.jit(hf.constraint_nll)(np.asarray(pars, float), aux, hf.default()))
    saturated = -(poisson + constraint)
    config = model.config
    unconstrained = sum(
        int(np.sum(~np.asarray(analysis.fixed)[config.par_slice(name)]))
        for name in config.par_order
        if not config.param_set(name).constrained
    )
    ndof = int(sum(config.channel_nbins.values())) - unconstrained
    value = 2.0 * (float(best.nll[0]) - saturated)
    return {
        "twice_nll": 2.0 * float(best.nll[0]),
        "twice_nll_saturated": 2.0 * saturated,
        "chi2": value,
        "ndof": ndof,
        "p_value": float(chi2.sf(value, ndof)) if ndof > 0 else float("nan"),
    }
