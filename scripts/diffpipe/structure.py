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
