"""pyhf's JSON-schema validation, done once per distinct specification in a process.

pyhf validates a specification each time an object is built from it: the workspace when a
`Workspace` is made, again for each patched workspace, each model spec and each measurement. A
config check of the published experiment builds the 1Lbb and 3L workspaces several times over
(background-only fits, signal-patch models, the grids' union models) and spent ~70% of its time
in jsonschema. Validation is a pure function of the specification's content, so a content digest
that passed once need not be validated again; a specification that fails is validated (and
fails) every time.

A specification is first checked by pyhf's own schema compiled with fastjsonschema (0.18 s
against jsonschema's 2.5 s for the 1Lbb workspace). One it does not pass goes to pyhf's
validator, whose error (or acceptance: tensors, which pyhf treats as lists) is the answer, so
messages are pyhf's.
"""

import functools
import hashlib
import json

_passed: set[tuple] = set()
_installed = False


def _digest(spec) -> str:
    """SHA-256 of a specification's JSON (tensors as lists, keys sorted)."""
    text = json.dumps(spec, sort_keys=True, default=lambda value: value.tolist())
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def _compiled(schema_name: str, version: str | None):
    """The fastjsonschema validator of pyhf's schema `schema_name` in `version` (default: pyhf's)."""
    import fastjsonschema
    from pyhf.schema import load_schema, variables

    version = version or variables.SCHEMA_VERSION

    def handler(uri: str) -> dict:
        # pyhf's schemas refer to each other by URL within the version's folder (defs.json)
        return load_schema(f"{version}/{uri.rsplit('/', 1)[-1].split('#')[0]}")

    schema = load_schema(f"{version}/{schema_name}")
    return fastjsonschema.compile(schema, handlers={"https": handler, "http": handler})


def install() -> None:
    """Route pyhf's `schema.validate` through the once-per-content cache (idempotent).

    pyhf's `Workspace`, `Model`, `PatchSet` and measurement look-ups call `pyhf.schema.validate`
    through the module attribute, so replacing it there covers all of them.
    """
    global _installed
    if _installed:
        return
    import pyhf

    validate = pyhf.schema.validate

    def validate_once(spec, schema_name, *, version=None, allow_tensors=True):
        key = (schema_name, version, allow_tensors, _digest(spec))
        if key in _passed:
            return None
        try:
            _compiled(schema_name, version)(spec)
        except Exception:  # pyhf's validator decides, with its own message
            validate(spec, schema_name, version=version, allow_tensors=allow_tensors)
        _passed.add(key)
        return None

    validate_once.__doc__ = validate.__doc__
    pyhf.schema.validate = validate_once
    _installed = True
