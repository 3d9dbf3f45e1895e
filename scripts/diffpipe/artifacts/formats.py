"""Storage formats of artifacts, their content digest and the field types every read checks.

An artifact is one header (kind, version, provenance, metadata fields) and a payload in one file.
"""

import dataclasses
import hashlib
import io as _io
import types
import typing
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from diffpipe.provenance import Provenance
from diffpipe.storage import NOT_FINITE_REASON, from_json, plain, to_json, write_with

if TYPE_CHECKING:  # pandas is imported where a table is read: jobs without tables skip ~0.3 s
    import pandas as pd

VERSION = 2
TABLE_PREFIX = "# diffpipe "
DIGEST_KEY = "content_digest"  # in the provenance record: sha256 of everything else in the file
REBUILD = "delete it and run snakemake again: its rule rebuilds it and what reads it reruns"


class ArtifactError(ValueError):
    """A file is not the artifact a reader expected (wrong kind, version, format or content)."""


class FormatVersionError(ArtifactError):
    """An artifact written in another format version (by other code: its rule reruns)."""


def unreadable(path: Path, problem: str) -> ArtifactError:
    """The one error for an artifact that cannot be used: names the file and how to rebuild it.

    Args:
        path: the file.
        problem: what is wrong with it.

    Returns:
        The error (to raise).
    """
    return ArtifactError(f"{path}: {problem}; {REBUILD}")


def _check_header(path: Path, header: Any, kind: str) -> None:
    if not isinstance(header, dict) or header.get("artifact") != kind:
        found = header.get("artifact") if isinstance(header, dict) else type(header).__name__
        raise unreadable(path, f"expected a {kind!r} artifact, found {found!r}")
    if header.get("version") != VERSION:
        message = f"{kind} format version {header.get('version')}, this code reads {VERSION}"
        raise FormatVersionError(f"{path}: {message}; {REBUILD}")


def content_digest(header: dict, chunks: Iterable[bytes]) -> str:
    """The digest an artifact records of its own content.

    Args:
        header: the file's header (kind, version, provenance, fields); a digest already in
            its provenance is left out.
        chunks: the payload as stored (CSV text, array bytes), in a fixed order.

    Returns:
        "sha256:" and the hex digest of the canonical header JSON followed by the chunks.
    """
    provenance = {k: v for k, v in (header.get("provenance") or {}).items() if k != DIGEST_KEY}
    digest = hashlib.sha256(to_json({**header, "provenance": provenance or None}, compact=True).encode())
    for chunk in chunks:
        digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def check_field(value: Any, annotation: Any, where: str, nullable: frozenset[str]) -> None:
    """Check a field read from a file against its declared type (the contract).

    Args:
        value: the value read.
        annotation: the field's type (str, int, float, bool, dict, list, list[...],
            dict[str, ...], X | None, a table or an array).
        where: the key path of the value (as `non_finite` records it).
        nullable: key paths of non-finite numbers stored as null.

    Raises:
        TypeError: naming the key path, the declared and the found type.
    """
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return check_field(value, option, where, nullable)
            except TypeError as err:
                errors.append(err)
        raise errors[0]
    if annotation is float and value is None and where in nullable:
        return
    expected = {_PandasNames.DataFrame: "DataFrame", np.ndarray: "ndarray"}.get(annotation)
    if expected is not None:
        ok = type(value).__name__ == expected
    elif annotation is Any:
        ok = True
    elif annotation is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, origin or annotation)
    if not ok:
        raise TypeError(f"{where}: expected {_type_name(annotation)}, found {type(value).__name__} {value!r:.60}")
    if origin is list and args:
        for i, item in enumerate(value):
            check_field(item, args[0], f"{where}[{i}]", nullable)
    elif origin is dict and len(args) == 2:
        for key, item in value.items():
            check_field(item, args[1], f"{where}.{key}", nullable)


@dataclass(kw_only=True)
class Artifact:
    """Base of every container: a kind, a storage format and a provenance record.

    A storage format (the three subclasses below) says how the header (kind, version,
    provenance, metadata fields) and the payload are laid out in one file. The provenance
    record in the file carries a digest of the rest (`content_digest`), checked on every read
    with every field's type.
    """

    KIND: ClassVar[str] = ""
    PAYLOAD: ClassVar[tuple[str, ...]] = ()  # fields stored outside the JSON header
    provenance: Provenance | None = None

    def write(self, path: str | Path) -> None:
        """Write the artifact atomically: one file, its provenance and content digest inside.

        Non-finite numbers in the header become null, their key paths listed under `non_finite`.

        Args:
            path: the destination.
        """
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "provenance"}
        payload = {name: values.pop(name) for name in self.PAYLOAD}
        prov = self.provenance.to_dict() if self.provenance else None
        not_finite: list[str] = []
        header = plain({"artifact": self.KIND, "version": VERSION, "provenance": prov, **values}, "", not_finite)
        if not_finite:
            header["non_finite"] = {"paths": not_finite, "reason": NOT_FINITE_REASON}
        stored = self._store(payload)
        digest = content_digest(header, self._chunks(stored))
        header["provenance"] = {**(header["provenance"] or {}), DIGEST_KEY: digest}
        write_with(path, lambda tmp: self._dump(tmp, header, stored))

    @classmethod
    def read(cls, path: str | Path) -> "Artifact":
        """Read an artifact of this kind, its digest and field types checked.

        Args:
            path: the file.

        Returns:
            The container.

        Raises:
            ArtifactError: naming the file (and how to rebuild it) when it is missing, cannot
                be parsed, holds another kind or format version, does not match its digest
                (edited or corrupt), or a field is missing or of the wrong type.
        """
        path = Path(path)
        header, stored = cls._load_file(path)
        _check_header(path, header, cls.KIND)
        provenance = dict(header.get("provenance") or {})
        recorded = provenance.pop(DIGEST_KEY, None)
        if recorded != content_digest(header, cls._chunks(stored)):
            why = "no content digest" if recorded is None else "its content does not match its digest"
            raise unreadable(path, f"{why} (edited by hand, truncated or corrupt)")
        try:
            payload = cls._restore(stored)
        except ValueError as err:
            raise unreadable(path, f"cannot read its payload ({err})") from None
        hints = typing.get_type_hints(cls, localns={"pd": _PandasNames})
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in header.items() if k in names and k != "provenance"}
        nullable = frozenset((header.get("non_finite") or {}).get("paths", []))
        try:
            for f in fields(cls):
                if f.name == "provenance":
                    continue
                value = payload.get(f.name, values.get(f.name, _ABSENT))
                if value is _ABSENT:
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                        raise TypeError(f"{f.name}: missing")
                    continue
                check_field(value, hints[f.name], f.name, nullable)
            record = Provenance.from_dict(provenance) if provenance else None
        except TypeError as err:
            raise unreadable(path, f"does not follow the {cls.KIND} contract (docs/artifacts.md): {err}") from None
        return cls(**values, **payload, provenance=record)

    @classmethod
    def _load_file(cls, path: Path) -> tuple[Any, Any]:
        try:
            return cls._load(path)
        except ArtifactError:
            raise
        except FileNotFoundError:
            raise ArtifactError(f"{path}: no such artifact; run snakemake to make it") from None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            raise unreadable(path, f"cannot be parsed ({type(err).__name__}: {err})") from None

    @staticmethod
    def _store(payload: dict) -> Any:
        """The payload in its stored form (what the digest covers)."""
        return payload

    @staticmethod
    def _chunks(stored: Any) -> list[bytes]:
        return []

    @staticmethod
    def _restore(stored: Any) -> dict:
        """The payload fields from their stored form."""
        return {}

    @staticmethod
    def _dump(tmp: Path, header: dict, stored: Any) -> None:
        raise TypeError("an artifact kind derives from JsonArtifact, TableArtifact or ArrayArtifact")

    @classmethod
    def _load(cls, path: Path) -> tuple[dict, Any]:
        raise TypeError("an artifact kind derives from JsonArtifact, TableArtifact or ArrayArtifact")


class _PandasNames:
    """Stands in for the pandas module when annotations are resolved (pandas loads lazily)."""

    class DataFrame:
        """`pd.DataFrame` in an annotation: a value whose type is named DataFrame."""


_ABSENT = object()


@dataclass(kw_only=True)
class JsonArtifact(Artifact):
    """An artifact stored as one strict-JSON object (header and fields together)."""

    @staticmethod
    def _dump(tmp: Path, header: dict, stored: Any) -> None:
        tmp.write_text(to_json(header) + "\n", encoding="utf-8")

    @classmethod
    def _load(cls, path: Path) -> tuple[dict, Any]:
        return from_json(path.read_text(encoding="utf-8")), None


@dataclass(kw_only=True)
class TableArtifact(Artifact):
    """An artifact stored as CSV behind a one-line JSON header; `table` is its DataFrame."""

    PAYLOAD: ClassVar[tuple[str, ...]] = ("table",)
    table: "pd.DataFrame"

    @staticmethod
    def _store(payload: dict) -> str:
        return payload["table"].to_csv(index=False, float_format="%.17g", lineterminator="\n")

    @staticmethod
    def _chunks(stored: str) -> list[bytes]:
        return [stored.encode("utf-8")]

    @staticmethod
    def _restore(stored: str) -> dict:
        import pandas as pd

        return {"table": pd.read_csv(_io.StringIO(stored)) if stored.strip() else pd.DataFrame()}

    @staticmethod
    def _dump(tmp: Path, header: dict, stored: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(TABLE_PREFIX + to_json(header, compact=True) + "\n")
            handle.write(stored)

    @classmethod
    def _load(cls, path: Path) -> tuple[dict, str]:
        with open(path, encoding="utf-8", newline="") as handle:
            first, _, body = handle.read().partition("\n")
        if not first.startswith(TABLE_PREFIX):
            raise unreadable(path, f"no diffpipe header line; not a {cls.KIND or 'table'} artifact")
        return from_json(first[len(TABLE_PREFIX) :]), body


@dataclass(kw_only=True)
class ArrayArtifact(Artifact):
    """An artifact stored as `.npz`: the PAYLOAD fields as arrays, the header as JSON `__meta__`."""

    @staticmethod
    def _store(payload: dict) -> dict:
        return {name: np.asarray(value) for name, value in payload.items()}

    @staticmethod
    def _chunks(stored: dict) -> list[bytes]:
        chunks = []
        for name in sorted(stored):
            array = np.ascontiguousarray(stored[name])
            chunks += [name.encode(), array.dtype.str.encode(), str(array.shape).encode(), array.tobytes()]
        return chunks

    @staticmethod
    def _restore(stored: dict) -> dict:
        return stored

    @staticmethod
    def _dump(tmp: Path, header: dict, stored: dict) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, __meta__=np.array(to_json(header, compact=True)), **stored)

    @classmethod
    def _load(cls, path: Path) -> tuple[dict, dict]:
        with np.load(path, allow_pickle=False) as archive:
            if "__meta__" not in archive.files:
                raise unreadable(path, f"no __meta__ entry; not a {cls.KIND or 'array'} artifact")
            missing = [name for name in cls.PAYLOAD if name not in archive.files]
            if missing:
                raise unreadable(path, f"arrays {missing} missing")
            return from_json(str(archive["__meta__"])), {name: archive[name] for name in cls.PAYLOAD}
