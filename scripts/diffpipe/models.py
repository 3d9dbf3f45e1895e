"""Build a pyhf model and its dataset from a config entry (simple counting model or workspace).

Shared by the likelihood stage, the optimizer comparison and the benchmark, so a model is
defined in exactly one place.
"""

import functools
import json
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffpipe import schemacache


class ModelError(ValueError):
    """A model entry that cannot be built; `key` is the config key (below the model) at fault."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@dataclass
class ParameterSetup:
    """Everything a fit needs besides the model itself."""

    par_names: list[str]
    init: np.ndarray
    bounds: list[tuple[float, float]]
    fixed: list[bool]


def use_jax_backend() -> None:
    """Switch pyhf to its jax backend in float64: pyhf's own graph, the reference of the tests.

    The pipeline never needs it (every fit runs on the kernel): under it, each model pyhf
    builds has its tensors converted to JAX, ~3 s of small compilations per model.
    """
    import jax
    import pyhf

    jax.config.update("jax_enable_x64", True)
    pyhf.set_backend("jax", precision="64b")


def read_json(path: str | Path, key: str, kinds: tuple[type, ...] = (dict,)):
    """Read a JSON file named by a config key.

    Args:
        path: the file.
        key: the config key naming it (for the error).
        kinds: the JSON types the file may hold at its top (default: an object).

    Returns:
        The parsed JSON value.

    Raises:
        ModelError: the file is missing, unreadable, not strict JSON or of another type.
    """

    def refuse(name: str):
        raise ValueError(f"{name} is not JSON (strict JSON has no NaN or infinities)")

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=refuse)
    except FileNotFoundError:
        raise ModelError(key, f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ModelError(key, f"{path}: cannot be read as JSON: {err}") from None
    if not isinstance(data, kinds):
        wanted = " or ".join({dict: "a JSON object", list: "a JSON list"}[k] for k in kinds)
        raise ModelError(key, f"{path}: must hold {wanted}, not a {type(data).__name__}")
    return data


def select_patches(patchset: Mapping, selection) -> list[dict]:
    """The patches of a patchset a config selects, in the patchset's order.

    Args:
        patchset: the patchset specification (JSON).
        selection: "all", a list of patch names, or {"values": [[...], ...]}.

    Returns:
        [{"name", "values"}] of the selected patches.

    Raises:
        ModelError: an unknown patch name or value tuple (the message lists the valid ones).
    """
    patches = [dict(p["metadata"]) for p in patchset.get("patches", [])]
    if selection in (None, "all"):
        return patches
    if isinstance(selection, Mapping):
        wanted = [tuple(float(v) for v in values) for values in selection["values"]]
        by_values = {tuple(float(v) for v in p["values"]): p for p in patches}
        missing = [list(v) for v in wanted if v not in by_values]
        if missing:
            raise ModelError("patches.values", f"no patch has values {missing}; valid: {[list(v) for v in by_values]}")
        return [by_values[v] for v in wanted]
    names = {p["name"]: p for p in patches}
    missing = [name for name in selection if name not in names]
    if missing:
        raise ModelError("patches", f"unknown patch(es) {missing}; valid: {list(names)}")
    return [names[name] for name in selection]


# The files a model entry is built from: inputs of its jobs, keys of its cached checks.
ENTRY_FILES = ("workspace", "patchset", "patch_file")


def entry_files(spec: Mapping) -> list[str]:
    """The files a model or signal-grid entry names (workspace, patchset, patch file).

    Args:
        spec: the entry.

    Returns:
        Their paths, in ENTRY_FILES order (a workspace given as a specification is not a file).
    """
    return [spec[key] for key in ENTRY_FILES if isinstance(spec.get(key), str)]


def read_patch_file(path: str | Path) -> list[dict]:
    """The JSON Patch operations of a plain patch file, checked.

    The file holds a JSON Patch (RFC 6902: a list of operations, as SModelS and MadAnalysis
    write a signal) or pyhf's single-patch object (`{"metadata": ..., "patch": [...]}`).

    Args:
        path: the file.

    Returns:
        The operations.

    Raises:
        ModelError: (key `patch_file`) a missing or malformed file, or operations that are not
            JSON Patch operations.
    """
    content = read_json(path, "patch_file", (dict, list))
    ops = content.get("patch") if isinstance(content, Mapping) else content
    if not isinstance(ops, list) or not ops:
        raise ModelError(
            "patch_file", f"{path}: not a JSON Patch (a non-empty list of operations, or {{'patch': [...]}})"
        )
    valid = {"add", "remove", "replace", "move", "copy", "test"}
    for k, op in enumerate(ops):
        if not isinstance(op, Mapping) or op.get("op") not in valid or not isinstance(op.get("path"), str):
            raise ModelError(
                "patch_file", f"{path}: operation {k} is not a JSON Patch operation (op in {sorted(valid)}, path)"
            )
    return ops


def _apply_patch_file(spec: Mapping, workspace: Mapping) -> dict:
    """The workspace specification with the entry's `patch_file` applied (when it names one)."""
    if "patch_file" not in spec:
        return dict(workspace)
    import jsonpatch

    try:
        return jsonpatch.apply_patch(dict(workspace), read_patch_file(spec["patch_file"]))
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as err:
        raise ModelError(
            "patch_file", f"{spec['patch_file']} cannot be applied to {spec['workspace']}: {err}"
        ) from None


def raw_workspace(spec: Mapping) -> dict:
    """A workspace entry's specification as JSON, patched and pruned as it says (no pyhf needed).

    Args:
        spec: a model entry with `workspace` (and optionally `patchset` + `patch` or
            `patch_file`, `prune`).

    Returns:
        The (patched, pruned) workspace specification.
    """
    workspace = _workspace_json(spec)
    if "patchset" in spec:
        import jsonpatch

        patchset = read_json(spec["patchset"], "patchset")
        for patch in patchset.get("patches", []):
            if patch.get("metadata", {}).get("name") == spec.get("patch"):
                workspace = jsonpatch.apply_patch(workspace, patch["patch"])
                break
    return pruned(_apply_patch_file(spec, workspace), spec.get("prune"))


PRUNE_KINDS = ("channels", "samples", "modifiers", "modifier_types")


def pruned(workspace: Mapping, prune: Mapping | None) -> dict:
    """A workspace specification without the channels, samples and modifiers an entry's `prune` names.

    The meaning is pyhf's `Workspace.prune(channels=, samples=, modifiers=, modifier_types=)`:
    a pruned channel loses its observations too, a pruned modifier its measurement settings,
    a modifier type every modifier of that type; names are matched in every channel and sample.

    Args:
        workspace: the workspace specification (not modified).
        prune: {channels, samples, modifiers, modifier_types: [names]}, or None.

    Returns:
        The pruned specification (the workspace itself when nothing is pruned).

    Raises:
        ModelError: an unknown name (key `prune.<kind>`), or a prune that leaves a channel
            without samples or the workspace without channels.
    """
    if not prune or not any(prune.get(kind) for kind in PRUNE_KINDS):
        return dict(workspace)
    channels = workspace["channels"]
    present = {
        "channels": [c["name"] for c in channels],
        "samples": [s["name"] for c in channels for s in c["samples"]],
        "modifiers": [m["name"] for c in channels for s in c["samples"] for m in s["modifiers"]],
        "modifier_types": [m["type"] for c in channels for s in c["samples"] for m in s["modifiers"]],
    }
    drop = {kind: set(prune.get(kind, [])) for kind in PRUNE_KINDS}
    for kind in PRUNE_KINDS:
        unknown = sorted(drop[kind] - set(present[kind]))
        if unknown:
            valid = sorted(set(present[kind]))
            raise ModelError(f"prune.{kind}", f"unknown {kind.replace('_', ' ')} {unknown}; valid: {valid}")

    def kept(modifier) -> bool:
        return modifier["name"] not in drop["modifiers"] and modifier["type"] not in drop["modifier_types"]

    new_channels = []
    for channel in channels:
        if channel["name"] in drop["channels"]:
            continue
        samples = [
            {**sample, "modifiers": [m for m in sample["modifiers"] if kept(m)]}
            for sample in channel["samples"]
            if sample["name"] not in drop["samples"]
        ]
        if not samples:
            raise ModelError("prune.samples", f"channel {channel['name']!r} would have no samples left")
        new_channels.append({**channel, "samples": samples})
    if not new_channels:
        raise ModelError("prune.channels", "every channel would be pruned")
    measurements = [
        {
            **measurement,
            "config": {
                **measurement["config"],
                "parameters": [
                    p for p in measurement["config"].get("parameters", []) if p["name"] not in drop["modifiers"]
                ],
            },
        }
        for measurement in workspace.get("measurements", [])
    ]
    observations = [o for o in workspace.get("observations", []) if o["name"] not in drop["channels"]]
    return {**workspace, "channels": new_channels, "measurements": measurements, "observations": observations}


def _workspace_json(spec: Mapping) -> dict:
    """The `workspace` of an entry: a file's JSON, or the specification itself (a `scaled_entry`)."""
    source = spec["workspace"]
    return dict(source) if isinstance(source, Mapping) else read_json(source, "workspace")


def specification(spec: Mapping) -> tuple[dict, str]:
    """A model entry's workspace specification, also for a simple counting model.

    Args:
        spec: a model entry.

    Returns:
        (the patched workspace specification, the name of the measurement it is fitted with).
    """
    if "simple" not in spec:
        workspace = raw_workspace(spec)
        return workspace, _measurement(workspace, spec.get("measurement"))["name"]
    with _numpy_backend():
        channels = _simple_model(spec["simple"]).spec["channels"]
    return {
        "channels": channels,
        "measurements": [{"name": "simple", "config": {"poi": "mu", "parameters": []}}],
        "observations": [{"name": c["name"], "data": list(spec["simple"]["background"])} for c in channels],
        "version": "1.0.0",
    }, "simple"


def _simple_model(simple: Mapping):
    """Pyhf's one-channel counting model (uncorrelated background uncertainty) of a `simple` entry."""
    import pyhf

    return pyhf.simplemodels.uncorrelated_background(
        signal=list(simple["signal"]),
        bkg=list(simple["background"]),
        bkg_uncertainty=list(simple["background_uncertainty"]),
    )


def pyhf_workspace(spec: Mapping):
    """The pyhf Workspace of a workspace entry (validated), patched and pruned as it says.

    Args:
        spec: a model entry with `workspace` (and optionally `patchset` + `patch` or
            `patch_file`, `prune`).

    Returns:
        The pyhf `Workspace`.

    Raises:
        ModelError: an invalid workspace or patchset, an unknown patch, one that cannot be
            applied, or a prune naming what the workspace lacks.
    """
    import pyhf

    schemacache.install()

    try:
        workspace = pyhf.Workspace(_workspace_json(spec))
    except ModelError:
        raise
    except Exception as err:  # pyhf raises several types for invalid workspaces
        raise ModelError("workspace", f"{spec['workspace']}: invalid workspace: {err}") from None
    if "patchset" in spec:
        workspace = _patched(spec, workspace)
    if "patch_file" in spec:
        try:
            workspace = pyhf.Workspace(_apply_patch_file(spec, workspace))
        except ModelError:
            raise
        except Exception as err:
            raise ModelError("patch_file", f"{spec['patch_file']}: the patched workspace is not valid: {err}") from None
    if not spec.get("prune"):
        return workspace
    try:
        return pyhf.Workspace(pruned(workspace, spec["prune"]))
    except ModelError:
        raise
    except Exception as err:
        raise ModelError("prune", f"the pruned workspace is not valid: {err}") from None


def _patched(spec: Mapping, workspace):
    """The pyhf Workspace with the entry's patch of its patchset applied (see `pyhf_workspace`)."""
    import pyhf

    patchset = pyhf_patchset(spec)
    patch = spec.get("patch")
    if patch not in [p.name for p in patchset.patches]:
        raise ModelError(
            "patch", f"unknown patch {patch!r} in {spec['patchset']}; valid: {[p.name for p in patchset.patches]}"
        )
    try:
        return patchset.apply(workspace, patch)
    except pyhf.exceptions.PatchSetVerificationError as err:
        raise ModelError("patchset", f"{spec['patchset']} does not belong to {spec['workspace']}: {err}") from None
    except Exception as err:
        raise ModelError("patch", f"patch {patch!r} of {spec['patchset']} cannot be applied: {err}") from None


def pyhf_patchset(spec: Mapping):
    """The pyhf PatchSet an entry names (schema-validated).

    Args:
        spec: a model entry with `patchset`.

    Returns:
        The pyhf `PatchSet`.

    Raises:
        ModelError: the file is missing or not a valid patchset.
    """
    import pyhf

    schemacache.install()

    try:
        return pyhf.PatchSet(read_json(spec["patchset"], "patchset"))
    except ModelError:
        raise
    except Exception as err:
        raise ModelError("patchset", f"{spec['patchset']}: invalid patchset: {err}") from None


def _declared_parameters(workspace: Mapping) -> set[str]:
    return {m["name"] for channel in workspace["channels"] for s in channel["samples"] for m in s["modifiers"]}


def _measurement(workspace: Mapping, name: str | None) -> dict:
    measurements = workspace.get("measurements", [])
    if name is None:
        return measurements[0]
    return next(m for m in measurements if m["name"] == name)


def count_parameters(spec: Mapping) -> tuple[int, int]:
    """Parameters and data length of a model entry, from its JSON alone (no pyhf).

    Args:
        spec: a model entry.

    Returns:
        (number of parameters, length of the data: main bins + one auxiliary datum per
        constrained parameter).
    """
    if "simple" in spec:
        bins = len(spec["simple"]["signal"])
        return 1 + bins, 2 * bins
    workspace = raw_workspace(spec)
    per_bin = {"shapesys", "staterror", "shapefactor"}
    unconstrained = {"normfactor", "shapefactor"}
    sizes, constrained = {}, {}
    for channel in workspace["channels"]:
        nbins = len(channel["samples"][0]["data"])
        for sample in channel["samples"]:
            for mod in sample["modifiers"]:
                sizes[mod["name"]] = nbins if mod["type"] in per_bin else 1
                constrained[mod["name"]] = mod["type"] not in unconstrained
    bins = sum(len(c["samples"][0]["data"]) for c in workspace["channels"])
    aux = sum(size for name, size in sizes.items() if constrained[name])
    return sum(sizes.values()), bins + aux


def model_poi(spec: Mapping, workspace: Mapping | None = None) -> tuple[str | None, str]:
    """The POI a model entry fits, and why.

    Args:
        spec: the model entry.
        workspace: its (patched) workspace specification (default: read it; None for simple models).

    Returns:
        (POI name or None, reason): `poi: null` in the config, a measurement POI that the
        (background-only) workspace does not declare, or a POI the entry holds (`fixed`: a fit
        at a fixed value, a parameter like any other) give None.
    """
    held = spec.get("fixed") or {}
    if "simple" in spec:
        return (None, "the POI 'mu' is held by the config key fixed") if "mu" in held else ("mu", "simple model")
    if spec.get("poi") in held:
        return None, f"the POI {spec['poi']!r} is held by the config key fixed"
    if "poi" in spec:
        return spec["poi"], "config key poi" if spec["poi"] else "poi: null in the config"
    workspace = raw_workspace(spec) if workspace is None else workspace
    measurement = _measurement(workspace, spec.get("measurement"))
    poi = measurement["config"].get("poi")
    if poi and poi not in _declared_parameters(workspace):
        return None, f"the measurement's POI {poi!r} is not declared in the workspace (background-only)"
    if poi in held:
        return None, f"the measurement's POI {poi!r} is held by the config key fixed"
    return poi, f"measurement {measurement['name']!r}"


def build_model(spec: Mapping, validate: bool = True):
    """Build a model entry's pyhf model and the dataset it is fitted to.

    Args:
        spec: a `likelihood.models` entry (`simple` or `workspace` [+ `patchset`, `patch`],
            `measurement`, `poi`, `data`, ...).
        validate: check the workspace, patchset and model against pyhf's JSON schemas. False
            only for specifications checked already (the config check does before any job
            runs): it saves ~9 s on a 126-parameter published likelihood.

    Returns:
        (pyhf model, data as a float64 NumPy array: main + auxiliary).

    Raises:
        ModelError: a file, patch, measurement, POI or parameter that does not fit, with the
            config key (below the model) at fault.
    """
    with _numpy_backend():
        return _build_model(spec, validate)


@contextmanager
def _numpy_backend():
    """Build under pyhf's numpy backend, then restore the active one.

    Building a model runs dozens of small tensor operations; under the jax backend each one
    compiles on first use (~2.7 s for the notebook's counting model, cold). pyhf converts a live
    model's tensors when the backend changes, so a model built here evaluates under jax exactly
    as one built there (checked in tests to 1e-12).

    Yields:
        Nothing.
    """
    import pyhf

    previous = pyhf.get_backend()
    if previous[0].name == "numpy":
        yield
        return
    pyhf.set_backend("numpy", precision=previous[0].precision)
    try:
        yield
    finally:
        pyhf.set_backend(*previous)


def _build_model(spec: Mapping, validate: bool = True):
    import pyhf

    schemacache.install()

    if "simple" in spec:
        model = _simple_model(spec["simple"])
        if model_poi(spec)[0] is None:
            model = pyhf.Model(model.spec, poi_name=None, validate=False)
        observed = None
    elif validate:
        model, observed = _model_of(spec, pyhf_workspace(spec))
    else:
        model, observed = _model_of(spec, pyhf.Workspace(raw_workspace(spec), validate=False))
    return _with_data(spec, model, observed)


def _model_of(spec: Mapping, workspace):
    """A workspace entry's model and observed data from its (patched) pyhf Workspace, checked.

    The model's spec (channels and measurement parameters of the workspace) is not schema-checked
    again: the workspace schema holds the same definitions, and the workspace passed it (or was
    checked before the job ran).
    """
    measurements = list(workspace.measurement_names)
    measurement = spec.get("measurement")
    if measurement is not None and measurement not in measurements:
        raise ModelError("measurement", f"unknown measurement {measurement!r}; valid: {measurements}")
    poi, _ = model_poi(spec, workspace)
    if poi is not None and poi not in _declared_parameters(workspace):
        raise ModelError("poi", f"{poi!r} is not a parameter of the workspace")
    try:
        model = workspace.model(
            measurement_name=measurement,
            poi_name=poi,
            validate=False,
            clip_sample_data=spec.get("clip_sample_data"),
            clip_bin_data=spec.get("clip_bin_data"),
        )
        observed = workspace.data(model)
    except Exception as err:  # pyhf raises several types for inconsistent workspaces
        raise ModelError("workspace", f"{spec['workspace']}: cannot build the model: {err}") from None
    _check_observations(spec, workspace, model)
    return model, observed


def _with_data(spec: Mapping, model, observed):
    """(model, the data an entry is fitted to: observed, or Asimov at its parameters)."""
    if spec.get("data", "asimov") == "observed":
        if observed is None:
            raise ModelError("data", "a simple model has no observed data; use data: asimov")
        data = np.asarray(observed, dtype=np.float64)
    else:
        pars = np.asarray(model.config.suggested_init(), dtype=np.float64)
        names = list(model.config.par_names)
        for name, value in spec.get("asimov_parameters", {}).items():
            if name not in names:
                raise ModelError(f"asimov_parameters.{name}", f"unknown parameter; valid: {names}")
            pars[names.index(name)] = value
        data = np.asarray(model.expected_data(pars), dtype=np.float64)
    _check_likelihood_finite(spec, model, data)
    kernel(model)  # a construct the kernel cannot lay out is refused here, before any fit
    return model, data


def _check_observations(spec: Mapping, workspace, model) -> None:
    """Each channel's observations have its number of bins, finite and not negative.

    pyhf concatenates the observations without comparing their lengths with the channels'
    (a mismatch fails only later, inside a fit).
    """
    nbins = dict(model.config.channel_nbins)
    for observation in workspace["observations"]:
        name, counts = observation["name"], observation["data"]
        if name in nbins and len(counts) != nbins[name]:
            raise ModelError(
                "workspace",
                f"{spec['workspace']}: observations of channel {name!r} have {len(counts)} bins; "
                f"the channel has {nbins[name]}",
            )
        bad = [value for value in counts if not (np.isfinite(value) and value >= 0)]
        if bad:
            raise ModelError(
                "workspace", f"{spec['workspace']}: observations of channel {name!r} hold {bad[0]!r} (counts are >= 0)"
            )


def _check_likelihood_finite(spec: Mapping, model, data: np.ndarray) -> None:
    """The log-likelihood at the suggested start is finite (else no fit can start)."""
    key = "workspace" if "workspace" in spec else "simple"
    init = np.asarray(model.config.suggested_init(), dtype=np.float64)
    try:
        value = float(np.asarray(model.logpdf(init, data)).reshape(-1)[0])
    except Exception as err:  # pyhf/NumPy raise several types for inconsistent specifications
        raise ModelError(key, f"the likelihood cannot be evaluated: {err}") from None
    if not np.isfinite(value):
        raise ModelError(key, f"the log-likelihood at the suggested start is {value} (zero expected yield in a bin?)")


def model_origin(spec: Mapping) -> dict:
    """What a model entry was built from, for artifacts and the report.

    Args:
        spec: the model entry.

    Returns:
        {source, measurement, patchset, patch, patch_file, data, poi, poi_reason}.
    """
    workspace = raw_workspace(spec) if "workspace" in spec else None
    poi, reason = model_poi(spec, workspace)
    measurement = _measurement(workspace, spec.get("measurement"))["name"] if workspace else None
    return {
        "source": spec.get("workspace", "simple counting model"),
        "measurement": measurement,
        "patchset": spec.get("patchset"),
        "patch": spec.get("patch"),
        "patch_file": spec.get("patch_file"),
        "data": spec.get("data", "asimov"),
        "poi": poi,
        "poi_reason": reason,
    }


def parameter_setup(model, entry: Mapping | None = None) -> ParameterSetup:
    """Names, initial values, bounds and fixed flags of a model's parameters, as an entry sets them.

    Args:
        model: a pyhf model.
        entry: the model's config entry: its `bounds` (name -> [low, high]) replace pyhf's
            suggestion; its `fixed` (name, or name[i] for one element of a vector parameter,
            -> value) holds parameters at values in every fit (a vector's name holds all its
            elements). None: pyhf's suggestions.

    Returns:
        The `ParameterSetup`.

    Raises:
        ModelError: an unknown parameter (key `bounds.<name>` or `fixed.<name>`), or a held
            value outside its bounds.
    """
    entry = entry or {}
    names = list(model.config.par_names)
    bounds = [tuple(map(float, b)) for b in model.config.suggested_bounds()]
    for name, bound in (entry.get("bounds") or {}).items():
        if name not in names:
            raise ModelError(f"bounds.{name}", f"unknown parameter; valid: {names}")
        bounds[names.index(name)] = (float(bound[0]), float(bound[1]))
    init = np.asarray(model.config.suggested_init(), dtype=np.float64)
    fixed = [bool(f) for f in model.config.suggested_fixed()]
    for name, value in (entry.get("fixed") or {}).items():
        for index in _parameter_indices(model, name, f"fixed.{name}"):
            low, high = bounds[index]
            if not low <= value <= high:
                raise ModelError(
                    f"fixed.{name}", f"{value:g} lies outside the bounds [{low:g}, {high:g}] of {names[index]}"
                )
            init[index], fixed[index] = float(value), True
    return ParameterSetup(par_names=names, init=init, bounds=bounds, fixed=fixed)


def _parameter_indices(model, name: str, key: str) -> list[int]:
    """Indices of a parameter (`name`, or `name[i]` for one element) among a model's parameters."""
    names = list(model.config.par_names)
    if name in names:
        return [names.index(name)]
    if name in model.config.par_order:
        return list(range(model.config.npars))[model.config.par_slice(name)]
    raise ModelError(key, f"unknown parameter; valid: {names}")


def parameter_kinds(model) -> dict[str, list[str]]:
    """Each parameter set's modifier types.

    Args:
        model: the pyhf model.

    Returns:
        parameter set name -> sorted modifier types.
    """
    kinds: dict[str, set[str]] = {}
    for name, kind in model.config.modifiers:
        kinds.setdefault(name, set()).add(kind)
    return {name: sorted(types) for name, types in kinds.items()}


def kernel(model):
    """The model's compiled HistFactory kernel (`diffpipe.histfactory`), built once per model.

    Args:
        model: a pyhf model.

    Returns:
        The `HistFactory`.

    Raises:
        ModelError: the model uses a construct the kernel does not lay out.
    """
    from diffpipe.histfactory import HistFactory, KernelError

    found = getattr(model, "_diffpipe_kernel", None)
    if found is None:
        try:
            found = HistFactory(model)
        except KernelError as err:
            raise ModelError("workspace", f"the model cannot be compiled: {err}") from None
        model._diffpipe_kernel = found
    return found


def make_nll(model):
    """-ln L(pars, data, numbers) of a pyhf model, evaluated by its HistFactory kernel.

    `numbers` is the kernel's derived pytree (`HistFactory.derive` of a specification's
    numbers); None means the model's own. One compiled function serves every patch of a
    signal grid with the model's structure, whatever numbers the patch changes.

    Args:
        model: a pyhf model.

    Returns:
        The function.
    """
    hf = kernel(model)
    return _numbers_last(hf, hf.nll, 2)


def _numbers_last(hf, method, arity: int):
    """`method(*args, numbers)` with the numbers argument optional (None: the model's own)."""

    def call(*args):
        numbers = args[arity] if len(args) > arity else None
        return method(*args[:arity], hf.default() if numbers is None else numbers)

    return call


def make_derivatives(model):
    """(-ln L, gradient, Hessian)(pars, data, numbers) from the kernel's structured derivatives.

    Args:
        model: a pyhf model.

    Returns:
        The function (`numbers` as in `make_nll`).
    """
    hf = kernel(model)
    return _numbers_last(hf, hf.nll_grad_hess, 2)


def make_solver(model, bounds):
    """The model's compiled bounded Newton fits: its kernel's nll, structured derivatives and domain.

    Batched fits step with the kernel's Hessian in float32 products (see `Solver`'s `curvature`).

    Args:
        model: a pyhf model.
        bounds: (npars, 2) parameter bounds.

    Returns:
        The `diffpipe.solver.Solver`.
    """
    import numpy as np

    from diffpipe.solver import Solver

    hf = kernel(model)
    return Solver(
        make_nll(model),
        np.asarray(bounds, float),
        derivatives=make_derivatives(model),
        domain=_numbers_last(hf, hf.in_domain, 2),
        curvature=_numbers_last(hf, functools.partial(hf.nll_grad_hess, products=np.float32), 2),
    )


def make_expected(model):
    """The expected data (main + auxiliary) expected(pars, numbers) of a pyhf model.

    Args:
        model: a pyhf model.

    Returns:
        The function (`numbers` as in `make_nll`).
    """
    hf = kernel(model)
    return _numbers_last(hf, hf.expected, 1)


def nll_function(model, data):
    """-ln L as a JAX-traceable scalar function of the parameters (the model's kernel).

    Args:
        model: a pyhf model.
        data: its dataset.

    Returns:
        nll(pars) -> scalar.
    """
    import jax.numpy as jnp

    data_j = jnp.asarray(data)
    hf = kernel(model)

    def nll(pars):
        return hf.nll(pars, data_j, hf.default())

    return nll


def make_grid_evaluator(model, data, base: np.ndarray, ix: int, iy: int, with_grad: bool = False):
    """Ln L over many (x, y) points in one compiled call, other parameters fixed at `base`.

    Args:
        model: a pyhf model.
        data: its dataset.
        base: every parameter's value; entries `ix` and `iy` are replaced per point.
        ix: index of the parameter on the x axis.
        iy: index of the parameter on the y axis.
        with_grad: also return d ln L / d(x, y).

    Returns:
        f(xs, ys) -> ln L per point (with_grad: (ln L, gradient of shape (n, 2))).
    """
    import jax
    import jax.numpy as jnp

    base_j = jnp.asarray(base)
    data_j = jnp.asarray(data)
    hf = kernel(model)

    def lnl(xy):
        pars = base_j.at[ix].set(xy[0]).at[iy].set(xy[1])
        return hf.logpdf(pars, data_j, hf.default())

    inner = jax.value_and_grad(lnl) if with_grad else lnl
    batched = jax.jit(jax.vmap(inner))
    return lambda xs, ys: batched(jnp.stack([xs, ys], axis=-1))
