"""Configuration checks that run when the workflow is parsed, before any job.

Each failure is one `ConfigError` whose message starts with the offending key path
(`gradients.functions.square.points[2]`) or file, so a bad edit is found without reading a
traceback, and no job starts (nothing in results/ changes). The checks, by concept: `guards`
(shape, names, the experiment file), `schema` (validation, defaults, canonical form), `stages`
(what the schema cannot express), `probes` (users' functions) and `cache` (passed checks).
"""

from pathlib import Path

from diffpipe.configcheck.cache import CheckCache, named_files
from diffpipe.configcheck.errors import ConfigError
from diffpipe.configcheck.guards import check_finite, check_names, check_size, experiment_file
from diffpipe.configcheck.schema import check_schema, coerce_cli_strings, fill_defaults, load_schema, sort_keys
from diffpipe.configcheck.stages import check_conditions, check_semantics

__all__ = ["ConfigError", "check_config", "experiment_file"]


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
