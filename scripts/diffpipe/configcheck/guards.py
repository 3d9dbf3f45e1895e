"""Guards on the config's shape and names, checked before anything walks it.

Size and depth (YAML alias bombs), finite numbers, entry names Snakemake and file systems can
take, and the experiment file.
"""

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from diffpipe.configcheck.errors import ConfigError
from diffpipe.configcheck.schema import key_path

# Bounds on the config's shape, checked before anything walks it: YAML aliases can expand a
# few lines into billions of values (each alias is a reference, so loading is instant; walking
# it is not), and a recursive alias never ends.
MAX_CONFIG_VALUES = 200_000


MAX_CONFIG_DEPTH = 32


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
EXPERIMENT_SUFFIXES = (".yaml", ".yml")


def experiment_file(experiment: Any, root: str | Path = ".") -> str:
    """The config file an experiment names, checked to be a readable YAML mapping of sane size.

    Args:
        experiment: the `experiment` config value: None (the default config/config.yaml), a
            name (config/experiments/NAME.yaml) or the path of a .yaml/.yml file anywhere
            (relative to `root`, the working folder, or absolute).
        root: the project folder.

    Returns:
        The file's path: relative to `root` when inside it, else absolute (what the Snakefile's
        `configfile:` reads).

    Raises:
        ConfigError: a value that is neither a name nor a YAML file's path, or a file that is
            missing, a folder, unreadable, over MAX_CONFIG_BYTES, not YAML (with the line) or
            not a mapping.
    """
    root = Path(root)
    if experiment is None:
        name = "config/config.yaml"
    elif isinstance(experiment, str) and EXPERIMENT_NAME.fullmatch(experiment):
        name = f"config/experiments/{experiment}.yaml"
    elif isinstance(experiment, str) and Path(experiment).suffix in EXPERIMENT_SUFFIXES:
        given = Path(experiment).expanduser()
        full = (given if given.is_absolute() else root / given).resolve()
        inside = full.is_relative_to(root.resolve())
        name = str(full.relative_to(root.resolve())) if inside else str(full)
    elif isinstance(experiment, str) and (root / experiment).is_dir():
        raise ConfigError(f"config key 'experiment': {experiment} is a folder, not a .yaml or .yml file")
    else:
        raise ConfigError(
            f"config key 'experiment': {experiment!r} is neither a name ([A-Za-z][A-Za-z0-9_-], 64 at "
            "most: config/experiments/NAME.yaml) nor the path of a .yaml or .yml file"
        )
    path = root / name
    if path.is_dir():
        raise ConfigError(f"config file {name}: is a folder, not a YAML file (config key 'experiment')")
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
