"""A model entry's files: its workspace, patchset, patch file and prune read into one specification.

Everything here works on the JSON (pyhf only to validate and to apply a patchset), so the config
check and the job-size estimates read an entry without building its model (`models.build_model`).
"""

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

from diffpipe import schemacache

# The files a model entry is built from: inputs of its jobs, keys of its cached checks.
ENTRY_FILES = ("workspace", "patchset", "patch_file")
# What a `prune` entry may name.
PRUNE_KINDS = ("channels", "samples", "modifiers", "modifier_types")
# JSON files kept parsed per process (`read_json`): a grid's workspace and patchset, a model's
PARSED = 8
_PARSED: OrderedDict = OrderedDict()


class ModelError(ValueError):
    """A model entry that cannot be built; `key` is the config key (below the model) at fault."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def read_json(path: str | Path, key: str, kinds: tuple[type, ...] = (dict,)):
    """Read a JSON file named by a config key.

    A file's content is parsed once per process (cached by its hash): the config check and a
    grid job read a published patchset (14 MB, ~0.7 s to parse) several times. The value
    returned is shared between callers, so none may modify it (the code here builds new
    specifications from it, and pyhf and jsonpatch copy what they are given).

    Args:
        path: the file.
        key: the config key naming it (for the error).
        kinds: the JSON types the file may hold at its top (default: an object).

    Returns:
        The parsed JSON value.

    Raises:
        ModelError: the file is missing, unreadable, not strict JSON or of another type.
    """
    try:
        data = _parsed(Path(path).read_bytes())
    except FileNotFoundError:
        raise ModelError(key, f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ModelError(key, f"{path}: cannot be read as JSON: {err}") from None
    if not isinstance(data, kinds):
        wanted = " or ".join({dict: "a JSON object", list: "a JSON list"}[k] for k in kinds)
        raise ModelError(key, f"{path}: must hold {wanted}, not a {type(data).__name__}")
    return data


def _parsed(content: bytes):
    """Strict JSON parsed from a file's bytes (the last PARSED contents kept; errors are not)."""
    digest = hashlib.sha1(content).digest()
    if digest in _PARSED:
        _PARSED.move_to_end(digest)
        return _PARSED[digest]

    def refuse(name: str):
        raise ValueError(f"{name} is not JSON (strict JSON has no NaN or infinities)")

    data = json.loads(content.decode("utf-8"), parse_constant=refuse)
    _PARSED[digest] = data
    while len(_PARSED) > PARSED:
        _PARSED.popitem(last=False)
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


def entry_files(entry: Mapping) -> list[str]:
    """The files a model or signal-grid entry names (workspace, patchset, patch file).

    Args:
        entry: the entry.

    Returns:
        Their paths, in ENTRY_FILES order (a workspace given as a specification is not a file).
    """
    return [entry[key] for key in ENTRY_FILES if isinstance(entry.get(key), str)]


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


def _apply_patch_file(entry: Mapping, workspace: Mapping) -> dict:
    """The workspace specification with the entry's `patch_file` applied (when it names one)."""
    if "patch_file" not in entry:
        return dict(workspace)
    import jsonpatch

    try:
        return jsonpatch.apply_patch(dict(workspace), read_patch_file(entry["patch_file"]))
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as err:
        raise ModelError(
            "patch_file", f"{entry['patch_file']} cannot be applied to {entry['workspace']}: {err}"
        ) from None


def raw_workspace(entry: Mapping) -> dict:
    """A workspace entry's specification as JSON, patched and pruned as it says (no pyhf needed).

    Args:
        entry: a model entry with `workspace` (and optionally `patchset` + `patch` or
            `patch_file`, `prune`).

    Returns:
        The (patched, pruned) workspace specification.
    """
    workspace = _workspace_json(entry)
    if "patchset" in entry:
        import jsonpatch

        patchset = read_json(entry["patchset"], "patchset")
        for patch in patchset.get("patches", []):
            if patch.get("metadata", {}).get("name") == entry.get("patch"):
                workspace = jsonpatch.apply_patch(workspace, patch["patch"])
                break
    return pruned(_apply_patch_file(entry, workspace), entry.get("prune"))


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


def _workspace_json(entry: Mapping) -> dict:
    """The `workspace` of an entry: a file's JSON, or the specification itself (a `scaled_entry`)."""
    source = entry["workspace"]
    return dict(source) if isinstance(source, Mapping) else read_json(source, "workspace")


def specification(entry: Mapping) -> tuple[dict, str]:
    """A model entry's workspace specification, also for a simple counting model.

    Args:
        entry: a model entry.

    Returns:
        (the patched workspace specification, the name of the measurement it is fitted with).
    """
    if "simple" not in entry:
        workspace = raw_workspace(entry)
        return workspace, _measurement(workspace, entry.get("measurement"))["name"]
    with numpy_backend():
        channels = simple_model(entry["simple"]).spec["channels"]
    return {
        "channels": channels,
        "measurements": [{"name": "simple", "config": {"poi": "mu", "parameters": []}}],
        "observations": [{"name": c["name"], "data": list(entry["simple"]["background"])} for c in channels],
        "version": "1.0.0",
    }, "simple"


def simple_model(simple: Mapping):
    """Pyhf's one-channel counting model (uncorrelated background uncertainty) of a `simple` entry.

    Args:
        simple: the entry's `simple` key (signal, background, background_uncertainty).

    Returns:
        The pyhf model.
    """
    import pyhf

    return pyhf.simplemodels.uncorrelated_background(
        signal=list(simple["signal"]),
        bkg=list(simple["background"]),
        bkg_uncertainty=list(simple["background_uncertainty"]),
    )


def pyhf_workspace(entry: Mapping):
    """The pyhf Workspace of a workspace entry (validated), patched and pruned as it says.

    Args:
        entry: a model entry with `workspace` (and optionally `patchset` + `patch` or
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
        workspace = pyhf.Workspace(_workspace_json(entry))
    except ModelError:
        raise
    except Exception as err:  # pyhf raises several types for invalid workspaces
        raise ModelError("workspace", f"{entry['workspace']}: invalid workspace: {err}") from None
    if "patchset" in entry:
        workspace = _patched(entry, workspace)
    if "patch_file" in entry:
        try:
            workspace = pyhf.Workspace(_apply_patch_file(entry, workspace))
        except ModelError:
            raise
        except Exception as err:
            raise ModelError(
                "patch_file", f"{entry['patch_file']}: the patched workspace is not valid: {err}"
            ) from None
    if not entry.get("prune"):
        return workspace
    try:
        return pyhf.Workspace(pruned(workspace, entry["prune"]))
    except ModelError:
        raise
    except Exception as err:
        raise ModelError("prune", f"the pruned workspace is not valid: {err}") from None


def _patched(entry: Mapping, workspace):
    """The pyhf Workspace with the entry's patch of its patchset applied (see `pyhf_workspace`)."""
    import pyhf

    patchset = pyhf_patchset(entry)
    patch = entry.get("patch")
    if patch not in [p.name for p in patchset.patches]:
        raise ModelError(
            "patch", f"unknown patch {patch!r} in {entry['patchset']}; valid: {[p.name for p in patchset.patches]}"
        )
    try:
        return patchset.apply(workspace, patch)
    except pyhf.exceptions.PatchSetVerificationError as err:
        raise ModelError("patchset", f"{entry['patchset']} does not belong to {entry['workspace']}: {err}") from None
    except Exception as err:
        raise ModelError("patch", f"patch {patch!r} of {entry['patchset']} cannot be applied: {err}") from None


def pyhf_patchset(entry: Mapping):
    """The pyhf PatchSet an entry names (schema-validated).

    Args:
        entry: a model entry with `patchset`.

    Returns:
        The pyhf `PatchSet`.

    Raises:
        ModelError: the file is missing or not a valid patchset.
    """
    import pyhf

    schemacache.install()

    try:
        return pyhf.PatchSet(read_json(entry["patchset"], "patchset"))
    except ModelError:
        raise
    except Exception as err:
        raise ModelError("patchset", f"{entry['patchset']}: invalid patchset: {err}") from None


def declared_parameters(workspace: Mapping) -> set[str]:
    """The parameters a workspace specification's modifiers declare.

    Args:
        workspace: the specification.

    Returns:
        Their names.
    """
    return {m["name"] for channel in workspace["channels"] for s in channel["samples"] for m in s["modifiers"]}


def _measurement(workspace: Mapping, name: str | None) -> dict:
    measurements = workspace.get("measurements", [])
    if name is None:
        return measurements[0]
    return next(m for m in measurements if m["name"] == name)


def count_parameters(entry: Mapping) -> tuple[int, int]:
    """Parameters and data length of a model entry, from its JSON alone (no pyhf).

    Args:
        entry: a model entry.

    Returns:
        (number of parameters, length of the data: main bins + one auxiliary datum per
        constrained parameter).
    """
    if "simple" in entry:
        bins = len(entry["simple"]["signal"])
        return 1 + bins, 2 * bins
    workspace = raw_workspace(entry)
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


def model_poi(entry: Mapping, workspace: Mapping | None = None) -> tuple[str | None, str]:
    """The POI a model entry fits, and why.

    Args:
        entry: the model entry.
        workspace: its (patched) workspace specification (default: read it; None for simple models).

    Returns:
        (POI name or None, reason): `poi: null` in the config, a measurement POI that the
        (background-only) workspace does not declare, or a POI the entry holds (`fixed`: a fit
        at a fixed value, a parameter like any other) give None.
    """
    held = entry.get("fixed") or {}
    if "simple" in entry:
        return (None, "the POI 'mu' is held by the config key fixed") if "mu" in held else ("mu", "simple model")
    if entry.get("poi") in held:
        return None, f"the POI {entry['poi']!r} is held by the config key fixed"
    if "poi" in entry:
        return entry["poi"], "config key poi" if entry["poi"] else "poi: null in the config"
    workspace = raw_workspace(entry) if workspace is None else workspace
    measurement = _measurement(workspace, entry.get("measurement"))
    poi = measurement["config"].get("poi")
    if poi and poi not in declared_parameters(workspace):
        return None, f"the measurement's POI {poi!r} is not declared in the workspace (background-only)"
    if poi in held:
        return None, f"the measurement's POI {poi!r} is held by the config key fixed"
    return poi, f"measurement {measurement['name']!r}"


def model_origin(entry: Mapping) -> dict:
    """What a model entry was built from, for artifacts and the report.

    Args:
        entry: the model entry.

    Returns:
        {source, measurement, patchset, patch, patch_file, data, poi, poi_reason}.
    """
    workspace = raw_workspace(entry) if "workspace" in entry else None
    poi, reason = model_poi(entry, workspace)
    measurement = _measurement(workspace, entry.get("measurement"))["name"] if workspace else None
    return {
        "source": entry.get("workspace", "simple counting model"),
        "measurement": measurement,
        "patchset": entry.get("patchset"),
        "patch": entry.get("patch"),
        "patch_file": entry.get("patch_file"),
        "data": entry.get("data", "asimov"),
        "poi": poi,
        "poi_reason": reason,
    }


@contextmanager
def numpy_backend():
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
