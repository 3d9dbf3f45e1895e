"""The static layout of a HistFactory model the kernel compiles: shapes, masks, parameter indices.

`Structure` is what `histfactory.HistFactory` lays a pyhf model out as (NumPy); the helpers
here build its parts.
"""

from dataclasses import dataclass

import numpy as np

NORMSYS_CODES = ("code1", "code4")
HISTOSYS_CODES = ("code0", "code2", "code4p")


class KernelError(ValueError):
    """A model or specification the kernel cannot lay out (the message says which part)."""


@dataclass(frozen=True)
class Structure:
    """The static part of a compiled model: shapes, masks and parameter indices (NumPy).

    Attributes:
        npars: number of parameters.
        nbins: main bins B.
        samples: sample names (S).
        channels: (name, first bin, number of bins) per channel.
        normsys: normsys modifier names (Kn); `normsys_par` their parameter indices.
        normsys_mask: (Kn, S, B) where each applies.
        histosys: histosys modifier names (Kh); `histosys_par`, `histosys_mask` as above.
        direct: (L, S, B) parameter index per layer of factors that are a parameter's value
            (normfactor, lumi, shapefactor, staterror, shapesys); npars where a layer is absent.
        staterror: staterror names (Ks); `staterror_mask` (Ks, S, B): the samples they cover.
        shapesys: shapesys names (Kp); `shapesys_mask` (Kp, S, B).
        gauss_par, gauss_aux: parameter and data index of each Gaussian constraint term.
        gauss_staterror: per Gaussian term, the (staterror k, bin b) whose width it takes from
            the yields, or (-1, -1) (the width is a number of its own).
        poisson_par, poisson_aux: likewise for the Poisson (shapesys) terms;
            `poisson_source` (Kp index, bin) whose scale factor each takes.
        normsys_code, histosys_code: the interpolation codes.
        clip_sample, clip_bin: pyhf's `clip_sample_data` and `clip_bin_data` (None: no clipping):
            each sample's rate per bin, and each bin's total, is at least this value.
    """

    npars: int
    nbins: int
    samples: tuple
    channels: tuple
    normsys: tuple
    normsys_par: np.ndarray
    normsys_mask: np.ndarray
    histosys: tuple
    histosys_par: np.ndarray
    histosys_mask: np.ndarray
    direct: np.ndarray
    staterror: tuple
    staterror_mask: np.ndarray
    shapesys: tuple
    shapesys_mask: np.ndarray
    gauss_par: np.ndarray
    gauss_aux: np.ndarray
    gauss_staterror: np.ndarray
    poisson_par: np.ndarray
    poisson_aux: np.ndarray
    poisson_source: np.ndarray
    normsys_code: str
    histosys_code: str
    clip_sample: float | None = None
    clip_bin: float | None = None


def pack(layers: list, absent: int, shape: tuple) -> np.ndarray:
    """Stack per-modifier index layers, merging modifiers that touch disjoint (sample, bin) cells.

    Args:
        layers: (S, B) parameter-index arrays, `absent` where the modifier does not apply.
        absent: the index meaning "no factor" (the constant 1).
        shape: (S, B).

    Returns:
        (L, S, B) with L the largest number of such factors on any cell (at least 1).
    """
    packed: list[np.ndarray] = []
    for layer in layers:
        used = layer != absent
        for target in packed:
            if not np.any(used & (target != absent)):
                target[used] = layer[used]
                break
        else:
            packed.append(layer.copy())
    return np.stack(packed) if packed else np.full((1, *shape), absent)


def interpolation_codes(model) -> tuple[str, str]:
    """The model's normsys and histosys interpolation codes (pyhf's defaults code1, code0).

    Args:
        model: the pyhf model.

    Returns:
        (normsys code, histosys code).

    Raises:
        KernelError: a code pyhf does not implement.
    """
    settings = getattr(model.config, "modifier_settings", {}) or {}
    normsys = settings.get("normsys", {}).get("interpcode", "code1")
    histosys = settings.get("histosys", {}).get("interpcode", "code0")
    if normsys not in NORMSYS_CODES or histosys not in HISTOSYS_CODES:
        raise KernelError(f"interpolation codes normsys {normsys!r}, histosys {histosys!r} are not pyhf's")
    return normsys, histosys


def clip_value(main, name: str) -> float | None:
    """A pyhf clip option of a model's main model.

    Args:
        main: the pyhf model's `main_model`.
        name: "clip_sample_data" or "clip_bin_data".

    Returns:
        Its value (None: unset).
    """
    value = getattr(main, name, None)
    return None if value is None else float(value)


def bin_ranks(mask_bins: np.ndarray) -> np.ndarray:
    """Per global bin, its rank among the masked bins.

    Args:
        mask_bins: (B,) bool.

    Returns:
        (B,) ranks, -1 where unmasked.
    """
    ranks = np.full(len(mask_bins), -1)
    ranks[mask_bins] = np.arange(int(mask_bins.sum()))
    return ranks


def layout_numbers(
    st: Structure, offsets: dict, sample_index: dict, index: dict, gauss_sigma, workspace, base: dict | None = None
) -> dict:
    """The numbers of a workspace specification laid out for a structure (`HistFactory.layout`).

    Args:
        st: the structure.
        offsets: channel -> (first bin, bins).
        sample_index: sample -> its index.
        index: modifier type -> {name: its index among that type's modifiers}.
        gauss_sigma: the Gaussian constraint terms' widths (pyhf's).
        workspace: a (patched) workspace specification with this model's channels, samples and
            modifiers (a patch of the same signal grid, say).
        base: numbers laid out for this structure that `workspace` changes only in some samples
            (a signal grid's background, laid out once): `workspace` then holds those samples
            alone (in the channels they belong to), each laid out in full over a copy of `base`.

    Returns:
        {nominal (S, B), normsys_hi/lo (Kn, S, B), histosys_hi/lo (Kh, S, B),
        staterror (Ks, S, B), shapesys (Kp, S, B), gauss_sigma (Gaussian terms)} as float64.

    Raises:
        KernelError: the specification has a sample, channel or modifier this structure lacks.
    """
    masks = {
        "normsys": st.normsys_mask,
        "histosys": st.histosys_mask,
        "staterror": st.staterror_mask,
        "shapesys": st.shapesys_mask,
    }
    shape = (len(st.samples), st.nbins)
    nominal = np.zeros(shape)
    normsys_hi, normsys_lo = np.ones((len(st.normsys), *shape)), np.ones((len(st.normsys), *shape))
    histosys_hi, histosys_lo = np.zeros((len(st.histosys), *shape)), np.zeros((len(st.histosys), *shape))
    staterror = np.zeros((len(st.staterror), *shape))
    shapesys = np.zeros((len(st.shapesys), *shape))
    seen = {kind: np.zeros_like(mask) for kind, mask in masks.items()}
    # the samples laid out here (all of them without a base): every entry of theirs is set below
    samples = slice(None)
    if base is not None:
        named = {sample["name"] for channel in workspace["channels"] for sample in channel["samples"]}
        samples = sorted(sample_index[name] for name in named if name in sample_index)
        kept = np.ones(len(st.samples), bool)
        kept[samples] = False
        fresh = (nominal, normsys_hi, normsys_lo, histosys_hi, histosys_lo, staterror, shapesys)
        keys = ("nominal", "normsys_hi", "normsys_lo", "histosys_hi", "histosys_lo", "staterror", "shapesys")
        for array, key in zip(fresh, keys, strict=True):
            array[..., kept, :] = base[key][..., kept, :]
    for channel in workspace["channels"]:
        if channel["name"] not in offsets:
            raise KernelError(f"channel {channel['name']!r} is not in the model")
        lo, n = offsets[channel["name"]]
        bins = slice(lo, lo + n)
        for sample in channel["samples"]:
            s = sample_index.get(sample["name"])
            if s is None:
                raise KernelError(f"sample {sample['name']!r} is not in the model")
            data = np.asarray(sample["data"], float)
            if data.shape != (n,):
                raise KernelError(f"sample {sample['name']!r} in {channel['name']!r} has {data.size} bins, not {n}")
            nominal[s, bins] = data
            for mod in sample["modifiers"]:
                kind, name = mod["type"], mod["name"]
                if kind in ("normfactor", "lumi", "shapefactor"):
                    continue
                k = index.get(kind, {}).get(name)
                if k is None:
                    raise KernelError(f"{kind} {name!r} is not in the model")
                seen[kind][k, s, bins] = True
                if kind == "normsys":
                    normsys_hi[k, s, bins], normsys_lo[k, s, bins] = mod["data"]["hi"], mod["data"]["lo"]
                elif kind == "histosys":
                    histosys_hi[k, s, bins] = mod["data"]["hi_data"]
                    histosys_lo[k, s, bins] = mod["data"]["lo_data"]
                elif kind == "staterror":
                    staterror[k, s, bins] = mod["data"]
                else:
                    shapesys[k, s, bins] = mod["data"]
    for kind, mask in masks.items():
        if not np.array_equal(seen[kind][:, samples], mask[:, samples]):
            raise KernelError(f"the {kind} modifiers apply to other samples or bins than in the model")
    # histosys entries that do not apply hold the nominal (their shift is zero either way)
    histosys_hi = np.where(st.histosys_mask, histosys_hi, nominal[None])
    histosys_lo = np.where(st.histosys_mask, histosys_lo, nominal[None])
    gauss_sigma = np.array(gauss_sigma, float)
    return {
        "nominal": nominal,
        "normsys_hi": normsys_hi,
        "normsys_lo": normsys_lo,
        "histosys_hi": histosys_hi,
        "histosys_lo": histosys_lo,
        "staterror": staterror,
        "shapesys": shapesys,
        "gauss_sigma": gauss_sigma,
    }
