"""The HistFactory model of a design: one channel, the three samples, their systematics.

signal (normfactor `mu`), background_1 (histosys `shape_b1` from its shifted events),
background_2 (normsys `norm_b2` from its weight variations), and one staterror `mc_stat` over all
three (the simulated statistics: sqrt of the summed squared weights per sample and bin).
`workspace` writes the histograms as a pyhf workspace; `kernel_numbers` lays the same numbers out
for the compiled kernel (`histfactory.HistFactory`), as JAX arrays of the histograms, so the
likelihood is differentiable in them.
"""

import numpy as np

from diffpipe.design.events import SAMPLES

CHANNEL = "signal_region"
POI = "mu"
STAT = "mc_stat"
SHAPE = "shape_b1"
NORM = "norm_b2"


def workspace(hists: dict, mu_max: float) -> dict:
    """The histograms as a pyhf workspace; its observations are the background-only expectation.

    Args:
        hists: `soft.hard_histograms` (or soft ones, as NumPy).
        mu_max: the POI's upper bound.

    Returns:
        The workspace specification (JSON-ready).
    """
    nominal = np.asarray(hists["nominal"], float)
    stat = np.sqrt(np.asarray(hists["sumw2"], float))
    rows = dict(zip(SAMPLES, nominal))
    modifiers = {
        "signal": [{"name": POI, "type": "normfactor", "data": None}],
        "background_1": [
            {
                "name": SHAPE,
                "type": "histosys",
                "data": {
                    "hi_data": [float(v) for v in hists["shape_up"]],
                    "lo_data": [float(v) for v in hists["shape_down"]],
                },
            }
        ],
        "background_2": [
            {"name": NORM, "type": "normsys", "data": {"hi": float(hists["norm_up"]), "lo": float(hists["norm_down"])}}
        ],
    }
    samples = []
    for s, sigma in zip(SAMPLES, stat):
        mods = [*modifiers[s], {"name": STAT, "type": "staterror", "data": [float(v) for v in sigma]}]
        samples.append({"name": s, "data": [float(v) for v in rows[s]], "modifiers": mods})
    observed = rows["background_1"] + rows["background_2"]
    return {
        "channels": [{"name": CHANNEL, "samples": samples}],
        "observations": [{"name": CHANNEL, "data": [float(v) for v in observed]}],
        "measurements": [
            {
                "name": "design",
                "config": {"poi": POI, "parameters": [{"name": POI, "bounds": [[0.0, float(mu_max)]]}]},
            }
        ],
        "version": "1.0.0",
    }


def kernel_numbers(hf, hists: dict) -> dict:
    """The kernel's numbers (`HistFactory.layout`'s) of the histograms, JAX-traceable in them.

    Args:
        hf: the `HistFactory` of a design model (`workspace`'s structure).
        hists: the histograms (arrays or tracers).

    Returns:
        The numbers dict.
    """
    import jax.numpy as jnp

    st = hf.structure
    row = [st.samples.index(s) for s in SAMPLES]
    s1, s2 = row[1], row[2]
    nominal = jnp.zeros((len(st.samples), st.nbins)).at[jnp.asarray(row)].set(hists["nominal"])
    k_norm, k_shape, k_stat = st.normsys.index(NORM), st.histosys.index(SHAPE), st.staterror.index(STAT)
    ones = jnp.ones((len(st.normsys), *nominal.shape))
    normsys_hi = ones.at[k_norm, s2].set(hists["norm_up"])
    normsys_lo = ones.at[k_norm, s2].set(hists["norm_down"])
    templates = jnp.broadcast_to(nominal, (len(st.histosys), *nominal.shape))
    staterror = jnp.zeros((len(st.staterror), *nominal.shape))
    return {
        "nominal": nominal,
        "normsys_hi": normsys_hi,
        "normsys_lo": normsys_lo,
        "histosys_hi": templates.at[k_shape, s1].set(hists["shape_up"]),
        "histosys_lo": templates.at[k_shape, s1].set(hists["shape_down"]),
        "staterror": staterror.at[k_stat, jnp.asarray(row)].set(jnp.sqrt(hists["sumw2"])),
        "shapesys": jnp.zeros((0, *nominal.shape)),
        "gauss_sigma": jnp.asarray(hf.numbers["gauss_sigma"]),
    }
