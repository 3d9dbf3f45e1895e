"""The cache of passed checks, keyed by what they checked and salted with the checking code.

Checks that need NumPy, pyhf, JAX or matplotlib (resolving functions, building models, colormap
names) are cached under `.snakemake/diffpipe-checks/` by a hash of the config entry, the files
it names and the checking code: when nothing changed, parsing the workflow imports none of them.
Only passing checks are cached; a failing one runs (and fails) every time.
"""

import hashlib
import importlib.util
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from diffpipe.workspaces import entry_files

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def check_code() -> tuple[Path, ...]:
    """The checking code, whose contents salt the cache of passed checks.

    The configcheck package and every package module it imports (at any depth, lazy imports
    included).

    Returns:
        The files, sorted.
    """
    from diffpipe.codedeps import import_closure

    entry = PACKAGE_DIR / "configcheck" / "__init__.py"
    return tuple(sorted({entry, *import_closure(entry, PACKAGE_DIR.parent)}))


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
        module_spec = importlib.util.find_spec(module) if "." not in module else None
    except (ImportError, ValueError):
        module_spec = None
    if module_spec is None and os.getcwd():
        candidate = Path(os.getcwd(), *module.split(".")).with_suffix(".py")
        return [str(candidate)] if candidate.is_file() else []
    return [module_spec.origin] if module_spec is not None and module_spec.origin else []


def named_files(config: Any) -> list[str]:
    """Files a raw config names (workspaces, events files, user-function modules), for cache keys.

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

    for entry in [*section("likelihood", "models").values(), *section("inference", "signal_grids").values()]:
        if isinstance(entry, Mapping):
            files.extend(entry_files(entry))
    for entry in section("optimize_analysis").values():
        events = entry.get("events") if isinstance(entry, Mapping) else None
        if isinstance(events, Mapping) and isinstance(events.get("npz"), str):
            files.append(events["npz"])
    for keys in (("gradients", "functions"), ("optimizers", "problems")):
        for entry in section(*keys).values():
            if isinstance(entry, Mapping) and isinstance(entry.get("function"), str):
                files.extend(user_module_file(entry["function"]))
    return files
