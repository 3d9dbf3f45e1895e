"""Goodness of fit against the saturated model (as cabinetry's `fit.goodness_of_fit`).

The saturated model predicts every bin's observed count exactly and puts every constrained
parameter where its constraint term is largest (θ = a for a Gaussian constraint on auxiliary
datum a, γ = a / τ for a Poisson one). χ² = 2 (nll(θ̂) - nll_saturated), with
n_dof = bins - floating unconstrained parameters, p = P(χ²_ndof > χ²).

With few events per bin the χ² distribution is not to be trusted: `toy_p_value` draws toys from
the full pdf at the best fit, fits each freely and computes the same statistic against each toy's
own saturated model; p is the fraction at or above the observed χ², with its binomial error.
"""

import numpy as np
from scipy.special import gammaln
from scipy.stats import chi2

from diffpipe.compiled import kernel
from diffpipe.inference.analysis import Analysis


def constraint_maximising_parameters(model, aux: np.ndarray, init: np.ndarray) -> np.ndarray:
    """Parameters that maximise the constraint terms for auxiliary data `aux`.

    Args:
        model: the pyhf model.
        aux: its auxiliary data, (naux,) or one dataset per row (n, naux).
        init: values for the parameters without a constraint.

    Returns:
        One value per parameter (per row of `aux`).
    """
    hf = kernel(model)
    maxima = hf.constraint_maxima(aux, hf.default())
    return np.where(np.isfinite(maxima), maxima, np.asarray(init, float))


def saturated_nll(model, data: np.ndarray, init: np.ndarray) -> np.ndarray:
    """-ln L of the saturated model (main counts predicted exactly, constraints at their maxima).

    Args:
        model: the pyhf model.
        data: main + auxiliary data, one dataset per row (n, ndata).
        init: values for the parameters without a constraint.

    Returns:
        (n,) values.
    """
    import jax

    data = np.atleast_2d(np.asarray(data, float))
    nmain = model.config.nmaindata
    main, aux = data[:, :nmain], data[:, nmain:]
    poisson = np.sum(main * np.log(np.where(main > 0, main, 1.0)) - main - gammaln(main + 1.0), axis=1)
    constraint = np.zeros(len(data))
    if aux.shape[1]:
        hf = kernel(model)
        pars = constraint_maximising_parameters(model, aux, init)
        terms = jax.jit(jax.vmap(hf.constraint_nll, in_axes=(0, 0, None)))(pars, aux, hf.default())
        constraint = -np.asarray(terms, float)
    return -(poisson + constraint)


def toy_p_value(analysis: Analysis, chi2_observed: float, n_toys: int, seed: int, name: str) -> dict:
    """The saturated-model statistic's p-value from toys drawn at the best fit.

    Args:
        analysis: the prepared model.
        chi2_observed: the data's statistic (`goodness_of_fit`'s chi2).
        n_toys: toys to draw.
        seed: root seed of the toys (`sampling.sample_toys`).
        name: the model's name (part of the toys' keys).

    Returns:
        {"toys": n_toys, "toys_converged", "toy_p_value", "toy_p_error" (binomial), "toy_chi2_mean"};
        p and its error are None when no toy fit converged (or none was drawn: n_toys = 0).
    """
    from diffpipe.sampling import make_sampler, sample_toys

    if n_toys == 0:
        return {"toys": 0, "toys_converged": 0, "toy_p_value": None, "toy_p_error": None, "toy_chi2_mean": None}
    best = analysis.best_fit().x[0]
    toys = sample_toys(make_sampler(analysis.model), seed, name, np.arange(n_toys), best)
    fits = analysis.fit(data=toys, start=best)
    saturated = saturated_nll(analysis.model, toys, analysis.init)
    chi2_toys = 2.0 * (np.asarray(fits.nll, float) - saturated)[np.asarray(fits.converged, bool)]
    n = len(chi2_toys)
    p = float(np.mean(chi2_toys >= chi2_observed)) if n else None
    return {
        "toys": int(n_toys),
        "toys_converged": int(n),
        "toy_p_value": p,
        "toy_p_error": float(np.sqrt(p * (1.0 - p) / n)) if n else None,
        "toy_chi2_mean": float(np.mean(chi2_toys)) if n else None,
    }


def goodness_of_fit(analysis: Analysis) -> dict:
    """Saturated-model χ² and p-value of the nominal fit.

    Args:
        analysis: the prepared model.

    Returns:
        {"twice_nll", "twice_nll_saturated", "chi2", "ndof", "p_value"}.
    """
    model = analysis.model
    best = analysis.best_fit()
    saturated = float(saturated_nll(model, analysis.data, analysis.init)[0])
    st = kernel(model).structure
    constrained = np.zeros(st.npars, bool)
    constrained[st.gauss_par] = constrained[st.poisson_par] = True
    unconstrained = int(np.sum(~constrained & ~np.asarray(analysis.fixed, bool)))
    ndof = st.nbins - unconstrained
    value = 2.0 * (float(best.nll[0]) - saturated)
    return {
        "twice_nll": 2.0 * float(best.nll[0]),
        "twice_nll_saturated": 2.0 * saturated,
        "chi2": value,
        "ndof": ndof,
        "p_value": float(chi2.sf(value, ndof)) if ndof > 0 else float("nan"),
    }
