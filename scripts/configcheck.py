"""Configuration checks that run when the workflow is parsed, before any job.

Each failure is one `ConfigError` whose message starts with the offending key path
(`gradients.functions.square.points[2]`) or file, so a bad edit is found without reading a
traceback, and no job starts (nothing in results/ changes).
"""


import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    pass


def key_path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<config root>"


def _schema_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "oneOf":
        choices = [" + ".join(alt.get("required", [])) for alt in error.validator_value]
        return "needs exactly one of: " + " | ".join(repr(c) for c in choices)
    if error.validator == "additionalProperties":
        return f"{error.message} (allowed: {', '.join(sorted(error.schema.get('properties', {})))})"
    return error.message


_TYPES = {"integer": int, "number": (int, float), "boolean": bool, "null": type(None)}


def _parse_scalar(text: str, wanted: str):
    value = yaml.safe_load(text) if text.strip() else None
    if wanted in ("number", "integer") and isinstance(value, str):
        try:  # YAML 1.1 reads 1e4 as a string
            value = float(text)
        except ValueError:
            return None
    if isinstance(value, bool) and wanted != "boolean":
        return None
    if wanted == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, _TYPES[wanted]) else None


def coerce_cli_strings(config: dict, schema: Mapping) -> None:
    """Re-read strings where the schema wants a number or boolean.

    `snakemake --config key={a: 1}` hands nested values over as strings (YAML's BaseLoader);
    this makes such overrides behave like the same value written in the config file.
    """
    validator = jsonschema.Draft202012Validator(schema)
    for _ in range(1000):  # each pass fixes at least one value
        changed = False
        for error in validator.iter_errors(config):
            wanted = error.validator_value if error.validator == "type" else None
            if not isinstance(error.instance, str) or wanted not in _TYPES or not error.absolute_path:
                continue
            value = _parse_scalar(error.instance, wanted)
            if value is None:
                continue
            *parents, last = error.absolute_path
            node = config
            for key in parents:
                node = node[key]
            node[last] = value
            changed = True
        if not changed:
            return


def check_schema(config: Mapping, schema: Mapping) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        if error.validator in ("allOf", "anyOf") and error.context:
            error = jsonschema.exceptions.best_match(error.context)
        where = key_path(error.absolute_path)
        raise ConfigError(f"config key '{where}': {_schema_message(error)}")


def check_finite(value: Any, path: tuple = ()) -> None:
    """JSON Schema lets NaN and inf through every numeric bound; reject them here."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"config key '{key_path(path)}': {value!r} is not a finite number")
    if isinstance(value, Mapping):
        for key, item in value.items():
            check_finite(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_finite(item, path + (index,))


def _ordered(pair, where: str) -> None:
    if not pair[0] < pair[1]:
        raise ConfigError(f"config key '{where}': needs min < max, got {list(pair)}")


def check_gradients(cfg: Mapping) -> None:
    from functions import FunctionLookupError, resolve

    for name, spec in cfg["functions"].items():
        try:
            resolve(spec["function"])
        except FunctionLookupError as err:
            raise ConfigError(f"config key 'gradients.functions.{name}.function': {err}") from None


def check_controlflow(cfg: Mapping) -> None:
    _ordered(cfg["interval"], "controlflow.interval")


def check_fractals(fractals: Mapping) -> None:
    for name, spec in fractals.items():
        where = f"fractals.{name}"
        xmin, xmax, ymin, ymax = spec["viewport"]
        _ordered((xmin, xmax), f"{where}.viewport (xmin, xmax)")
        _ordered((ymin, ymax), f"{where}.viewport (ymin, ymax)")
        if spec["kind"] == "julia" and "c" not in spec:
            raise ConfigError(f"config key '{where}.c': a julia fractal needs its constant c = [re, im]")
        if spec["kind"] == "mandelbrot" and "c" in spec:
            raise ConfigError(f"config key '{where}.c': only julia fractals take a constant c")


def check_optimizers(cfg: Mapping, likelihood_models: Mapping) -> None:
    from functions import FunctionLookupError, resolve

    for name, spec in cfg["problems"].items():
        where = f"optimizers.problems.{name}"
        dims = {len(start) for start in spec["starts"]}
        if len(dims) != 1:
            raise ConfigError(f"config key '{where}.starts': all start points need one dimension, got {sorted(dims)}")
        if "likelihood_model" in spec:
            if spec["likelihood_model"] not in likelihood_models:
                raise ConfigError(
                    f"config key '{where}.likelihood_model': unknown model {spec['likelihood_model']!r}; "
                    f"valid: {sorted(likelihood_models)}"
                )
        elif spec["function"] != "ill_conditioned_quadratic":
            try:
                resolve(spec["function"])
            except FunctionLookupError as err:
                raise ConfigError(f"config key '{where}.function': {err}") from None
        if "condition" in spec and spec.get("function") != "ill_conditioned_quadratic":
            raise ConfigError(f"config key '{where}.condition': only ill_conditioned_quadratic takes it")


def load_workspace(path: str | Path, where: str) -> dict:
    """Read and schema-check a pyhf workspace; one clear error naming the file otherwise."""
    import pyhf

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config key '{where}': workspace file not found: {path}")
    try:
        spec = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"workspace {path} (config key '{where}'): not valid JSON: {err}") from None
    try:
        pyhf.Workspace(spec)
    except pyhf.exceptions.InvalidSpecification as err:
        reason = str(err).splitlines()[0]
        raise ConfigError(f"workspace {path} (config key '{where}'): fails pyhf's schema: {reason}") from None
    except Exception as err:  # pyhf raises several types for inconsistent workspaces
        raise ConfigError(f"workspace {path} (config key '{where}'): invalid workspace: {err}") from None
    return spec


def check_likelihood(cfg: Mapping) -> dict[str, list[str]]:
    """Check every model; return each model's parameter names (for later checks)."""
    from likelihood_model import ModelError, build_model

    names = {}
    for name, spec in cfg["models"].items():
        where = f"likelihood.models.{name}"
        if "workspace" in spec:
            load_workspace(spec["workspace"], f"{where}.workspace")
        elif "measurement" in spec:
            raise ConfigError(f"config key '{where}.measurement': only workspace models have measurements")
        else:
            lengths = {len(v) for v in spec["simple"].values()}
            if len(lengths) != 1:
                raise ConfigError(f"config key '{where}.simple': signal, background and background_uncertainty need equal lengths")
        try:
            model, _ = build_model(spec)
        except ModelError as err:
            raise ConfigError(f"config key '{where}.{err.key}': {err}") from None
        par_names = list(model.config.par_names)
        names[name] = par_names
        for section in ("bounds", "asimov_parameters"):
            for par in spec.get(section, {}):
                if par not in par_names:
                    raise ConfigError(
                        f"config key '{where}.{section}.{par}': unknown parameter; valid: {par_names}"
                    )
        for par, bound in spec.get("bounds", {}).items():
            _ordered(bound, f"{where}.bounds.{par}")
        grid = spec.get("grid", {})
        for axis in ("x", "y"):
            if axis in grid and grid[axis] not in par_names:
                raise ConfigError(f"config key '{where}.grid.{axis}': unknown parameter {grid[axis]!r}; valid: {par_names}")
            if f"{axis}_range" in grid:
                _ordered(grid[f"{axis}_range"], f"{where}.grid.{axis}_range")
        if "x" in grid and grid.get("x") == grid.get("y"):
            raise ConfigError(f"config key '{where}.grid': x and y must be two different parameters")
    return names


def check_figures(cfg: Mapping) -> None:
    import matplotlib

    if cfg["colormap"] not in matplotlib.colormaps:
        raise ConfigError(f"config key 'figures.colormap': unknown colormap {cfg['colormap']!r}")


def check_semantics(config: Mapping) -> None:
    """Checks JSON Schema cannot express; `config` has its defaults filled."""
    check_gradients(config["gradients"])
    check_controlflow(config["controlflow"])
    check_fractals(config["fractals"])
    check_likelihood(config["likelihood"])
    check_optimizers(config["optimizers"], config["likelihood"]["models"])
    bench = config["benchmark"]
    if bench["enabled"] and bench["grid_model"] not in config["likelihood"]["models"]:
        raise ConfigError(
            f"config key 'benchmark.grid_model': unknown model {bench['grid_model']!r}; "
            f"valid: {sorted(config['likelihood']['models'])}"
        )
    check_figures(config["figures"])


def load_schema(path: str | Path) -> dict:
    return yaml.safe_load(Path(path).read_text())


def check_config(config: dict, schema_path: str | Path, fill_defaults) -> None:
    """All checks in order; `fill_defaults(config)` is snakemake.utils.validate in the workflow."""
    schema = load_schema(schema_path)
    coerce_cli_strings(config, schema)
    check_finite(config)
    check_schema(config, schema)
    fill_defaults(config)
    check_semantics(config)
    canonical = sort_keys(config)
    config.clear()
    config.update(canonical)


def sort_keys(value: Any) -> Any:
    """Mappings with sorted keys, recursively.

    Snakemake compares `params:` by their repr, so key order would count as a change:
    reordering keys in config.yaml (or a --configfile overlay) must rerun nothing.
    """
    if isinstance(value, Mapping):
        return {key: sort_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sort_keys(item) for item in value]
    return value
