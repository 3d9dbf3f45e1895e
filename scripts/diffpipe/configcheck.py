"""Configuration checks that run when the workflow is parsed, before any job.

Each failure is one `ConfigError` whose message starts with the offending key path
(`gradients.functions.square.points[2]`) or file, so a bad edit is found without reading a
traceback, and no job starts (nothing in results/ changes).

Checks that need NumPy, pyhf, JAX or matplotlib (resolving functions, building models, colormap
names) are cached under `.snakemake/diffpipe-checks/` by a hash of the config entry, the files
it names and the checking code: when nothing changed, parsing the workflow imports none of them.
Only passing checks are cached; a failing one runs (and fails) every time.
"""

import contextlib
import copy
import hashlib
import importlib.util
import json
import math
import os
import re
import signal
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import jsonschema

PACKAGE_DIR = Path(__file__).resolve().parent


def check_code() -> tuple[Path, ...]:
    """The checking code, whose contents salt the cache of passed checks.

    This module and every package module it imports (at any depth, lazy imports included).

    Returns:
        The files, sorted.
    """
    from diffpipe.codedeps import import_closure

    here = Path(__file__).resolve()
    return tuple(sorted({here, *import_closure(here, PACKAGE_DIR.parent)}))


class ConfigError(ValueError):
    """A config value (or a file it names) that the pipeline cannot run with.

    The message is folded onto one line (libraries' messages may span several).
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


# Bounds on the config's shape, checked before anything walks it: YAML aliases can expand a
# few lines into billions of values (each alias is a reference, so loading is instant; walking
# it is not), and a recursive alias never ends.
MAX_CONFIG_VALUES = 200_000
MAX_CONFIG_DEPTH = 32


class CheckCache:
    """Markers of checks that passed, keyed by what they checked.

    Args:
        folder: where markers live (None: no caching).
    """

    def __init__(self, folder: str | os.PathLike | None):
        self.folder = Path(folder) if folder else None
        digest = hashlib.sha256()
        for path in check_code():
            digest.update(path.read_bytes())
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


def check_size(config: Any, limit: int = MAX_CONFIG_VALUES, depth_limit: int = MAX_CONFIG_DEPTH) -> None:
    """Refuse a config that expands to too many values or nests too deep, in time linear in its text.

    Shared (aliased) nodes are sized once, so an alias bomb is measured without expanding it.

    Args:
        config: the config as loaded.
        limit: the most values (scalars, lists and mappings, aliases counted at every use).
        depth_limit: the deepest nesting.

    Raises:
        ConfigError: naming the key where the limit was passed.
    """
    sizes: dict[int, int] = {}

    def size(node: Any, path: tuple) -> int:
        if not isinstance(node, (Mapping, list)):
            return 1
        if id(node) in sizes:
            return sizes[id(node)]
        if len(path) > depth_limit:
            raise ConfigError(
                f"config key '{key_path(path[:3])}': nested deeper than {depth_limit} levels (a recursive YAML alias?)"
            )
        total = 1
        for key, child in node.items() if isinstance(node, Mapping) else enumerate(node):
            total += size(child, path + (key,))
            if total > limit:
                raise ConfigError(
                    f"config key '{key_path(path)}': expands to more than {limit} values "
                    "(YAML aliases repeated inside each other?); the config is refused unread"
                )
        sizes[id(node)] = total
        return total

    size(config, ())


MAX_CONFIG_BYTES = 1_000_000
EXPERIMENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


def experiment_file(experiment: Any, root: str | Path = ".") -> str:
    """The config file an experiment names, checked to be a readable YAML mapping of sane size.

    Args:
        experiment: the `experiment` config value (None: the default config/config.yaml).
        root: the project folder.

    Returns:
        The file's path relative to `root` (what the Snakefile's `configfile:` reads).

    Raises:
        ConfigError: a bad experiment name, or a file that is missing, unreadable, over
            MAX_CONFIG_BYTES, not YAML (with the line) or not a mapping.
    """
    if experiment is None:
        name = "config/config.yaml"
    elif isinstance(experiment, str) and EXPERIMENT_NAME.fullmatch(experiment):
        name = f"config/experiments/{experiment}.yaml"
    else:
        raise ConfigError(f"config key 'experiment': {experiment!r} is not a name ([A-Za-z][A-Za-z0-9_-], 64 at most)")
    path = Path(root) / name
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {name}: larger than {MAX_CONFIG_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {name}: not found (config key 'experiment' = {experiment!r})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {name}: cannot be read: {err}") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"config file {name}:{where}: not valid YAML: {getattr(err, 'problem', err)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {name}: must be a mapping of config keys, got {type(data).__name__}")
    check_size(data)
    return name


def check_names(config: Mapping) -> None:
    """No entry name looks like a runaway wildcard to Snakemake.

    Snakemake refuses to build jobs whose wildcard ends in a pattern repeated 20 or more times
    (its guard against infinite recursion) and then reports "Nothing to be done": such a name
    would silently drop its entry.

    Args:
        config: the config (valid against the schema: names are bounded in length and charset).
    """
    from snakemake.io import PeriodicityDetector

    detector = PeriodicityDetector()
    sections = {
        "gradients.functions": config["gradients"]["functions"],
        "optimizers.problems": config["optimizers"]["problems"],
        "likelihood.models": config["likelihood"]["models"],
        "inference.signal_grids": config["inference"]["signal_grids"],
        "toys": config["toys"],
        "fractals": config["fractals"],
    }
    for section, entries in sections.items():
        for name in entries:
            repeated = detector.is_periodic(name)
            if repeated is not None:
                raise ConfigError(
                    f"config key '{section}.{name}': the name ends in {repeated!r} repeated 20 or more times, "
                    "which Snakemake takes for a runaway wildcard; choose another name"
                )


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


def _resolve_function(name: str, where: str):
    from diffpipe.functions import FunctionLookupError, resolve

    try:
        return resolve(name)
    except FunctionLookupError as err:
        raise ConfigError(f"config key '{where}': {err}") from None


def probe_function(ref: str, points: list, where: str) -> None:
    """Resolve a function and call it, with its JAX gradient, once at each point.

    The jobs call `f(x, jax.numpy)` and differentiate it: a function that cannot take the
    point's dimension, returns no scalar, raises, or gives a non-finite value or gradient fails
    here, before any job.

    Args:
        ref: registry name or `module:function`.
        points: the points the config evaluates it at (gradient points or optimizer starts).
        where: the config key naming the function.

    Raises:
        ConfigError: naming `where`, the point and what went wrong, or that it took longer than
            PROBE_TIMEOUT_S (importing the module included).
    """
    with _time_limit(PROBE_TIMEOUT_S, f"config key '{where}': {ref} did not return within {PROBE_TIMEOUT_S} s"):
        _probe_function(ref, points, where)


PROBE_TIMEOUT_S = 5  # with start-up and imports, a check stays under 10 s


@contextlib.contextmanager
def _time_limit(seconds: float, message: str):
    """Raise ConfigError(message) when the body runs longer than `seconds` (main thread only).

    A user function that never returns must not hang the workflow's parsing; elsewhere (a
    thread without signals) the body runs unbounded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise _TimeUp  # not an Exception: user code's `except Exception` does not swallow it

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _TimeUp:
        raise ConfigError(message) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _TimeUp(BaseException):
    """Raised by the alarm of `_time_limit`."""


def _probe_function(ref: str, points: list, where: str) -> None:
    func = _resolve_function(ref, where)
    from diffpipe.runtime import enable_float64

    enable_float64()
    import jax
    import jax.numpy as jnp
    import numpy as np

    def value(x):
        return func.fn(x, jnp)

    for point in points:
        x = jnp.asarray(point, dtype=jnp.float64)
        try:
            f = value(x)
            if jnp.shape(f) != ():
                raise ValueError(f"returns shape {tuple(jnp.shape(f))}, not a scalar")
            grad = np.asarray(jax.grad(value)(x))
        except Exception as err:  # anything a user function raises is a config error
            raise ConfigError(f"config key '{where}': {ref} at {list(point)}: {type(err).__name__}: {err}") from None
        if not np.isfinite(float(f)):
            raise ConfigError(f"config key '{where}': {ref} at {list(point)} returns {float(f)}, not a finite number")
        if not np.all(np.isfinite(grad)):
            raise ConfigError(f"config key '{where}': the gradient of {ref} at {list(point)} is not finite: {grad}")


def check_gradients(cfg: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """Every gradient function resolves and gives a finite value and gradient at its points.

    Args:
        cfg: the `gradients` section.
        cache: cache of passed checks.
    """
    for name, spec in cfg["functions"].items():
        ref, points, where = spec["function"], spec["points"], f"gradients.functions.{name}.function"
        cache.run(
            ["probe", ref, points],
            user_module_file(ref),
            lambda ref=ref, points=points, where=where: probe_function(ref, points, where),
        )


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
    from diffpipe.starts import INIT, expand_starts

    for name, spec in cfg["problems"].items():
        where = f"optimizers.problems.{name}"
        likelihood = "likelihood_model" in spec
        explicit = {"starts": [s for s in spec["starts"] if s != INIT]}
        if INIT in spec["starts"] and not likelihood:
            raise ConfigError(f"config key '{where}.starts': 'init' starts need a likelihood_model problem")
        try:
            starts = expand_starts(explicit, where)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        dims = {len(start) for start in starts}
        if len(dims) > 1:
            raise ConfigError(f"config key '{where}.starts': all start points need one dimension, got {sorted(dims)}")
        if likelihood:
            if "fstar" in spec:
                raise ConfigError(f"config key '{where}.fstar': a likelihood problem's f* comes from its model's fit")
            if spec["likelihood_model"] not in likelihood_models:
                raise ConfigError(
                    f"config key '{where}.likelihood_model': unknown model {spec['likelihood_model']!r}; "
                    f"valid: {sorted(likelihood_models)}"
                )
            if not dims:
                continue  # only "init" starts: the model's own parameters
            model = likelihood_models[spec["likelihood_model"]]
            files = [model[key] for key in ("workspace", "patchset") if key in model]
            dim = dims.pop()
            cache.run(
                ["problem_dimension", model, dim],
                files,
                lambda model=model, dim=dim, where=f"{where}.starts": _check_dimension(model, dim, where),
            )
        elif spec["function"] != "ill_conditioned_quadratic":
            ref = spec["function"]
            cache.run(
                ["probe", ref, starts],
                user_module_file(ref),
                lambda ref=ref, starts=starts, where=f"{where}.function": probe_function(ref, starts, where),
            )


def _check_dimension(model_spec: Mapping, dim: int, where: str) -> None:
    from diffpipe.models import build_model

    model, _ = build_model(model_spec)
    free = [n for n, fixed in zip(model.config.par_names, model.config.suggested_fixed()) if not fixed]
    if len(free) != dim:
        raise ConfigError(
            f"config key '{where}': starts have {dim} components; the model has {len(free)} free parameters {free}"
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

    from diffpipe.models import ModelError, read_json

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config key '{where}': workspace file not found (or not a file): {path}")
    try:
        spec = read_json(path, where)
    except ModelError as err:
        raise ConfigError(f"workspace {path} (config key '{where}'): {err}") from None
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
    except Exception as err:  # pyhf or jsonpatch on a malformed patchset
        raise ConfigError(f"config key '{where}.patchset': {type(err).__name__}: {err}") from None


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
    except Exception as err:  # pyhf raises several types for inconsistent specifications
        raise ConfigError(f"config key '{where}': the model cannot be built: {type(err).__name__}: {err}") from None
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


def check_resources(config: Mapping) -> None:
    """No job's estimated memory exceeds `compute.max_mem_mb` (diffpipe.resources).

    Args:
        config: the config (defaults filled, models checked).
    """
    from diffpipe.resources import planned_memory

    cap = config["compute"]["max_mem_mb"]
    for key, rule, mem_mb in planned_memory(config):
        if mem_mb > cap:
            raise ConfigError(
                f"config key '{key}': its {rule} job needs about {mem_mb} MB, more than "
                f"compute.max_mem_mb = {cap}; make it smaller or raise compute.max_mem_mb"
            )


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
    check_resources(config)


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
    check_size(config)
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
    check_names(config)
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
