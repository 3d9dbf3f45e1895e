"""HTML pieces of the report: tables with a status per row, embedded figures, number formats."""

import base64
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


@dataclass
class Table:
    """A table ready for the template: formatted cells and a CSS class per row.

    Attributes:
        columns: header cells.
        rows: formatted cells, one list per row.
        status: per row "pass", "fail", "flag" or "" (no colour).
    """

    columns: list[str]
    rows: list[list[str]]
    status: list[str] = field(default_factory=list)


@dataclass
class Figure:
    """An embedded figure: its data URI, MIME type and caption."""

    uri: str
    mime: str
    caption: str


def fmt(value, floatfmt: str = "{:.6g}") -> str:
    """One table cell as text (empty for missing values).

    Args:
        value: the cell value.
        floatfmt: format of floats.

    Returns:
        The text.
    """
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else floatfmt.format(value)
    return str(value)


def table(frame: pd.DataFrame, status_column: str | None = None, floatfmt: str = "{:.6g}") -> Table:
    """A DataFrame as a template table.

    Args:
        frame: the data.
        status_column: boolean column whose value colours the row (True: pass, False: fail).
        floatfmt: format of floats.

    Returns:
        The `Table`.
    """
    rows = [[fmt(v, floatfmt) for v in row] for row in frame.itertuples(index=False)]
    status = []
    if status_column is not None:
        status = ["pass" if bool(v) else "fail" for v in frame[status_column]]
    return Table([str(c) for c in frame.columns], rows, status)


def embed(path: str | Path, caption: str = "") -> Figure:
    """A figure file as a data URI.

    Args:
        path: a png, svg or pdf file.
        caption: its caption (default: the file name).

    Returns:
        The `Figure`.
    """
    path = Path(path)
    mime = MIME[path.suffix.lstrip(".")]
    data = base64.b64encode(path.read_bytes()).decode()
    return Figure(f"data:{mime};base64,{data}", mime, caption or path.name)


def group_inputs(inputs: dict) -> dict:
    """The report's inputs with per-entry files grouped: `kind/name` keys become kind -> {name: path}.

    Args:
        inputs: the rule's inputs (`kind` or `kind/name` -> path; `runtimes` a list).

    Returns:
        kind -> path (or list), or kind -> {entry name: path} in the config's order.
    """
    grouped: dict = {}
    for key, value in inputs.items():
        kind, _, name = key.partition("/")
        if name:
            grouped.setdefault(kind, {})[name] = value
        else:
            grouped[kind] = value
    return grouped


def entries(inputs: dict, *kinds: str) -> list[tuple[str, tuple]]:
    """Each config entry's files of several kinds, paired by the entry's name.

    Args:
        inputs: `group_inputs`'s result.
        kinds: the per-entry kinds wanted (e.g. "fits", "likelihood_grid").

    Returns:
        [(name, (path of each kind))] for every entry of the first kind.

    Raises:
        KeyError: an entry lacks one of the kinds (the report's inputs are inconsistent).
    """
    first = inputs.get(kinds[0], {})
    out = []
    for name in first:
        missing = [k for k in kinds if name not in inputs.get(k, {})]
        if missing:
            raise KeyError(f"report input {missing[0]}/{name} is missing")
        out.append((name, tuple(inputs[k][name] for k in kinds)))
    return out
