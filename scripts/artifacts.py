"""Atomic artifact writing and provenance records.

Every artifact is written to a temporary file in its destination folder and renamed into
place, so an interrupted job never leaves a half-written file under results/.
"""


import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
TRACKED_PACKAGES = (
    "numpy",
    "scipy",
    "jax",
    "jaxlib",
    "tensorflow",
    "pyhf",
    "iminuit",
    "numba",
    "matplotlib",
    "pandas",
    "snakemake",
)
# Fields that hold wall-clock measurements; the determinism check ignores exactly these.
TIMING_FIELDS = ("elapsed_s", "wall_time_s")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only on success.

    The temporary name is fixed (`.<name>.partial<suffix>`), so a job killed mid-write leaves
    at most one such file, which the rerun of the same job overwrites and renames away.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial{target.suffix}")
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_with(path: str | os.PathLike, writer: Callable[[Path], Any]) -> None:
    """Call `writer(tmp_path)` and move the result onto `path` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default, allow_nan=True)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_with(path, lambda tmp: tmp.write_text(to_json(obj) + "\n"))


def write_csv(path: str | os.PathLike, frame) -> None:
    write_with(path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.17g"))


def write_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    def _save(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, array)

    write_with(path, _save)


def write_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    def _save(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    write_with(path, _save)


def save_figure(fig, path: str | os.PathLike, dpi: int) -> None:
    """Save a matplotlib figure atomically (format from the file name)."""
    fmt = Path(path).suffix.lstrip(".")
    write_with(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight"))


def config_hash(params: Any) -> str:
    """Stable hash of the configuration a job ran with."""
    return hashlib.sha256(to_json(params).encode()).hexdigest()[:16]


def code_version() -> str:
    """Hash of the pipeline's code (scripts and workflow), independent of git."""
    digest = hashlib.sha256()
    for folder in ("scripts", "workflow"):
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in {".py", ".smk", ".yaml", ""}:
                if "__pycache__" in path.parts:
                    continue
                digest.update(str(path.relative_to(REPO_ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance(params: Any, device, elapsed_s: float) -> dict[str, Any]:
    """Provenance record; `device` is a runtime.Device (or a plain description)."""
    return {
        "config_hash": config_hash(params),
        "code_version": code_version(),
        "packages": package_versions(),
        "device": getattr(device, "description", device),
        "device_warning": getattr(device, "warning", None),
        "host": platform.node(),
        "elapsed_s": round(float(elapsed_s), 6),
    }


def write_provenance(artifact: str | os.PathLike, params: Any, device, elapsed_s: float) -> None:
    """Write `<artifact>.provenance.json` beside a data artifact."""
    write_json(f"{artifact}.provenance.json", provenance(params, device, elapsed_s))
