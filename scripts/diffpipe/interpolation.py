"""HistFactory's interpolation codes and the parameter-independent terms of a specification.

Every code pyhf implements, as its vectorised code computes it (normsys: code1, code4; histosys:
code0, code2, code4p), with the first and second derivatives the structured Hessian of
`histfactory.HistFactory.nll_grad_hess` needs; and `derive_terms`, what the likelihood needs of
a specification's numbers besides the parameters (interpolation coefficients, constraint widths,
shapesys scale factors).
"""

import numpy as np

# The inverse of code4's boundary-condition matrix for alpha0 = 1 (pyhf's interpolators.code4).
_CODE4_AINV = np.array(
    [
        [15.0 / 16, -15.0 / 16, -7.0 / 16, -7.0 / 16, 1.0 / 16, -1.0 / 16],
        [3.0 / 2, 3.0 / 2, -9.0 / 16, 9.0 / 16, 1.0 / 16, 1.0 / 16],
        [-5.0 / 8, 5.0 / 8, 5.0 / 8, 5.0 / 8, -1.0 / 8, 1.0 / 8],
        [3.0 / -2, 3.0 / -2, -7.0 / -8, 7.0 / -8, -1.0 / 8, -1.0 / 8],
        [3.0 / 16, -3.0 / 16, -3.0 / 16, -3.0 / 16, 1.0 / 16, -1.0 / 16],
        [1.0 / 2, 1.0 / 2, -5.0 / 16, 5.0 / 16, 1.0 / 16, 1.0 / 16],
    ]
)


def derive_terms(st, numbers: dict, xp=None) -> dict:
    """What the likelihood needs of a specification's numbers besides the parameters.

    Args:
        st: the model's `histfactory.Structure`.
        numbers: as `HistFactory.layout` returns them (arrays or tracers).
        xp: the array module (default: jax.numpy; numpy for constants).

    Returns:
        {nominal, normsys_log_hi/lo (+ normsys_coef for code4), histosys_up/dn, gauss_sigma, tau}.
    """
    if xp is None:
        import jax.numpy as xp
    nominal = numbers["nominal"]
    out = {"nominal": nominal}
    hi, lo = numbers["normsys_hi"], numbers["normsys_lo"]
    log_hi = xp.log(xp.where(st.normsys_mask, hi, 1.0))
    log_lo = xp.log(xp.where(st.normsys_mask, lo, 1.0))
    out["normsys_log_hi"], out["normsys_log_lo"] = log_hi, log_lo
    if st.normsys_code == "code4":
        up, dn = xp.exp(log_hi), xp.exp(log_lo)
        b = xp.stack([up - 1.0, dn - 1.0, log_hi * up, -log_lo * dn, log_hi**2 * up, log_lo**2 * dn])
        out["normsys_coef"] = xp.einsum("rc,cksb->rksb", _CODE4_AINV, b)
    nom = nominal[None]
    up = xp.where(st.histosys_mask, numbers["histosys_hi"] - nom, 0.0)
    dn = xp.where(st.histosys_mask, nom - numbers["histosys_lo"], 0.0)
    out["histosys_up"], out["histosys_dn"] = up, dn
    # staterror widths: sqrt(sum_s delta_sb^2) / sum_s nominal_sb over the samples it covers
    k, b = st.gauss_staterror[:, 0], st.gauss_staterror[:, 1]
    sigma = numbers["gauss_sigma"]
    if st.staterror:
        covered = xp.sum(xp.where(st.staterror_mask, nom, 0.0), axis=1)  # (Ks, B)
        safe = xp.where(covered > 0, covered, 1.0)
        rel = xp.sqrt(xp.sum(xp.where(covered[:, None] > 0, (numbers["staterror"] / safe[:, None]) ** 2, 0.0), axis=1))
        stat = k >= 0
        from_yields = rel[xp.where(stat, k, 0), xp.where(stat, b, 0)]
        from_yields = xp.where(from_yields > 0, from_yields, 1.0)
        sigma = xp.where(stat, from_yields, sigma)
    out["gauss_sigma"] = sigma
    if st.shapesys:
        k, b = st.poisson_source[:, 0], st.poisson_source[:, 1]
        nom_kb = xp.sum(xp.where(st.shapesys_mask, nom, 0.0), axis=1)[k, b]
        unc_kb = xp.sum(xp.where(st.shapesys_mask, numbers["shapesys"], 0.0), axis=1)[k, b]
        valid = (nom_kb > 0) & (unc_kb > 0)
        out["tau"] = xp.where(valid, nom_kb**2 / xp.where(valid, unc_kb, 1.0) ** 2, 1.0)
    else:
        out["tau"] = xp.zeros(0)
    return out


def derive_terms_np(st, numbers: dict) -> dict:
    """`derive_terms` in NumPy (constants wherever they are traced).

    Args:
        st: the model's `histfactory.Structure`.
        numbers: as `HistFactory.layout` returns them.

    Returns:
        The derived terms as NumPy arrays.
    """
    return derive_terms(st, numbers, xp=np)


def normsys_factor(code: str, alpha, derived, order: int):
    """Normsys factors f (Kn, S, B) and, for order 2, f'/f and (ln f)'' as well.

    Args:
        code: code1 or code4.
        alpha: the normsys parameters (Kn,).
        derived: `derive_terms`' output.
        order: 0 (the factors alone) or 2.

    Returns:
        (f, f'/f, (ln f)''), the last two None for order 0 where not free.
    """
    import jax.numpy as jnp

    a = alpha[:, None, None]
    log_hi, log_lo = derived["normsys_log_hi"], derived["normsys_log_lo"]
    # the exponential branches: hi^a for a >= 0 (code1) or a >= 1 (code4), lo^-a below
    upper = a > 0 if code == "code1" else a >= 1.0
    expo_log = jnp.where(upper, log_hi, -log_lo)
    expo = jnp.exp(a * expo_log)
    if code == "code1":
        factor, dlog, d2log = expo, expo_log, jnp.zeros_like(expo)
    else:
        coef = derived["normsys_coef"]
        lower = a <= -1.0
        a_in = jnp.where(upper | lower, 0.0, a)  # keeps the unused branch finite
        # Horner's rule: a stacked array of powers times the coefficients costs ~30x more here
        poly = coef[5]
        for i in range(4, -1, -1):
            poly = poly * a_in + coef[i]
        poly = 1.0 + poly * a_in
        inner = upper | lower
        factor = jnp.where(inner, expo, poly)
        if order:
            dpoly = 6.0 * coef[5]
            for i in range(4, -1, -1):
                dpoly = dpoly * a_in + (i + 1) * coef[i]
            d2poly = 30.0 * coef[5]
            for i in range(4, 0, -1):
                d2poly = d2poly * a_in + (i + 1) * i * coef[i]
            safe = jnp.where(inner, 1.0, poly)
            dlog = jnp.where(inner, expo_log, dpoly / safe)
            d2log = jnp.where(inner, 0.0, d2poly / safe - (dpoly / safe) ** 2)
        else:
            dlog = d2log = None
    return factor, dlog, d2log


def histosys_shift(code: str, alpha, derived, order: int):
    """Histosys shifts (Kh, S, B) and, for order 2, their first and second derivatives.

    Args:
        code: code0, code2 or code4p.
        alpha: the histosys parameters (Kh,).
        derived: `derive_terms`' output.
        order: 0 (the shifts alone) or 2.

    Returns:
        (shift, d shift/d alpha, d² shift/d alpha²), the last two None for order 0 where not free.
    """
    import jax.numpy as jnp

    a = alpha[:, None, None]
    up, dn = derived["histosys_up"], derived["histosys_dn"]
    zero = jnp.zeros_like(up)
    if code == "code0":
        slope = jnp.where(a > 0, up, dn)
        return a * slope, slope, zero
    if code == "code2":
        half_a = 0.5 * (up - dn)  # a = (hi + lo)/2 - nom
        half_b = 0.5 * (up + dn)  # b = (hi - lo)/2
        quad = half_a * a * a + half_b * a
        above, below = a > 1.0, a >= -1.0
        shift = jnp.where(below, jnp.where(above, (a - 1.0) * (half_b + 2 * half_a), quad), a * (half_b - 2 * half_a))
        d1 = jnp.where(below, jnp.where(above, half_b + 2 * half_a, 2 * half_a * a + half_b), half_b - 2 * half_a)
        d2 = jnp.where(below & ~above, 2 * half_a, 0.0)
        return shift, d1, d2
    s, asym = 0.5 * (up + dn), 0.0625 * (up - dn)
    a2 = a * a
    inner = a2 * (a2 * (a2 * 3.0 - 10.0) + 15.0)
    poly = inner * asym + a * s
    above, below = a > 1.0, a < -1.0
    shift = jnp.where(below, a * dn, jnp.where(above, a * up, poly))
    if not order:
        return shift, None, None
    dpoly = s + asym * a * (30.0 + a2 * (-40.0 + 18.0 * a2))
    d2poly = asym * (30.0 + a2 * (-120.0 + 90.0 * a2))
    d1 = jnp.where(below, dn, jnp.where(above, up, dpoly))
    d2 = jnp.where(below | above, 0.0, d2poly)
    return shift, d1, d2
