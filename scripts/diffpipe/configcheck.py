"""Configuration checks that run when the workflow is parsed, before any job.

Each failure is one `ConfigError` whose message starts with the offending key path
(`gradients.functions.square.points[2]`) or file, so a bad edit is found without reading a
traceback, and no job starts (nothing in results/ changes).

Checks that need NumPy, pyhf, JAX or matplotlib (resolving functions, building models, colormap
names) are cached under `.snakemake/diffpipe-checks/` by a hash of the config entry, the files
it names and the checking code: when nothing changed, parsing the workflow imports none of them.
Only passing checks are cached; a failing one runs (and fails) every time.
"""

import copy
import hashlib
import importlib.util
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import jsonschema

PACKAGE_DIR = Path(__file__).resolve().parent
CHECK_CODE = ("configcheck.py", "functions.py", "models.py")


class ConfigError(ValueError):
    """A config value (or a file it names) that the pipeline cannot run with."""


class CheckCache:
    """Markers of checks that passed, keyed by what they checked.

    Args:
        folder: where markers live (None: no caching).
    """

    def __init__(self, folder: str | os.PathLike | None):
        self.folder = Path(folder) if folder else None
        digest = hashlib.sha256()
        for name in CHECK_CODE:
            digest.update((PACKAGE_DIR / name).read_bytes())
        self.salt = digest.hexdigest()

    def key(self, what: Any, files: Iterable[str | os.PathLike]) -> str | None:
        """Hash of a check's subject, the named files' contents and the checking code.

        Args:
            what: the config data checked (JSON-compatible).
            files: files the check reads.

        Returns:
            The key, or None when a file cannot be read (then the check always runs).
        """
        digest = hashlib.sha256(self.salt.encode())
        digest.update(json.dumps(what, sort_keys=True, default=str).encode())
        for name in files:
            try:
                digest.update(Path(name).read_bytes())
            except OSError:
                return None
        return digest.hexdigest()

    def load(self, key: str | None) -> Any:
        """A value stored under a key by `store`.

        Args:
            key: from `key` (None: nothing stored).

        Returns:
            The value, or None when nothing (readable) is stored.
        """
        if self.folder is None or key is None:
            return None
        try:
            return json.loads((self.folder / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None

    def store(self, key: str | None, value: Any) -> None:
        """Store a JSON value under a key (atomically; silently skipped where not writable).

        Args:
            key: from `key` (None: nothing is stored).
            value: JSON-compatible data.
        """
        if self.folder is None or key is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{key}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps(value))
            os.replace(tmp, self.folder / f"{key}.json")
        except OSError:
            pass

    def run(self, what: Any, files: Iterable[str | os.PathLike], check: Callable[[], Any]) -> None:
        """Run `check()` unless the same check passed before.

        Args:
            what: the config data checked.
            files: files the check reads.
            check: raises ConfigError on a bad value.
        """
        key = self.key(what, files) if self.folder else None
        marker = self.folder / key if key else None
        if marker is not None and marker.is_file():
            return
        check()
        if marker is not None:
            try:
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text("passed\n")
            except OSError:  # a read-only checkout still works, uncached
                pass


NO_CACHE = CheckCache(None)


def user_module_file(name: str) -> list[str]:
    """The source file of a `module:function` reference, located without importing it.

    Args:
        name: a registry name or `module:function`.

    Returns:
        [path] of the module's file, or [] for a registry name or a module not found.
    """
    if ":" not in name:
        return []
    module = name.partition(":")[0]
    try:
        spec = importlib.util.find_spec(module) if "." not in module else None
    except (ImportError, ValueError):
        spec = None
    if spec is None and os.getcwd():
        candidate = Path(os.getcwd(), *module.split(".")).with_suffix(".py")
        return [str(candidate)] if candidate.is_file() else []
    return [spec.origin] if spec is not None and spec.origin else []


def key_path(parts: Iterable[Any]) -> str:
    """A config key path as text: `a.b[2].c`.

    Args:
        parts: keys and list indices.

    Returns:
        The path ("<config root>" when empty).
    """
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<config root>"


def _schema_message(error: "jsonschema.ValidationError") -> str:
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

    Args:
        config: the config, edited in place.
        schema: the config schema.
    """
    import jsonschema

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
    """Validate against the JSON Schema; the most relevant error becomes one message.

    Args:
        config: the config.
        schema: the config schema.

    Raises:
        ConfigError: naming the key path of the first error.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        if error.validator in ("allOf", "anyOf") and error.context:
            error = jsonschema.exceptions.best_match(error.context)
        where = key_path(error.absolute_path)
        raise ConfigError(f"config key '{where}': {_schema_message(error)}")


def check_finite(value: Any, path: tuple = ()) -> None:
    """Reject NaN and infinities (JSON Schema lets them through every numeric bound).

    Args:
        value: the config or a part of it.
        path: key path of `value`.
    """
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


def _resolve_function(name: str, where: str) -> None:
    from diffpipe.functions import FunctionLookupError, resolve

    try:
        resolve(name)
    except FunctionLookupError as err:
        raise ConfigError(f"config key '{where}': {err}") from None


def check_gradients(cfg: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """Every gradient function resolves (registry name or importable module:function).

    Args:
        cfg: the `gradients` section.
        cache: cache of passed checks.
    """
    for name, spec in cfg["functions"].items():
        ref, where = spec["function"], f"gradients.functions.{name}.function"
        cache.run(["function", ref], user_module_file(ref), lambda ref=ref, where=where: _resolve_function(ref, where))


def check_controlflow(cfg: Mapping) -> None:
    """The control-flow interval is ordered.

    Args:
        cfg: the `controlflow` section.
    """
    _ordered(cfg["interval"], "controlflow.interval")


def check_fractals(fractals: Mapping) -> None:
    """Viewports are ordered; Julia sets have a constant, Mandelbrot sets none.

    Args:
        fractals: the `fractals` section.
    """
    for name, spec in fractals.items():
        where = f"fractals.{name}"
        xmin, xmax, ymin, ymax = spec["viewport"]
        _ordered((xmin, xmax), f"{where}.viewport (xmin, xmax)")
        _ordered((ymin, ymax), f"{where}.viewport (ymin, ymax)")
        if spec["kind"] == "julia" and "c" not in spec:
            raise ConfigError(f"config key '{where}.c': a julia fractal needs its constant c = [re, im]")
        if spec["kind"] == "mandelbrot" and "c" in spec:
            raise ConfigError(f"config key '{where}.c': only julia fractals take a constant c")


def check_optimizers(cfg: Mapping, likelihood_models: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """Start dimensions agree, likelihood problems name a model, functions resolve.

    Args:
        cfg: the `optimizers` section.
        likelihood_models: the `likelihood.models` section.
        cache: cache of passed checks.
    """
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
            ref = spec["function"]
            where = f"{where}.function"
            cache.run(
                ["function", ref], user_module_file(ref), lambda ref=ref, where=where: _resolve_function(ref, where)
            )


def check_conditions(cfg: Mapping) -> None:
    """Only ill_conditioned_quadratic problems take `condition` (checked before defaults fill it in).

    Args:
        cfg: the raw config.
    """
    problems = (cfg.get("optimizers") or {}).get("problems") or {}
    for name, spec in problems.items():
        if isinstance(spec, Mapping) and "condition" in spec and spec.get("function") != "ill_conditioned_quadratic":
            raise ConfigError(
                f"config key 'optimizers.problems.{name}.condition': only ill_conditioned_quadratic takes it"
            )


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


def check_likelihood(cfg: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """Build every model (cached): workspaces, measurements, bounds and grid parameters.

    Args:
        cfg: the `likelihood` section.
        cache: cache of passed checks.
    """
    for name, spec in cfg["models"].items():
        files = [spec[key] for key in ("workspace", "patchset") if key in spec]
        cache.run(["model", spec], files, lambda name=name, spec=spec: check_model(name, spec))


def check_inference(cfg: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """Every signal grid builds (cached).

    Its patchset belongs to its workspace, the patches it selects exist, and their models build
    with a POI.

    Args:
        cfg: the `inference` section.
        cache: cache of passed checks.
    """
    for name, grid in cfg["signal_grids"].items():
        files = [grid["workspace"], grid["patchset"]]
        cache.run(["signal_grid", grid], files, lambda name=name, grid=grid: check_signal_grid(name, grid))


def check_toys(cfg: Mapping, models: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """Each toy study names a model with a POI and only its parameters (cached).

    Args:
        cfg: the `toys` section.
        models: the `likelihood.models` section.
        cache: cache of passed checks.
    """
    for name, toys in cfg.items():
        where = f"toys.{name}"
        if name not in models:
            raise ConfigError(f"config key '{where}': no likelihood model {name!r}; valid: {sorted(models)}")
        spec = models[name]
        files = [spec[key] for key in ("workspace", "patchset") if key in spec]
        cache.run(
            ["toys", spec, toys], files, lambda where=where, spec=spec, toys=toys: _check_toy_model(where, spec, toys)
        )


def _check_toy_model(where: str, spec: Mapping, toys: Mapping) -> None:
    from diffpipe.models import build_model, model_poi

    if model_poi(spec)[0] is None:
        raise ConfigError(f"config key '{where}': the model has no POI ({model_poi(spec)[1]}); coverage needs one")
    model, _ = build_model(spec)
    for par in toys.get("parameters", {}):
        if par not in model.config.par_names:
            raise ConfigError(
                f"config key '{where}.parameters.{par}': unknown parameter; valid: {list(model.config.par_names)}"
            )


def check_signal_grid(name: str, grid: Mapping) -> None:
    """Build every selected patch's model of one signal grid.

    Args:
        name: the grid's name.
        grid: its config entry.
    """
    from diffpipe.models import ModelError, build_model, model_poi, read_json, select_patches

    where = f"inference.signal_grids.{name}"
    load_workspace(grid["workspace"], f"{where}.workspace")
    try:
        patches = select_patches(read_json(grid["patchset"], "patchset"), grid["patches"])
        if not patches:
            raise ModelError("patches", "selects no patch")
        entry = {k: grid[k] for k in ("workspace", "patchset", "measurement", "data", "bounds") if k in grid}
        for patch in patches:
            spec = {**entry, "patch": patch["name"]}
            model, _ = build_model(spec)
            if model_poi(spec)[0] is None:
                raise ModelError("patchset", f"patch {patch['name']!r}: {model_poi(spec)[1]}; a limit needs a POI")
            for par in grid.get("bounds", {}):
                if par not in model.config.par_names:
                    raise ModelError(f"bounds.{par}", f"unknown parameter; valid: {list(model.config.par_names)}")
    except ModelError as err:
        raise ConfigError(f"config key '{where}.{err.key}': {err}") from None


def check_model(name: str, spec: Mapping, section: str = "likelihood.models") -> None:
    """Build one model and check the parameter names its entry uses.

    Args:
        name: the model's name.
        spec: its config entry.
        section: the config section holding it.
    """
    from diffpipe.models import ModelError, build_model

    where = f"{section}.{name}"
    if "workspace" in spec:
        load_workspace(spec["workspace"], f"{where}.workspace")
    elif "measurement" in spec:
        raise ConfigError(f"config key '{where}.measurement': only workspace models have measurements")
    else:
        lengths = {len(v) for v in spec["simple"].values()}
        if len(lengths) != 1:
            raise ConfigError(
                f"config key '{where}.simple': signal, background and background_uncertainty need equal lengths"
            )
    try:
        model, _ = build_model(spec)
    except ModelError as err:
        raise ConfigError(f"config key '{where}.{err.key}': {err}") from None
    par_names = list(model.config.par_names)
    for section in ("bounds", "asimov_parameters"):
        for par in spec.get(section, {}):
            if par not in par_names:
                raise ConfigError(f"config key '{where}.{section}.{par}': unknown parameter; valid: {par_names}")
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


def _check_colormap(name: str) -> None:
    import matplotlib

    if name not in matplotlib.colormaps:
        raise ConfigError(f"config key 'figures.colormap': unknown colormap {name!r}")


def check_figures(cfg: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """The colormap exists in matplotlib (cached).

    Args:
        cfg: the `figures` section.
        cache: cache of passed checks.
    """
    cache.run(["colormap", cfg["colormap"]], [], lambda: _check_colormap(cfg["colormap"]))


def check_semantics(config: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """Checks JSON Schema cannot express; `config` has its defaults filled.

    Args:
        config: the whole config.
        cache: cache of passed checks.
    """
    check_gradients(config["gradients"], cache)
    check_controlflow(config["controlflow"])
    check_fractals(config["fractals"])
    check_likelihood(config["likelihood"], cache)
    check_inference(config["inference"], cache)
    check_toys(config["toys"], config["likelihood"]["models"], cache)
    check_optimizers(config["optimizers"], config["likelihood"]["models"], cache)
    bench = config["benchmark"]
    if bench["enabled"]:
        timed = bench["inference"]
        for name, spec in timed["models"].items():
            files = [spec[key] for key in ("workspace", "patchset") if isinstance(spec.get(key), str)]
            cache.run(
                ["model", spec],
                files,
                lambda name=name, spec=spec: check_model(name, spec, "benchmark.inference.models"),
            )
        if timed["grid"] is not None and timed["grid"] not in config["inference"]["signal_grids"]:
            raise ConfigError(f"config key 'benchmark.inference.grid': unknown signal grid {timed['grid']!r}")
    if bench["enabled"] and bench["grid_model"] not in config["likelihood"]["models"]:
        raise ConfigError(
            f"config key 'benchmark.grid_model': unknown model {bench['grid_model']!r}; "
            f"valid: {sorted(config['likelihood']['models'])}"
        )
    check_figures(config["figures"], cache)


def load_schema(path: str | Path) -> dict:
    """Read the config schema (YAML).

    Args:
        path: the schema file.

    Returns:
        The schema.
    """
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(Path(path).read_text(), Loader=loader)  # noqa: S506 (a safe loader)


def fill_defaults(config: dict, schema: Mapping) -> None:
    """Fill the schema's `default` values into the config, in place, at every depth.

    The same rule as snakemake.utils.validate: a property missing from an object gets its
    schema default (then validated, so nested defaults fill in too).

    Args:
        config: the config (already valid against the schema).
        schema: the schema.
    """
    import jsonschema

    base = jsonschema.Draft202012Validator
    validate_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, subschema):
        if isinstance(instance, dict):
            for name, prop in properties.items():
                if isinstance(prop, Mapping) and "default" in prop and name not in instance:
                    instance[name] = copy.deepcopy(prop["default"])
        yield from validate_properties(validator, properties, instance, subschema)

    filling = jsonschema.validators.extend(base, {"properties": set_defaults})
    filling(schema).validate(config)


def check_config(config: dict, schema_path: str | Path, cache_dir: str | None = None) -> None:
    """All checks in order, then the config canonicalised (keys sorted) in place.

    Args:
        config: the workflow's config (edited in place: CLI strings coerced, defaults filled).
        schema_path: the JSON Schema (YAML).
        cache_dir: folder for the cache of passed expensive checks (None: no cache).

    Raises:
        ConfigError: the first problem found, naming its key or file.
    """
    cache = CheckCache(cache_dir)
    schema_text = Path(schema_path).read_text()
    key = cache.key(["config", config, schema_text], named_files(config))
    checked = cache.load(key)
    if checked is not None:  # this exact config passed before: its checked, canonical form
        config.clear()
        config.update(checked)
        return
    schema = load_schema(schema_path)
    coerce_cli_strings(config, schema)
    check_finite(config)
    check_schema(config, schema)
    check_conditions(config)
    fill_defaults(config, schema)
    check_semantics(config, cache)
    canonical = sort_keys(config)
    config.clear()
    config.update(canonical)
    cache.store(key, canonical)


def named_files(config: Any) -> list[str]:
    """Files a raw config names (workspaces, user-function modules), for cache keys.

    Args:
        config: the config as loaded (not yet validated: any shape).

    Returns:
        The paths (those that cannot be located are left out; their checks fail anyway).
    """
    files: list[str] = []

    def section(*keys: str) -> dict:
        node = config
        for key in keys:
            node = node.get(key) if isinstance(node, Mapping) else None
        return node if isinstance(node, Mapping) else {}

    for spec in [*section("likelihood", "models").values(), *section("inference", "signal_grids").values()]:
        for key in ("workspace", "patchset"):
            if isinstance(spec, Mapping) and isinstance(spec.get(key), str):
                files.append(spec[key])
    for keys in (("gradients", "functions"), ("optimizers", "problems")):
        for spec in section(*keys).values():
            if isinstance(spec, Mapping) and isinstance(spec.get("function"), str):
                files.extend(user_module_file(spec["function"]))
    return files


def sort_keys(value: Any) -> Any:
    """Mappings with sorted keys, recursively.

    Snakemake compares `params:` by their repr, so key order would count as a change:
    reordering keys in config.yaml (or a --configfile overlay) must rerun nothing.

    Args:
        value: any nesting of mappings and lists.

    Returns:
        The same data with every mapping's keys sorted.
    """
    if isinstance(value, Mapping):
        return {key: sort_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sort_keys(item) for item in value]
    return value
