"""The artifact contract: one typed container per artifact kind, which writes and reads it.

Each artifact is one file that carries its kind, a format version, the coordinates needed to use
it (axes, parameter names, the definition it was computed from) and its provenance, written
together in one atomic rename. Every file records `artifact` (its kind), `version` (the format
version) and `provenance`. Three storage formats:

- JSON (`.json`): strict JSON, one object: artifact, version, provenance and the fields.
- table (`.csv`): a first line `# diffpipe {json}` with artifact, version, provenance and the
  non-table fields, then the table as CSV (float64 round-trips exactly).
- arrays (`.npz`): one NumPy array per array field plus `__meta__`, a JSON string with
  artifact, version, provenance and the other fields (loads with `allow_pickle=False`).

Plots and the report read artifacts only through these classes. docs/artifacts.md lists every
kind with its fields and units.
"""

from pathlib import Path

from diffpipe.artifacts.formats import (
    DIGEST_KEY,
    TABLE_PREFIX,
    VERSION,
    ArrayArtifact,
    Artifact,
    ArtifactError,
    FormatVersionError,
    JsonArtifact,
    TableArtifact,
    check_field,
    content_digest,
    unreadable,
)
from diffpipe.artifacts.inference import (
    AnalysisDesign,
    GoodnessOfFit,
    ImpactGroups,
    Impacts,
    Limits,
    ModelInference,
    Sensitivity,
    SignalContours,
    SignalGrid,
    SignalGridBlock,
    Significance,
    Yields,
)
from diffpipe.artifacts.kinds import (
    BenchmarkTable,
    ControlFlowTable,
    FitResult,
    FractalCounts,
    GradientTable,
    GridScan,
    OptimizerRuns,
    OptimizerTraces,
    PipelineTiming,
)
from diffpipe.artifacts.toys import (
    Coverage,
    ToyHypotest,
    ToyLimit,
    ToyLimitPart,
    ToyLimitPlan,
    ToyLimitPoints,
    ToyShard,
)
from diffpipe.storage import from_json, to_json, write_with

__all__ = [
    "AnalysisDesign",
    "DIGEST_KEY",
    "TABLE_PREFIX",
    "VERSION",
    "ArrayArtifact",
    "Artifact",
    "ArtifactError",
    "BenchmarkTable",
    "ControlFlowTable",
    "Coverage",
    "FitResult",
    "FormatVersionError",
    "FractalCounts",
    "GoodnessOfFit",
    "GradientTable",
    "GridScan",
    "ImpactGroups",
    "Impacts",
    "JsonArtifact",
    "Limits",
    "ModelInference",
    "OptimizerRuns",
    "OptimizerTraces",
    "PipelineTiming",
    "Sensitivity",
    "Significance",
    "SignalContours",
    "SignalGrid",
    "SignalGridBlock",
    "TableArtifact",
    "ToyHypotest",
    "ToyLimit",
    "ToyLimitPart",
    "ToyLimitPlan",
    "ToyLimitPoints",
    "ToyShard",
    "Yields",
    "check_field",
    "check_results",
    "content_digest",
    "kind_of",
    "read_any",
    "unreadable",
]

KINDS: dict[str, type[Artifact]] = {
    cls.KIND: cls
    for cls in (
        GradientTable,
        ControlFlowTable,
        OptimizerRuns,
        OptimizerTraces,
        FitResult,
        GridScan,
        FractalCounts,
        BenchmarkTable,
        PipelineTiming,
        Limits,
        Significance,
        Sensitivity,
        AnalysisDesign,
        GoodnessOfFit,
        Impacts,
        ImpactGroups,
        Yields,
        SignalContours,
        SignalGrid,
        SignalGridBlock,
        ToyShard,
        Coverage,
        ToyHypotest,
        ToyLimitPoints,
        ToyLimitPart,
        ToyLimitPlan,
        ToyLimit,
    )
}


FORMATS: dict[str, type[Artifact]] = {".json": JsonArtifact, ".csv": TableArtifact, ".npz": ArrayArtifact}


def kind_of(path: str | Path) -> str:
    """The kind recorded in an artifact file.

    Args:
        path: a .json, .csv or .npz artifact.

    Returns:
        Its kind (a key of `KINDS`).
    """
    path = Path(path)
    if path.suffix not in FORMATS:
        raise ArtifactError(f"{path}: not an artifact file (.json, .csv or .npz)")
    header = FORMATS[path.suffix]._load_file(path)[0]
    if not isinstance(header, dict) or header.get("artifact") not in KINDS:
        raise unreadable(path, "not a diffpipe artifact (no known `artifact` kind in its header)")
    return header["artifact"]


def read_any(path: str | Path) -> Artifact:
    """Read an artifact of any kind.

    Args:
        path: the file.

    Returns:
        The container of the kind the file records.
    """
    return KINDS[kind_of(path)].read(path)


def check_results(folder: str | Path, record: str | Path) -> list[Path]:
    """Read every artifact under a results folder, as its consumers will, before any job runs.

    A hand-edited, truncated or corrupt artifact is refused here, while nothing has been
    deleted yet (Snakemake removes a job's old outputs when the job starts). Files unchanged
    since they last passed (same size and mtime, kept in `record`) are not read again; files of
    an older format version are left to be rebuilt (the code that reads them changed, so their
    rules rerun). Logs and runtime records are not artifacts.

    Args:
        folder: the results folder.
        record: a JSON file of the files that passed ({path: [mtime_ns, size]}).

    Returns:
        The files read this time.

    Raises:
        ArtifactError: the first artifact that cannot be used, naming it and how to rebuild it.
    """
    folder, record = Path(folder), Path(record)
    try:
        passed = from_json(record.read_text())
    except (OSError, ValueError):
        passed = {}
    files = sorted(
        p
        for suffix in FORMATS
        for p in folder.rglob(f"*{suffix}")
        if not p.name.startswith(".") and not {"logs", "benchmarks"} & set(p.relative_to(folder).parts)
    )
    checked, state = [], {}
    for path in files:
        stat = path.stat()
        state[str(path)] = [stat.st_mtime_ns, stat.st_size]
        if passed.get(str(path)) == state[str(path)]:
            continue
        try:
            read_any(path)
        except FormatVersionError:
            del state[str(path)]
        checked.append(path)
    if state != passed:
        try:
            record.parent.mkdir(parents=True, exist_ok=True)
            write_with(record, lambda tmp: tmp.write_text(to_json(state, compact=True)))
        except OSError:  # a read-only checkout still works, unrecorded
            pass
    return checked
