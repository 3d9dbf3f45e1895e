"""The likelihood models, workspaces and signal grids a config names, checked before any job runs.

Each model is built as its jobs build it; a workspace file is read and checked against pyhf's
schema and its measurements' own numbers; a signal grid's every selected patch is checked as its
job will use it (`patches.check_patches`).
"""

from collections.abc import Mapping
from pathlib import Path

from diffpipe.configcheck.errors import ConfigError, ordered


def load_workspace(path: str | Path, where: str) -> dict:
    """Read and schema-check a pyhf workspace.

    Args:
        path: the workspace file.
        where: the config key that names it (for the message).

    Returns:
        The workspace specification.

    Raises:
        ConfigError: the file is missing, not JSON, or not a valid workspace.
    """
    import pyhf

    from diffpipe import schemacache
    from diffpipe.workspaces import ModelError, read_json

    schemacache.install()

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config key '{where}': workspace file not found (or not a file): {path}")
    try:
        workspace = read_json(path, where)
    except ModelError as err:
        raise ConfigError(f"workspace {path} (config key '{where}'): {err}") from None
    try:
        pyhf.Workspace(workspace)
    except pyhf.exceptions.InvalidSpecification as err:
        reason = str(err).splitlines()[0]
        raise ConfigError(f"workspace {path} (config key '{where}'): fails pyhf's schema: {reason}") from None
    except Exception as err:  # pyhf raises several types for inconsistent workspaces
        raise ConfigError(f"workspace {path} (config key '{where}'): invalid workspace: {err}") from None
    check_measurement_numbers(workspace, f"workspace {path} (config key '{where}')")
    return workspace


def check_measurement_numbers(workspace: Mapping, where: str) -> None:
    """The numbers a workspace's own measurements set for its parameters, checked.

    pyhf's schema checks their types only: a bound with lo >= hi, an init outside its bounds or
    a non-positive width would reach the fits.

    Args:
        workspace: the workspace specification (schema-valid).
        where: the file and config key, for the message.

    Raises:
        ConfigError: naming the measurement, the parameter and the key.
    """
    for m, measurement in enumerate(workspace.get("measurements", [])):
        for p, par in enumerate(measurement.get("config", {}).get("parameters", [])):
            key = f"measurements[{m}].config.parameters[{p}]"
            name = f"measurement {measurement.get('name')!r}, parameter {par.get('name')!r}"
            bounds = par.get("bounds")
            for i, (lo, hi) in enumerate(bounds or []):
                if not lo < hi:
                    raise ConfigError(f"{where}: {name}: {key}.bounds[{i}] = [{lo}, {hi}] needs lo < hi")
            for i, init in enumerate(par.get("inits") or []):
                if bounds and i < len(bounds) and not bounds[i][0] <= init <= bounds[i][1]:
                    raise ConfigError(f"{where}: {name}: {key}.inits[{i}] = {init} lies outside its bounds {bounds[i]}")
            for i, sigma in enumerate(par.get("sigmas") or []):
                if not sigma > 0:
                    raise ConfigError(f"{where}: {name}: {key}.sigmas[{i}] = {sigma} must be positive")


def check_signal_grid(name: str, signal_grid: Mapping) -> None:
    """Check every selected patch of one signal grid as its job will use it (`patches.check_patches`).

    Args:
        name: the signal grid's name.
        signal_grid: its config entry.
    """
    from diffpipe.models import parameter_setup
    from diffpipe.patches import MODEL_KEYS, check_patches
    from diffpipe.workspaces import ModelError, model_poi, read_json, select_patches

    where = f"inference.signal_grids.{name}"
    load_workspace(signal_grid["workspace"], f"{where}.workspace")
    try:
        patches = select_patches(read_json(signal_grid["patchset"], "patchset"), signal_grid["patches"])
        if not patches:
            raise ModelError("patches", "selects no patch")
        entry = {k: signal_grid[k] for k in MODEL_KEYS if k in signal_grid}
        for patch, model in check_patches(entry, [p["name"] for p in patches]):
            if model.config.poi_name is None:
                reason = model_poi({**entry, "patch": patch})[1]
                raise ModelError("patchset", f"patch {patch!r}: {reason}; a limit needs a POI")
            parameter_setup(model, entry)  # bounds and held parameters name the model's parameters
    except ModelError as err:
        raise ConfigError(f"config key '{where}.{err.key}': {err}") from None
    except Exception as err:  # pyhf or jsonpatch on a malformed patchset
        raise ConfigError(f"config key '{where}.patchset': {type(err).__name__}: {err}") from None


def check_counting_numbers(simple: Mapping, where: str) -> None:
    """A simple counting model's numbers, checked.

    Equal lengths; the background and its uncertainty positive in every bin (zero makes the
    constraint degenerate); some signal in some bin.

    Args:
        simple: the `simple` entry (signal, background, background_uncertainty).
        where: its config key.

    Raises:
        ConfigError: naming the key and the bin.
    """
    if len({len(v) for v in simple.values()}) != 1:
        raise ConfigError(f"config key '{where}': signal, background and background_uncertainty need equal lengths")
    for key in ("background", "background_uncertainty"):
        for i, value in enumerate(simple[key]):
            if not value > 0:
                raise ConfigError(
                    f"config key '{where}.{key}[{i}]': {value} must be positive (a degenerate constraint)"
                )
    if not any(value > 0 for value in simple["signal"]):
        raise ConfigError(f"config key '{where}.signal': every bin is 0: the POI would have no effect")


def check_model(name: str, entry: Mapping, section: str = "likelihood.models") -> None:
    """Build one model and check the parameter names its entry uses.

    Args:
        name: the model's name.
        entry: its config entry.
        section: the config section holding it.
    """
    from diffpipe.models import build_model, parameter_setup
    from diffpipe.workspaces import ModelError

    where = f"{section}.{name}"
    if "workspace" in entry:
        load_workspace(entry["workspace"], f"{where}.workspace")
    elif "measurement" in entry:
        raise ConfigError(f"config key '{where}.measurement': only workspace models have measurements")
    else:
        check_counting_numbers(entry["simple"], f"{where}.simple")
    try:
        model, _ = build_model(entry)
    except ModelError as err:
        raise ConfigError(f"config key '{where}.{err.key}': {err}") from None
    except Exception as err:  # pyhf raises several types for inconsistent specifications
        raise ConfigError(f"config key '{where}': the model cannot be built: {type(err).__name__}: {err}") from None
    try:
        parameter_setup(model, entry)  # bounds and held parameters name the model's parameters
    except ModelError as err:
        raise ConfigError(f"config key '{where}.{err.key}': {err}") from None
    par_names = list(model.config.par_names)
    for section in ("bounds", "asimov_parameters"):
        for par in entry.get(section, {}):
            if par not in par_names:
                raise ConfigError(f"config key '{where}.{section}.{par}': unknown parameter; valid: {par_names}")
    for par, bound in entry.get("bounds", {}).items():
        ordered(bound, f"{where}.bounds.{par}")
    grid = entry.get("grid", {})
    for axis in ("x", "y"):
        if axis in grid and grid[axis] not in par_names:
            raise ConfigError(f"config key '{where}.grid.{axis}': unknown parameter {grid[axis]!r}; valid: {par_names}")
        if f"{axis}_range" in grid:
            ordered(grid[f"{axis}_range"], f"{where}.grid.{axis}_range")
    if "x" in grid and grid.get("x") == grid.get("y"):
        raise ConfigError(f"config key '{where}.grid': x and y must be two different parameters")
    check_binning(entry.get("binning", {}), dict(model.config.channel_nbins), f"{where}.binning")


def check_binning(binning: Mapping, channel_bins: Mapping, where: str) -> None:
    """A model entry's `binning` names its channels and gives each one increasing edge more than its bins.

    Args:
        binning: {channel: {observable, edges}}.
        channel_bins: the built model's bins per channel (after pruning).
        where: the config key of the binning (for the message).

    Raises:
        ConfigError: an unknown channel, or edges that do not fit the channel's bins.
    """
    for channel, entry in binning.items():
        if channel not in channel_bins:
            raise ConfigError(
                f"config key '{where}.{channel}': not a channel of the model; valid: {sorted(channel_bins)}"
            )
        edges, nbins = entry["edges"], channel_bins[channel]
        if len(edges) != nbins + 1:
            raise ConfigError(
                f"config key '{where}.{channel}.edges': {len(edges)} edges for {nbins} bins (need {nbins + 1})"
            )
        if any(b <= a for a, b in zip(edges, edges[1:])):
            raise ConfigError(f"config key '{where}.{channel}.edges': the edges must increase strictly: {edges}")
