"""Pre- and post-fit expected yields per channel, sample and bin, with propagated uncertainties.

σ(y) = sqrt(diag(J C Jᵀ)) with J the autodiff Jacobian of the expected yields (per sample and the
total, per bin and summed per channel) with respect to all parameters, and C the covariance:
post-fit, the inverse Hessian at the best fit (0 for fixed parameters); pre-fit, diagonal with
the prior widths (cabinetry's convention). One Jacobian (forward mode) instead of a loop of
model evaluations per parameter.
"""

import numpy as np

from diffpipe.compiled import kernel
from diffpipe.inference.analysis import Analysis


def propagate(model, pars: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected yields per sample (and their total) per bin, with linearly propagated errors.

    Args:
        model: the pyhf model (jax backend).
        pars: parameter values.
        cov: their covariance (npars x npars).

    Returns:
        (yields, stdev), each of shape (samples + 1, bins): the last row is the total.
    """
    import jax
    import jax.numpy as jnp

    hf = kernel(model)

    def by_sample(p):
        per_sample = hf.rates(p, hf.default())
        return jnp.concatenate([per_sample, jnp.sum(per_sample, axis=0, keepdims=True)], axis=0)

    pars = np.asarray(pars, float)
    y = np.asarray(jax.jit(by_sample)(pars))
    j = np.asarray(jax.jit(jax.jacfwd(by_sample))(pars))
    return y, np.sqrt(np.clip(np.einsum("sbp,pq,sbq->sb", j, cov, j), 0.0, None))


def yield_table(analysis: Analysis) -> list[dict]:
    """Every yield with its uncertainty, pre-fit and post-fit.

    Args:
        analysis: the prepared model.

    Returns:
        Rows: stage (prefit/postfit), channel, scope (bin/channel), bin (-1 for a channel sum),
        sample (a sample name or "total"), yield, stdev, data (observed count; NaN for samples).
    """
    import jax
    import jax.numpy as jnp

    model = analysis.model
    config = model.config
    samples = list(config.samples)
    nbins = int(config.nmaindata)
    slices = {ch: config.channel_slices[ch] for ch in config.channels}

    hf = kernel(model)

    def by_sample(pars):
        per_sample = hf.rates(pars, hf.default())
        return jnp.concatenate([per_sample, jnp.sum(per_sample, axis=0, keepdims=True)], axis=0)

    jac = jax.jit(jax.jacfwd(by_sample))
    value = jax.jit(by_sample)
    main = analysis.data[:nbins]
    rows = []
    best = analysis.best_fit().x[0]
    for stage, pars, cov in (
        ("prefit", analysis.init, np.diag(analysis.prior_widths() ** 2)),
        ("postfit", best, analysis.covariance()),
    ):
        y = np.asarray(value(pars))  # (samples + 1, bins)
        j = np.asarray(jac(pars))  # (samples + 1, bins, npars)
        for channel, sl in slices.items():
            ch_y = np.concatenate([y[:, sl], y[:, sl].sum(axis=1, keepdims=True)], axis=1)
            ch_j = np.concatenate([j[:, sl, :], j[:, sl, :].sum(axis=1, keepdims=True)], axis=1)
            var = np.einsum("sbp,pq,sbq->sb", ch_j, cov, ch_j)
            ch_data = np.append(main[sl], main[sl].sum())
            for s, sample in enumerate([*samples, "total"]):
                for b in range(ch_y.shape[1]):
                    last = b == ch_y.shape[1] - 1
                    rows.append(
                        {
                            "stage": stage,
                            "channel": channel,
                            "scope": "channel" if last else "bin",
                            "bin": -1 if last else b,
                            "sample": sample,
                            "yield": float(ch_y[s, b]),
                            "stdev": float(np.sqrt(max(var[s, b], 0.0))),
                            "data": float(ch_data[b]) if sample == "total" else float("nan"),
                        }
                    )
    return rows
