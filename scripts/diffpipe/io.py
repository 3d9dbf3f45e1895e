"""Atomic file writing and strict JSON.

Every file under results/ is written to a temporary file in its destination folder and renamed
into place, so an interrupted job never leaves a half-written file there. JSON is strict: NaN and
infinities are not JSON, so they are written as null and their key paths listed with a reason.
"""

import contextlib
import json
import math
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

PARTIAL_MARK = ".partial"
NOT_FINITE_REASON = "value was not a finite number (not-a-number or infinite); written as null"


def partial_path(path: str | os.PathLike) -> Path:
    """The temporary name an artifact is written under before it is renamed into place.

    Args:
        path: the artifact's final path.

    Returns:
        `.<name>.partial<suffix>` in the same folder (hidden, fixed per artifact).
    """
    target = Path(path)
    return target.with_name(f".{target.name}{PARTIAL_MARK}{target.suffix}")


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
