"""Pseudo-experiments from a model's full pdf (and where their fits start), shared by the toy stages and the toy goodness of fit.

Poisson main data at the expected rates, and auxiliary data from each constraint term
(Gaussian: N(θ, σ); Poisson: Pois(γ τ)), drawn with keys derived from (root seed, model name,
toy index), so that a toy is the same dataset whatever batch it is drawn in.
"""

import zlib

import numpy as np

from diffpipe.compiled import kernel


class Sampler:
    """A model's pseudo-experiments: one toy (`sampler(key, pars)`) and the compiled batch (`draw`).

    Args:
        sample: (key, pars) -> one toy dataset, traceable by JAX.
    """

    def __init__(self, sample):
        import jax

        self.sample = sample

        def draw(seed, model_key, indices, pars):
            base = jax.random.fold_in(jax.random.PRNGKey(seed), model_key)
            keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(indices)
            return jax.vmap(sample, in_axes=(0, None))(keys, pars)

        self.draw = jax.jit(draw)

    def __call__(self, key, pars):
        """One toy dataset (main + auxiliary).

        Args:
            key: a JAX random key.
            pars: the generating parameters.

        Returns:
            The dataset.
        """
        return self.sample(key, pars)


def make_sampler(model) -> Sampler:
    """The model's `Sampler`, built once per model (cached on its kernel).

    The parameters are an argument, so one compiled sampler serves every hypothesis.

    Args:
        model: the pyhf model.

    Returns:
        The `Sampler`.
    """
    return kernel(model).cached("sampler", lambda: Sampler(_sample_function(model)))


def _sample_function(model):
    """(key, pars) -> one toy dataset from the model's full pdf (see `make_sampler`)."""
    import jax
    import jax.numpy as jnp

    hf = kernel(model)
    st, numbers = hf.structure, hf.default()
    # the kernel's constraint terms: Gaussian N(θ, σ) and Poisson Pois(γ τ) per auxiliary datum
    naux = hf.naux
    g_aux, g_par, p_aux, p_par = (
        jnp.asarray(v, int) for v in (st.gauss_aux, st.gauss_par, st.poisson_aux, st.poisson_par)
    )
    g_sigma = jnp.asarray(numbers["gauss_sigma"], float)
    p_factor = jnp.asarray(numbers["tau"], float).reshape(-1)

    def sample(key, pars):
        k_pois, k_gauss = jax.random.split(key)
        lam = hf.expected_main(pars, numbers)
        nmain = lam.shape[0]
        # one Poisson draw for the main bins and the Poisson constraints (one compiled sampler)
        counts = jax.random.poisson(k_pois, jnp.concatenate([lam, pars[p_par] * p_factor])).astype(jnp.float64)
        aux = jnp.zeros(naux)
        aux = aux.at[g_aux].set(pars[g_par] + g_sigma * jax.random.normal(k_gauss, g_sigma.shape))
        aux = aux.at[p_aux].set(counts[nmain:])
        return jnp.concatenate([counts[:nmain], aux])

    return sample


def sample_toys(sampler, seed: int, model_name: str, indices, pars: np.ndarray) -> np.ndarray:
    """Toys with the given global indices at `pars`.

    Toy i is drawn with the key fold_in(fold_in(PRNGKey(seed), crc32(model_name)), i): the same
    dataset whatever the shard it falls in (different models draw different toys).

    Args:
        sampler: `make_sampler(model)` (its batch compiled once per shape, key derivation included).
        seed: the root seed.
        model_name: the model's name.
        indices: global toy indices.
        pars: the generating parameters.

    Returns:
        (n, ndata) toy datasets.
    """
    batched = sampler.draw
    model_key = zlib.crc32(model_name.encode())
    indices = np.asarray(indices, np.uint32)
    return np.asarray(batched(np.uint32(seed), np.uint32(model_key), indices, np.asarray(pars, float)))


TOY_STARTS = ("suggested", "auxdata")


def toy_starts(model, rule: str, init: np.ndarray, data: np.ndarray, fixed: np.ndarray, bounds) -> np.ndarray:
    """Where each toy's free fit starts.

    "suggested": every toy at `init` (pyhf's start). "auxdata": each constrained, floating
    parameter at its toy's own constraint maximum (the auxiliary datum, or datum/τ for a Poisson
    term), clipped to its bounds; the others at `init`. The second start is nearer each toy's
    minimum (fewer Newton steps where the likelihood has one minimum; measured in
    docs/benchmarks.md); on a likelihood with several it may reach another one than pyhf.

    Args:
        model: the pyhf model.
        rule: one of TOY_STARTS.
        init: (npars,) the start and the held parameters' values.
        data: (n, main + aux) the toys.
        fixed: (npars,) bool, the held parameters (they stay at `init`).
        bounds: (npars, 2).

    Returns:
        (npars,) for "suggested", else (n, npars).
    """
    if rule == "suggested":
        return np.asarray(init, float)
    if rule != "auxdata":
        raise ValueError(f"unknown toy start {rule!r}; valid: {TOY_STARTS}")
    hf = kernel(model)
    maxima = hf.constraint_maxima(np.asarray(data, float)[:, hf.structure.nbins :], hf.default())
    lo, hi = np.asarray(bounds, float).T
    use = np.isfinite(maxima) & ~np.asarray(fixed, bool)
    return np.where(use, np.clip(np.nan_to_num(maxima), lo, hi), np.asarray(init, float))
