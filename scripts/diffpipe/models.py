"""Build a pyhf model and its dataset from a config entry (simple counting model or workspace).

Shared by the likelihood stage, the optimizer comparison and the benchmark, so a model is
defined in exactly one place.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from diffpipe import schemacache
from diffpipe.compiled import kernel
from diffpipe.workspaces import (
    ModelError,
    declared_parameters,
    model_poi,
    numpy_backend,
    pyhf_workspace,
    raw_workspace,
    simple_model,
)


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


def build_model(entry: Mapping, validate: bool = True):
    """Build a model entry's pyhf model and the dataset it is fitted to.

    Args:
        entry: a `likelihood.models` entry (`simple` or `workspace` [+ `patchset`, `patch`],
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
    with numpy_backend():
        return _build_model(entry, validate)


def _build_model(entry: Mapping, validate: bool = True):
    import pyhf

    schemacache.install()

    if "simple" in entry:
        model = simple_model(entry["simple"])
        if model_poi(entry)[0] is None:
            model = pyhf.Model(model.spec, poi_name=None, validate=False)
        observed = None
    elif validate:
        model, observed = _model_of(entry, pyhf_workspace(entry))
    else:
        model, observed = _model_of(entry, pyhf.Workspace(raw_workspace(entry), validate=False))
    return _with_data(entry, model, observed)


def _model_of(entry: Mapping, workspace):
    """A workspace entry's model and observed data from its (patched) pyhf Workspace, checked.

    The model's spec (channels and measurement parameters of the workspace) is not schema-checked
    again: the workspace schema holds the same definitions, and the workspace passed it (or was
    checked before the job ran).
    """
    measurements = list(workspace.measurement_names)
    measurement = entry.get("measurement")
    if measurement is not None and measurement not in measurements:
        raise ModelError("measurement", f"unknown measurement {measurement!r}; valid: {measurements}")
    poi, _ = model_poi(entry, workspace)
    if poi is not None and poi not in declared_parameters(workspace):
        raise ModelError("poi", f"{poi!r} is not a parameter of the workspace")
    try:
        model = workspace.model(
            measurement_name=measurement,
            poi_name=poi,
            validate=False,
            clip_sample_data=entry.get("clip_sample_data"),
            clip_bin_data=entry.get("clip_bin_data"),
        )
        observed = workspace.data(model)
    except Exception as err:  # pyhf raises several types for inconsistent workspaces
        raise ModelError("workspace", f"{entry['workspace']}: cannot build the model: {err}") from None
    _check_observations(entry, workspace, model)
    return model, observed


def _with_data(entry: Mapping, model, observed):
    """(model, the data an entry is fitted to: observed, or Asimov at its parameters)."""
    if entry.get("data", "asimov") == "observed":
        if observed is None:
            raise ModelError("data", "a simple model has no observed data; use data: asimov")
        data = np.asarray(observed, dtype=np.float64)
    else:
        pars = np.asarray(model.config.suggested_init(), dtype=np.float64)
        names = list(model.config.par_names)
        for name, value in entry.get("asimov_parameters", {}).items():
            if name not in names:
                raise ModelError(f"asimov_parameters.{name}", f"unknown parameter; valid: {names}")
            pars[names.index(name)] = value
        data = np.asarray(model.expected_data(pars), dtype=np.float64)
    _check_likelihood_finite(entry, model, data)
    kernel(model)  # a construct the kernel cannot lay out is refused here, before any fit
    return model, data


def _check_observations(entry: Mapping, workspace, model) -> None:
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
                f"{entry['workspace']}: observations of channel {name!r} have {len(counts)} bins; "
                f"the channel has {nbins[name]}",
            )
        bad = [value for value in counts if not (np.isfinite(value) and value >= 0)]
        if bad:
            raise ModelError(
                "workspace", f"{entry['workspace']}: observations of channel {name!r} hold {bad[0]!r} (counts are >= 0)"
            )


def _check_likelihood_finite(entry: Mapping, model, data: np.ndarray) -> None:
    """The log-likelihood at the suggested start is finite (else no fit can start)."""
    key = "workspace" if "workspace" in entry else "simple"
    init = np.asarray(model.config.suggested_init(), dtype=np.float64)
    try:
        value = float(np.asarray(model.logpdf(init, data)).reshape(-1)[0])
    except Exception as err:  # pyhf/NumPy raise several types for inconsistent specifications
        raise ModelError(key, f"the likelihood cannot be evaluated: {err}") from None
    if not np.isfinite(value):
        raise ModelError(key, f"the log-likelihood at the suggested start is {value} (zero expected yield in a bin?)")


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
