"""The magnitudes of an analysis specification as inputs: modifier scales and yield scales.

A specification's numbers (`histfactory.HistFactory.layout`) become a function of

- one scale per systematic (`Scales.modifiers`), 1 = as published: a normsys's deltas
  (hi - 1, 1 - lo), a histosys's template shifts (hi - nominal, nominal - lo), a staterror's
  or shapesys's absolute uncertainties, the lumi constraint's width;
- one scale per sample and main bin (`Scales.yields`): the sample's nominal yield in that bin
  with everything expressed in events alongside it (histosys templates, staterror and shapesys
  uncertainties), so its relative uncertainties stay as published. A sample's normalisation is
  all of its bins scaled together.

`numbers(phi)` is the JAX map the differentiable inference uses; `scaled_workspace` applies the
same edit to a workspace's JSON, so a reference can rebuild the model with pyhf from the edited
specification and compare.
"""

import copy
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Modifier:
    """One systematic whose magnitude has a scale (all modifiers of that name, of every kind).

    Attributes:
        name: the modifier's (its parameter's) name.
        kinds: its kinds among normsys, histosys, staterror, shapesys and lumi (a systematic
            often has a normsys and a histosys part).
    """

    name: str
    kinds: tuple


class Scales:
    """The scales of one compiled model and the numbers they give.

    Args:
        hf: the model's `HistFactory`.
        lumi: names of the model's lumi modifiers (their constraint widths are scaled).

    Attributes:
        modifiers: the scaled systematics, in order of first appearance in the kernel
            (normsys, histosys, staterror, shapesys, lumi).
        samples: sample names (the rows of a yield scale).
        nbins: main bins (its columns).
    """

    def __init__(self, hf, lumi=()):
        st = hf.structure
        self._hf = hf
        self._base = {k: np.asarray(v, float) for k, v in hf.numbers.items()}
        per_kind = {"normsys": st.normsys, "histosys": st.histosys, "staterror": st.staterror, "shapesys": st.shapesys}
        lumi_terms = [""] * len(st.gauss_par)
        for name in lumi:
            for t in np.flatnonzero(st.gauss_par == hf.par_names.index(name)):
                lumi_terms[t] = name
        per_kind["lumi"] = tuple(lumi_terms)
        kinds: dict[str, list[str]] = {}
        for kind, names in per_kind.items():
            for name in names:
                if name and kind not in kinds.setdefault(name, []):
                    kinds[name].append(kind)
        names = list(kinds)
        self.modifiers = tuple(Modifier(n, tuple(kinds[n])) for n in names)
        position = {n: i for i, n in enumerate(names)}
        # per kernel entry of each kind, the position of its scale (len(names): the constant 1)
        self._take = {k: np.array([position.get(n, len(names)) for n in v], int) for k, v in per_kind.items()}
        self.samples = st.samples
        self.nbins = st.nbins

    def ones(self) -> dict:
        """The published specification: every scale 1.

        Returns:
            {"modifiers": (M,), "yields": (S, B)} as float64 arrays.
        """
        return {"modifiers": np.ones(len(self.modifiers)), "yields": np.ones((len(self.samples), self.nbins))}

    def numbers(self, phi: Mapping) -> dict:
        """The kernel numbers of the specification with scales `phi` (JAX-traceable).

        Args:
            phi: {"modifiers": (M,), "yields": (S, B)}.

        Returns:
            The numbers, as `HistFactory.layout` gives them.
        """
        import jax.numpy as jnp

        base = self._base
        c = jnp.asarray(phi["yields"])
        ext = jnp.concatenate([jnp.asarray(phi["modifiers"], c.dtype), jnp.ones(1, c.dtype)])
        col = (slice(None), None, None)
        kn, kh = ext[self._take["normsys"]][col], ext[self._take["histosys"]][col]
        ks, kp = ext[self._take["staterror"]][col], ext[self._take["shapesys"]][col]
        nominal = base["nominal"]
        return {
            "nominal": nominal * c,
            "normsys_hi": 1.0 + kn * (base["normsys_hi"] - 1.0),
            "normsys_lo": 1.0 + kn * (base["normsys_lo"] - 1.0),
            "histosys_hi": c * (nominal + kh * (base["histosys_hi"] - nominal)),
            "histosys_lo": c * (nominal + kh * (base["histosys_lo"] - nominal)),
            "staterror": base["staterror"] * ks * c,
            "shapesys": base["shapesys"] * kp * c,
            "gauss_sigma": base["gauss_sigma"] * ext[self._take["lumi"]],
        }

    def signal_sample(self, workspace: Mapping, poi: str) -> int | None:
        """The sample the POI scales (the first carrying a normfactor named after it).

        Args:
            workspace: the model's workspace specification.
            poi: the POI's name.

        Returns:
            Its index in `samples`, or None.
        """
        for channel in workspace["channels"]:
            for sample in channel["samples"]:
                if any(m["type"] == "normfactor" and m["name"] == poi for m in sample["modifiers"]):
                    return self.samples.index(sample["name"])
        return None


def lumi_modifiers(workspace: Mapping) -> list[str]:
    """The names of a workspace's lumi modifiers.

    Args:
        workspace: a workspace specification.

    Returns:
        The names, in first-seen order.
    """
    names: list[str] = []
    for channel in workspace["channels"]:
        for sample in channel["samples"]:
            for mod in sample["modifiers"]:
                if mod["type"] == "lumi" and mod["name"] not in names:
                    names.append(mod["name"])
    return names


def scaled_workspace(
    workspace: Mapping,
    measurement: str,
    modifiers: Mapping | None = None,
    yields: Mapping | None = None,
) -> dict:
    """A copy of a workspace specification with systematics and sample yields scaled in its JSON.

    The edit `Scales.numbers` makes, written on the specification itself, so that pyhf builds
    the scaled model from it.

    Args:
        workspace: a workspace specification (channels, measurements, observations).
        measurement: the measurement whose lumi widths are scaled.
        modifiers: {modifier name: scale}.
        yields: {(channel, sample): scale, or a list of one scale per bin of that channel}.

    Returns:
        The edited specification.
    """
    modifiers, yields = dict(modifiers or {}), dict(yields or {})
    out = copy.deepcopy(dict(workspace))
    for channel in out["channels"]:
        for sample in channel["samples"]:
            c = np.broadcast_to(
                np.asarray(yields.get((channel["name"], sample["name"]), 1.0), float), (len(sample["data"]),)
            )
            nominal = np.asarray(sample["data"], float)
            for mod in sample["modifiers"]:
                s = float(modifiers.get(mod["name"], 1.0))
                data = mod.get("data")
                if mod["type"] == "normsys":
                    mod["data"] = {k: 1.0 + s * (data[k] - 1.0) for k in ("hi", "lo")}
                elif mod["type"] == "histosys":
                    mod["data"] = {
                        key: (c * (nominal + s * (np.asarray(data[key], float) - nominal))).tolist()
                        for key in ("hi_data", "lo_data")
                    }
                elif mod["type"] in ("staterror", "shapesys"):
                    mod["data"] = (np.asarray(data, float) * s * c).tolist()
            sample["data"] = (nominal * c).tolist()
    for entry in out["measurements"]:
        if entry["name"] != measurement:
            continue
        for par in entry["config"].get("parameters", []):
            if par["name"] in modifiers and "sigmas" in par:
                par["sigmas"] = [float(v) * float(modifiers[par["name"]]) for v in par["sigmas"]]
    return out


def scaled_entry(entry: Mapping, modifiers: Mapping | None = None, yields: Mapping | None = None) -> dict:
    """A model entry whose workspace is the entry's specification with scales applied in its JSON.

    What a reference builds to check `Scales.numbers`: pyhf parses the edited specification
    and builds the model from it, as it would a published one.

    Args:
        entry: a `likelihood.models` entry (simple or workspace).
        modifiers: {modifier name: scale}.
        yields: {(channel, sample): scale or per-bin scales}.

    Returns:
        The entry (its `workspace` a specification, not a file).
    """
    from diffpipe.workspaces import specification

    workspace, measurement = specification(entry)
    scaled = {
        k: v
        for k, v in entry.items()
        if k not in ("simple", "workspace", "patchset", "patch", "patch_file", "measurement")
    }
    if "simple" in entry:
        scaled["poi"] = "mu"
    scaled["workspace"] = scaled_workspace(workspace, measurement, modifiers, yields)
    scaled["measurement"] = measurement
    return scaled
