"""The JSON Schema: validation, defaults and the canonical (key-sorted) config.

One message per error; command-line strings read as the types the schema wants.
"""

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import jsonschema

from diffpipe.configcheck.errors import ConfigError


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
