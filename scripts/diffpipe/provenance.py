"""Provenance: what produced an artifact (config, code, packages, device, time).

Every artifact carries one `Provenance` record inside its own file, so the record is written
together with the artifact and can never outlive it or precede it.
"""

import functools
import hashlib
import importlib.metadata
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from diffpipe.storage import plain, to_json

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent.parent
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

VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl")


def cpu_info() -> dict:
    """The machine a timing was taken on.

    Returns:
        model (CPU model name), cores (usable by this process), vector (the vector
        instruction sets present, e.g. avx2, avx512f).
    """
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    return {
        "model": model,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "vector": [flag for flag in VECTOR_FLAGS if flag in flags],
    }


def config_hash(params: Any) -> str:
    """Stable hash of the configuration a job ran with.

    Args:
        params: the job's configuration (any JSON-compatible nesting).

    Returns:
        16 hex digits of the SHA-256 of its canonical JSON.
    """
    return hashlib.sha256(to_json(plain(params)).encode()).hexdigest()[:16]


@functools.cache
def code_version() -> str:
    """Hash of the pipeline's code (scripts/ and workflow/), independent of git.

    Returns:
        16 hex digits over the paths and contents of every code file.
    """
    digest = hashlib.sha256()
    for folder in ("scripts", "workflow"):
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if (
                path.is_file()
                and path.suffix in {".py", ".smk", ".yaml", ".j2", ""}
                and "__pycache__" not in path.parts
            ):
                digest.update(str(path.relative_to(REPO_ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of the packages whose numbers could change a result.

    Args:
        names: distribution names.

    Returns:
        name -> version ("not installed" where absent), plus the Python version.
    """
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True)
class Provenance:
    """What produced an artifact.

    Attributes:
        config_hash: hash of the job's configuration.
        code_version: hash of the pipeline code.
        packages: package versions.
        device: where the job computed ("cpu", a GPU's name, ...).
        device_warning: set when a GPU was requested and not used.
        host: machine name.
        elapsed_s: wall time of the job's computation (a timing field: not deterministic).
    """

    config_hash: str
    code_version: str
    packages: dict[str, str] = field(default_factory=dict)
    device: str = "cpu"
    device_warning: str | None = None
    host: str = ""
    elapsed_s: float = 0.0

    @classmethod
    def record(cls, params: Any, device: Any, elapsed_s: float) -> "Provenance":
        """Provenance of a job that just finished.

        Args:
            params: the job's configuration.
            device: a `runtime.Device` (or a plain description string).
            elapsed_s: seconds the job computed.

        Returns:
            The record.
        """
        return cls(
            config_hash=config_hash(params),
            code_version=code_version(),
            packages=package_versions(),
            device=str(getattr(device, "description", device)),
            device_warning=getattr(device, "warning", None),
            host=platform.node(),
            elapsed_s=round(float(elapsed_s), 6),
        )

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON data.

        Returns:
            A dict with one key per attribute.
        """
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Provenance":
        """Read a record written by `to_dict`.

        Args:
            data: the dict.

        Returns:
            The record.
        """
        return cls(**data)
