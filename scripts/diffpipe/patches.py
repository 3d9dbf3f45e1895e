"""A signal grid's patches on one compiled model.

A signal grid is a background-only workspace and a patchset whose patches each add a signal
sample to some channels. In published grids no two patches need have one structure: the signal
is named after its mass point, its MC-stat shapesys too, it appears in different channels, and
its systematics differ from point to point (so pyhf builds, validates and the kernel compiles a
model per patch). `GridLayout` puts every patch into one structure, the union:

- the added sample of each channel is renamed `signal`, and a modifier whose name contains the
  sample's name gets `signal` in its place (`shape_mcstat_<sample>_SRlow` becomes
  `shape_mcstat_signal_SRlow`: a per-point name of one per-channel role);
- a channel any patch adds a signal to has one in every patch: where a patch adds none, its
  signal has zero yields;
- a modifier any patch's signal carries in a channel is carried by every patch's signal there;
  where a patch's lacks it, it is neutral: normsys with hi = lo = 1, histosys with hi = lo = the
  nominal, and (only where the patch has no signal in the channel, its yields zero) staterror
  and shapesys with zero uncertainty and the factors with nothing to scale.

A neutral entry leaves the patch's rates as they are, so the union's likelihood of a patch is
its own likelihood times constraint terms of parameters nothing else depends on (a Gaussian
θ = 0, a Poisson γ = 1 with τ = 1): fits, profile likelihood ratios and limits are the patch's
own. The kernel then compiles one model for the grid, and each patch is its derived numbers
(`grid_derived`) and data (`patch_data`). What cannot be put into the union (a patch that
changes the background, the measurements or the observations; a signal lacking a factor
modifier that other patches' signals carry in a channel where it has yields) is named in
`GridLayout.reason`, and such a grid builds each patch's own model.
"""

import re
from collections.abc import Mapping

import numpy as np

from diffpipe.compiled import kernel
from diffpipe.workspaces import ModelError, pruned, read_json

SIGNAL = "signal"
# a signal grid's keys that define each patch's model (the rest select patches and split jobs)
MODEL_KEYS = (
    "workspace",
    "patchset",
    "measurement",
    "data",
    "clip_sample_data",
    "clip_bin_data",
    "bounds",
    "fixed",
    "prune",
)
# modifiers whose factor multiplies the sample's rate: neutral only on a sample of zero yields
FACTORS = ("normfactor", "lumi", "shapefactor", "staterror", "shapesys")
_SAMPLE_ADD = re.compile(r"^/channels/(\d+)/samples/(\d+|-)$")


class GridLayout:
    """The union structure of a signal grid's patches (see the module docstring).

    Args:
        background: the background-only workspace specification.
        patchset: the patchset specification.
        names: the patches to lay out.
        pinned: parameter names the config refers to (bounds, fixed): never renamed.
        prune: the grid's `prune` (`models.pruned`), applied to every specification laid out.

    Attributes:
        reason: why the patches cannot share one structure ("" when they can).
    """

    def __init__(self, background: Mapping, patchset: Mapping, names: list[str], pinned=(), prune=None):
        self.background = background
        self.prune = prune
        self.names = list(names)
        self.reason = ""
        self._signals: dict[str, dict[int, dict]] = {}
        self._renamed: dict[str, dict[str, str]] = {}
        self._union: dict[int, dict[tuple, dict]] = {}
        self._nominal: dict[int, list] = {}
        # (kernel, the numbers of the first patch laid out for it): the background every patch shares
        self._laid_out = None
        by_name = {p["metadata"]["name"]: p for p in patchset.get("patches", [])}
        declared = {m["name"] for c in background["channels"] for s in c["samples"] for m in s["modifiers"]}
        declared |= {p["name"] for m in background.get("measurements", []) for p in m["config"]["parameters"]}
        try:
            for name in self.names:
                self._add(name, by_name[name]["patch"], declared | set(pinned))
            self._check_factors()
        except _Unshared as why:
            self.reason = str(why)

    @classmethod
    def of(cls, signal_grid: Mapping, names: list[str]) -> "GridLayout":
        """The layout of a signal grid's config entry (its workspace and patchset files read).

        Args:
            signal_grid: the entry (workspace, patchset, bounds, fixed, prune).
            names: the patches to lay out.

        Returns:
            The `GridLayout`.
        """
        background = read_json(signal_grid["workspace"], "workspace")
        patchset = read_json(signal_grid["patchset"], "patchset")
        pinned = (*signal_grid.get("bounds", {}), *signal_grid.get("fixed", {}))
        return cls(background, patchset, names, pinned=pinned, prune=signal_grid.get("prune"))

    def _add(self, name: str, operations: list, declared: set) -> None:
        channels = self.background["channels"]
        signals, renamed = {}, {}
        for op in operations:
            match = _SAMPLE_ADD.match(str(op.get("path", "")))
            if op.get("op") != "add" or match is None or int(match[1]) >= len(channels):
                raise _Unshared(f"patch {name!r}: {op.get('op')} {op.get('path')} is not a sample added to a channel")
            channel = int(match[1])
            if channel in signals:
                raise _Unshared(f"patch {name!r} adds more than one sample to channel {channels[channel]['name']!r}")
            sample = op["value"]
            if any(s["name"] == SIGNAL for s in channels[channel]["samples"]):
                raise _Unshared(f"channel {channels[channel]['name']!r} has a background sample named {SIGNAL!r}")
            modifiers = []
            for modifier in sample["modifiers"]:
                canonical = modifier["name"].replace(sample["name"], SIGNAL)
                if canonical != modifier["name"]:
                    if modifier["name"] in declared or canonical in declared:
                        raise _Unshared(f"patch {name!r}: modifier {modifier['name']!r} is named elsewhere")
                    renamed[modifier["name"]] = canonical
                modifiers.append({**modifier, "name": canonical})
            signals[channel] = {"name": SIGNAL, "data": sample["data"], "modifiers": modifiers}
            union = self._union.setdefault(channel, {})
            for modifier in modifiers:
                union.setdefault((modifier["name"], modifier["type"]), modifier)
            self._nominal.setdefault(channel, sample["data"])
        self._signals[name] = signals
        self._renamed[name] = renamed

    def _check_factors(self) -> None:
        for name, signals in self._signals.items():
            for channel, sample in signals.items():
                own = {(m["name"], m["type"]) for m in sample["modifiers"] if m["type"] in FACTORS}
                union = {key for key in self._union[channel] if key[1] in FACTORS}
                if own != union:
                    missing = sorted(f"{n} ({t})" for n, t in union - own)
                    raise _Unshared(
                        f"patch {name!r}: its signal in channel {self.background['channels'][channel]['name']!r} "
                        f"lacks {', '.join(missing)}, which other patches' signals carry"
                    )

    def renamed(self, name: str) -> dict[str, str]:
        """A patch's modifier names that the layout renames.

        Args:
            name: the patch.

        Returns:
            {own name: name in the union}.
        """
        return dict(self._renamed[name])

    def specification(self, name: str) -> dict:
        """A patch's workspace specification in the union structure.

        Args:
            name: the patch.

        Returns:
            The background-only specification with the patch's signal (padded) in every
            channel of the union.
        """
        return self._workspace(lambda channel: self._padded(self._signals[name].get(channel), channel))

    def signal_specification(self, name: str) -> dict:
        """What of a patch's specification differs between patches: its signal samples alone.

        Args:
            name: the patch.

        Returns:
            `specification(name)` with only the signal sample in each channel that has one
            (and only those channels).
        """
        channels = [
            {"name": c["name"], "samples": [s for s in c["samples"] if s["name"] == SIGNAL]}
            for c in self.specification(name)["channels"]
        ]
        return {"channels": [c for c in channels if c["samples"]]}

    def model_specification(self) -> dict:
        """A specification of the union structure to build its one pyhf model from.

        Every entry holds numbers of some patch that has it (the model is only its structure:
        each patch's numbers are laid out for it).

        Returns:
            The workspace specification.
        """

        def representative(channel):
            union = self._union[channel]
            return {"name": SIGNAL, "data": self._nominal[channel], "modifiers": list(union.values())}

        return self._workspace(representative)

    def _workspace(self, signal_of) -> dict:
        channels = []
        for c, channel in enumerate(self.background["channels"]):
            samples = list(channel["samples"])
            if c in self._union:
                samples.append(signal_of(c))
            channels.append({"name": channel["name"], "samples": samples})
        return pruned({**self.background, "channels": channels}, self.prune)

    def _padded(self, sample: dict | None, channel: int) -> dict:
        """A patch's signal in one channel with every union modifier (the absent ones neutral)."""
        nbins = len(self._nominal[channel])
        data = sample["data"] if sample is not None else [0.0] * nbins
        own = {(m["name"], m["type"]): m for m in (sample["modifiers"] if sample is not None else [])}
        modifiers = []
        for key, template in self._union[channel].items():
            modifier = own.get(key)
            if modifier is None:
                modifier = {"name": key[0], "type": key[1], "data": _neutral(key[1], data, template)}
            modifiers.append(modifier)
        return {"name": SIGNAL, "data": data, "modifiers": modifiers}


class _Unshared(Exception):
    """Why a grid's patches cannot share one structure."""


def _neutral(kind: str, nominal: list, template: Mapping):
    """The data of a modifier that leaves a sample's rates as they are (see the module docstring)."""
    if kind == "normsys":
        return {"hi": 1.0, "lo": 1.0}
    if kind == "histosys":
        return {"hi_data": list(nominal), "lo_data": list(nominal)}
    if kind in ("staterror", "shapesys"):
        return [0.0] * len(nominal)
    return template.get("data")


def patch_derived(model, workspace: Mapping) -> dict:
    """The kernel's derived numbers (JAX) of a workspace specification of the model's structure.

    Args:
        model: a pyhf model (a signal grid's union model).
        workspace: a specification with the model's channels, samples and modifiers
            (`GridLayout.specification`).

    Returns:
        The derived pytree.

    Raises:
        ModelError: the specification does not fit the model's structure.
    """
    hf = kernel(model)
    return _derived(hf, _laid_out(hf, workspace))


def grid_derived(model, layout: GridLayout, name: str) -> dict:
    """A patch's derived numbers under its grid's union model: `patch_derived` of its specification.

    Every patch of a layout has the same background: its numbers are laid out once (with the
    first patch asked for) and each later patch lays out its signal alone over them (1Lbb: ~3 ms
    a patch instead of ~31 ms).

    Args:
        model: the grid's union model.
        layout: the grid's `GridLayout`.
        name: the patch.

    Returns:
        The derived pytree.

    Raises:
        ModelError: the patch does not fit the model's structure.
    """
    hf = kernel(model)
    held = layout._laid_out
    if held is None or held[0] is not hf:
        numbers = _laid_out(hf, layout.specification(name))
        layout._laid_out = (hf, numbers)
    else:
        numbers = _laid_out(hf, layout.signal_specification(name), held[1])
    return _derived(hf, numbers)


def _laid_out(hf, workspace: Mapping, base: dict | None = None) -> dict:
    """`hf.layout(workspace, base)`, its errors as the patchset's."""
    from diffpipe.histfactory import KernelError

    try:
        return hf.layout(workspace, base)
    except KernelError as err:
        raise ModelError("patchset", f"a patch does not fit the grid's model: {err}") from None
    except (KeyError, TypeError, ValueError) as err:  # a malformed sample or modifier
        raise ModelError("patchset", f"a patch's signal cannot be read: {type(err).__name__}: {err}") from None


def _derived(hf, numbers: dict) -> dict:
    """The derived pytree of laid-out numbers (one compiled call; NumPy arrays go in as they are)."""
    return dict(hf.derive_compiled({k: np.asarray(v) for k, v in numbers.items()}))


def patch_data(model, data: np.ndarray, derived: dict, asimov: dict | None = None) -> np.ndarray:
    """A patch's dataset under the grid's model: what pyhf builds for the patch's own model.

    The observed counts are the background-only workspace's (patches add samples only); the
    auxiliary data are the constraints' centres at the suggested start, which for shapesys
    (τ) depend on the patch's yields. Asimov data are the patch's expected data.

    Args:
        model: the grid's union pyhf model.
        data: its dataset as `models.build_model` gives it (main counts first).
        derived: the patch's derived numbers (`patch_derived`).
        asimov: for Asimov data, {parameter name: value} over the suggested start; None for
            observed data.

    Returns:
        The dataset (main + auxiliary) as float64.
    """
    import jax

    hf = kernel(model)
    pars = np.asarray(model.config.suggested_init(), float)
    if asimov is not None:
        names = list(model.config.par_names)
        for name, value in asimov.items():
            pars[names.index(name)] = value
        return np.asarray(hf.expected(pars, derived), float)
    # compiled once per model: eagerly its three array operations cost ~7 ms a patch
    aux = np.asarray(hf.cached("expected_aux", lambda: jax.jit(hf.expected_aux))(pars, derived), float)
    return np.concatenate([np.asarray(data[: hf.structure.nbins], float), aux])


VERIFY_SHRINKS = 6  # a non-finite point is drawn again this many times, each 4x closer to the suggested values


def verify_patch(nll, grad, grid_model, own_model, own_data, renamed: dict, bounds) -> None:
    """Check that a patch under the grid's model has its own model's likelihood.

    The two likelihoods differ by constraint terms of parameters only the grid's model has,
    which are constant at their suggested values. At three points of the patch's own parameters
    (the others at their suggested values) the differences of -ln L must equal those of pyhf's
    log-pdf of the patch's own model, and the gradient with respect to the other parameters
    must vanish. The points are drawn around the suggested values, within a tenth of each
    bound's range, closer where a likelihood is not finite there (on a published likelihood
    with a hundred shape systematics a draw across the bounds can drive a bin negative).

    Args:
        nll: -ln L(pars) of the patch under the grid's model (its data and numbers bound).
        grad: its gradient(pars).
        grid_model: the grid's union pyhf model.
        own_model: the patch's own pyhf model (built in full).
        own_data: its data.
        renamed: {own parameter name: name in the grid's model} (`GridLayout.renamed`).
        bounds: the own model's (npars, 2) fit bounds (where the points are drawn).

    Raises:
        RuntimeError: naming what differs.
    """
    grid_config, own_config = grid_model.config, own_model.config
    index = np.zeros(own_config.npars, int)
    for name in own_config.par_order:
        own, grid = own_config.par_slice(name), grid_config.par_slice(renamed.get(name, name))
        if own.stop - own.start != grid.stop - grid.start:
            raise RuntimeError(f"parameter {name!r} has another size in the grid's model")
        index[own] = np.arange(grid.start, grid.stop)
    others = np.setdiff1d(np.arange(grid_config.npars), index)
    rng = np.random.default_rng(0)
    lo, hi = np.asarray(bounds, float).T
    base = np.asarray(grid_config.suggested_init(), float)
    centre = np.clip(np.asarray(own_config.suggested_init(), float), lo, hi)
    grid_values, own_values = [], []
    for _ in range(3):
        step = rng.uniform(-0.05, 0.05, len(lo)) * (hi - lo)
        for _shrink in range(VERIFY_SHRINKS):
            point = np.clip(centre + step, lo, hi)
            full = base.copy()
            full[index] = point
            values = float(nll(full)), -float(np.asarray(own_model.logpdf(point, own_data)).reshape(-1)[0])
            if np.all(np.isfinite(values)):
                break
            step = step / 4.0
        grid_values.append(values[0])
        own_values.append(values[1])
        if not np.allclose(np.asarray(grad(full))[others], 0.0, atol=1e-9):
            raise RuntimeError("parameters the patch does not have are not neutral in the grid's model")
    scale = max(1.0, *map(abs, own_values))
    differences = np.subtract(grid_values[1:], grid_values[0]), np.subtract(own_values[1:], own_values[0])
    if not np.allclose(*differences, rtol=1e-9, atol=1e-10 * scale):
        raise RuntimeError(
            f"the grid's model gives the patch another likelihood than its own model: -ln L differences "
            f"{differences[0].tolist()} against pyhf's {differences[1].tolist()}"
        )


def check_patches(entry: Mapping, names: list[str]):
    """The selected patches of a signal grid, each checked the way its job will use it.

    The background-only workspace and the patchset are validated once and the patchset
    verified against the workspace. When the patches share one structure (`GridLayout`), the
    grid's model is built and checked as `models.build_model` does, and each patch's numbers
    are laid out for it with -ln L finite at the suggested start under the patch's data (no
    pyhf model built per patch). Otherwise each patch's own model is built and checked in full.

    Args:
        entry: a signal grid's config entry (workspace, patchset, measurement, data, bounds,
            fixed, prune).
        names: the patches to check.

    Yields:
        (patch name, the pyhf model its job fits: the grid's when shared, else its own).

    Raises:
        ModelError: as `build_model`, or naming the patch whose numbers do not fit or whose
            likelihood is not finite.
    """
    import jax
    import pyhf

    from diffpipe.compiled import make_nll
    from diffpipe.models import build_model
    from diffpipe.runtime import enable_float64
    from diffpipe.workspaces import pyhf_patchset, pyhf_workspace

    # the patchset belongs to the workspace before pruning; the layout prunes what it lays out
    base = {k: v for k, v in entry.items() if k not in ("patchset", "patch", "prune")}
    try:
        pyhf_patchset(entry).verify(pyhf_workspace(base))
    except pyhf.exceptions.PatchSetVerificationError as err:
        raise ModelError("patchset", f"{entry['patchset']} does not belong to {entry['workspace']}: {err}") from None
    layout = GridLayout.of(entry, names)
    if layout.reason:
        for name in names:
            yield name, build_model({**entry, "patch": name})[0]
        return
    model, data = build_model({**base, "workspace": layout.model_specification()})
    init = np.asarray(model.config.suggested_init(), float)
    enable_float64()  # the jobs' precision (at parse time JAX may still be in float32)
    nll = jax.jit(make_nll(model))
    asimov = {} if entry.get("data", "observed") != "observed" else None
    for name in names:
        try:
            derived = grid_derived(model, layout, name)
        except ModelError as err:
            raise ModelError("patchset", f"patch {name!r}: {err}") from None
        value = float(nll(init, patch_data(model, data, derived, asimov), derived))
        if not np.isfinite(value):
            raise ModelError(
                "patchset",
                f"patch {name!r}: the log-likelihood at the suggested start is {value} (zero expected yield in a bin?)",
            )
        yield name, model
