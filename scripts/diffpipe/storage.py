"""Atomic file writing and strict JSON.

Every file under results/ is written to a temporary file in its destination folder and renamed
into place, so an interrupted job never leaves a half-written file there. JSON is strict: NaN and
infinities are not JSON, so they are written as null and their key paths listed with a reason.
"""

import contextlib
import glob
import json
import math
import os
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

PARTIAL_MARK = ".partial"
NOT_FINITE_REASON = "value was not a finite number (not-a-number or infinite); written as null"
ORPHAN_AGE_S = 24 * 3600  # a partial file of another host is an orphan after this long


def partial_path(path: str | os.PathLike) -> Path:
    """The temporary name an artifact is written under before it is renamed into place.

    Args:
        path: the artifact's final path.

    Returns:
        `.<name>.partial-<host>-<pid><suffix>` in the same folder: hidden, and naming the process
        that writes it, so that an orphan (its writer killed) can be told from a file being
        written.
    """
    target = Path(path)
    return target.with_name(f".{target.name}{PARTIAL_MARK}-{socket.gethostname()}-{os.getpid()}{target.suffix}")


def partial_files(path: str | os.PathLike) -> list[Path]:
    """Every temporary file of an artifact, from any writer.

    Args:
        path: the artifact's final path.

    Returns:
        The temporary files beside it.
    """
    target = Path(path)
    return sorted(target.parent.glob(f".{glob.escape(target.name)}{PARTIAL_MARK}*"))


def _writer_alive(partial: Path) -> bool:
    """Whether the process named in a temporary file's name may still be writing it."""
    match = re.search(rf"{re.escape(PARTIAL_MARK)}-(.+)-(\d+)", partial.name)
    if match is None:
        return False
    host, pid = match.group(1), int(match.group(2))
    if host != socket.gethostname():
        try:
            return time.time() - partial.stat().st_mtime < ORPHAN_AGE_S
        except FileNotFoundError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_partials(root: str | os.PathLike, everything: bool = False) -> list[Path]:
    """Remove temporary files left by killed writers under a folder.

    Args:
        root: the folder (results/).
        everything: remove every temporary file, live writers' too (only when nothing runs).

    Returns:
        The files removed.
    """
    removed = []
    for partial in Path(root).rglob(f".*{PARTIAL_MARK}*"):
        if partial.is_file() and (everything or not _writer_alive(partial)):
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
                removed.append(partial)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only on success.

    Args:
        path: the final path of the file to write.

    Yields:
        The temporary path to write to. On any exception it is removed and the exception
        re-raised; `path` is then untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_with(path: str | os.PathLike, writer: Callable[[Path], Any]) -> None:
    """Call `writer(tmp_path)` and move what it wrote onto `path` atomically.

    Args:
        path: the final path.
        writer: writes the whole file to the path it is given.
    """
    with atomic_path(path) as tmp:
        writer(tmp)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically (UTF-8).

    Args:
        path: the final path.
        text: the whole content.
    """
    write_with(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def plain(value: Any, where: str = "", not_finite: list[str] | None = None) -> Any:
    """Convert NumPy values, tuples and paths into JSON types; non-finite floats become None.

    Args:
        value: any nesting of dicts, lists, tuples, NumPy arrays/scalars, numbers, strings.
        where: key path of `value` (for the record of non-finite values).
        not_finite: list that collects the key path of every non-finite float replaced.

    Returns:
        The same structure made of dict, list, str, int, float, bool and None only.
    """
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Mapping):
        return {str(k): plain(v, f"{where}.{k}" if where else str(k), not_finite) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{where}[{i}]", not_finite) for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        if not_finite is not None:
            not_finite.append(where or "<root>")
        return None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"not JSON serialisable at {where or '<root>'}: {type(value).__name__}")


def to_json(obj: Any, compact: bool = False) -> str:
    """Strict, stable JSON text (sorted keys; NaN/inf refused).

    Args:
        obj: JSON-compatible data (use `plain` first for NumPy values).
        compact: one line, no spaces (else indented).

    Returns:
        The JSON text.

    Raises:
        ValueError: when `obj` holds a NaN or an infinity.
    """
    if compact:
        return json.dumps(obj, sort_keys=True, allow_nan=False, separators=(",", ":"))
    return json.dumps(obj, indent=1, sort_keys=True, allow_nan=False)


def from_json(text: str) -> Any:
    """Parse strict JSON (NaN, Infinity and -Infinity are refused).

    Args:
        text: JSON text.

    Returns:
        The parsed data.
    """

    def refuse(name: str) -> Any:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write strict JSON atomically; non-finite floats become null, listed under `non_finite`.

    Args:
        path: the final path.
        obj: a mapping (or any JSON-compatible data).
    """
    not_finite: list[str] = []
    data = plain(obj, "", not_finite)
    if not_finite and isinstance(data, dict):
        data["non_finite"] = {"paths": not_finite, "reason": NOT_FINITE_REASON}
    write_text(path, to_json(data) + "\n")
