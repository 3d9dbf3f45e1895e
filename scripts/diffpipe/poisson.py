"""Poisson terms of a likelihood, computed without cancellation.

-ln Pois(n | lam) for counts from 0 to ~1e12 (shapesys auxiliary data of published likelihoods),
to full relative precision and smooth in lam where pyhf's lam - n ln lam + lgamma(n + 1) steps.
"""

import numpy as np


def poisson_nll(n, lam):
    """-ln Pois(n | lam), continuous in n as pyhf's, without cancellation at large n.

    pyhf computes lam - n ln lam + lgamma(n + 1). For shapesys auxiliary data of a published
    likelihood (tau up to 1e11) each of these terms is ~1e12 and their float64 difference is
    off by ~1e-3, a step in -ln L that moves with the parameter by one ulp: no line search or
    Newton acceptance test can resolve a minimum through it. Here the same quantity is
    n (u - log1p(u)) + S(n), with u = lam / n - 1 and S(n) = -ln Pois(n | n) (Stirling's series
    from n = 10, the direct sum below): every term is of the size of the result.

    Args:
        n: observed counts (any shape; n = 0 allowed).
        lam: expected counts (same shape).

    Returns:
        -ln Pois(n | lam), elementwise.
    """
    import jax.numpy as jnp
    from jax.scipy.special import gammaln, xlogy

    positive = n > 0
    safe_n = jnp.where(positive, n, 1.0)
    # lam - n is exact where lam and n are within a factor 2 (Sterbenz), so u keeps its digits;
    # the n = 0 branch stays constant (no NaN gradient)
    u = jnp.where(positive, (lam - safe_n) / safe_n, 0.0)
    inv = 1.0 / safe_n
    inv2 = inv * inv
    stirling = 0.5 * jnp.log(2.0 * np.pi * safe_n) + inv * (
        1.0 / 12.0
        - inv2
        * (
            1.0 / 360.0
            - inv2 * (1.0 / 1260.0 - inv2 * (1.0 / 1680.0 - inv2 * (1.0 / 1188.0 - inv2 * 691.0 / 360360.0)))
        )
    )  # truncated after the n^-11 term: below 1e-15 from n = 10
    small = jnp.where(safe_n < 10.0, safe_n, 1.0)
    direct = small - xlogy(small, small) + gammaln(small + 1.0)
    saturated = jnp.where(safe_n < 10.0, direct, stirling)
    return jnp.where(positive, safe_n * _u_minus_log1p(u) + saturated, lam)


def _u_minus_log1p(u):
    """The difference u - ln(1 + u) to full relative precision.

    Below |u| = 0.1, where subtracting log1p(u) from u would lose digits, its Taylor series;
    above, the difference itself.
    """
    import jax.numpy as jnp

    small = jnp.abs(u) < 0.1
    x = jnp.where(small, u, 0.0)
    series = jnp.zeros_like(x)
    for k in range(18, 2, -1):  # u^2 (1/2 - u (1/3 - u (1/4 - ...))): terms to u^18, below 1e-17 relative
        series = 1.0 / k - x * series
    series = x * x * (0.5 - x * series)
    return jnp.where(small, series, u - jnp.log1p(jnp.where(small, 0.0, u)))
