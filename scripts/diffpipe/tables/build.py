"""Yields, limits, rankings and signal-grid limits as LaTeX (booktabs) and Markdown tables.

Each table is computed from one model's or one grid's artifacts only and written twice with
tabulate: `.tex` (a booktabs tabular, special characters escaped) and `.md` (a pipe table).
Values with an uncertainty are rounded by the PDG rule; a missing result is printed as "—".
"""

import math
from collections.abc import Sequence

import pandas as pd

from diffpipe.tables.rounding import with_error
from diffpipe.teststat import BAND_LABELS

MISSING = "—"


def _number(value, digits: int = 4) -> str:
    """A number with `digits` significant digits (MISSING where there is none)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    return f"{value:.{digits}g}"


def yields_table(yields) -> tuple[list[str], list[list[str]]]:
    """Pre- and post-fit yields per channel and sample, with the data.

    Args:
        yields: the model's `Yields` artifact.

    Returns:
        (headers, rows): channel, sample, pre-fit, post-fit (yield ± σ, PDG-rounded).
    """
    table = yields.table
    totals = table[table["scope"] == "channel"]
    rows = []
    for channel in yields.channels:
        for sample in [*yields.samples, "total"]:
            cells = []
            for stage in ("prefit", "postfit"):
                match = totals[
                    (totals["channel"] == channel) & (totals["sample"] == sample) & (totals["stage"] == stage)
                ]
                cells.append(
                    with_error(float(match["yield"].iloc[0]), float(match["stdev"].iloc[0])) if len(match) else MISSING
                )
            if any(cell != MISSING for cell in cells):
                rows.append([channel, sample, *cells])
        data = totals[(totals["channel"] == channel) & (totals["sample"] == "total")]["data"].dropna()
        if len(data):
            rows.append([channel, "data", _number(float(data.iloc[0]), 6), ""])
    return ["channel", "sample", "pre-fit", "post-fit"], rows


def limits_table(limits, significance) -> tuple[list[str], list[list[str]]]:
    """The upper limit with its expected band, and the discovery significance.

    Args:
        limits: the model's `Limits` artifact.
        significance: its `Significance` artifact.

    Returns:
        (headers, rows): one row per quantity.
    """
    cl = f"{100 * limits.cl:g}% CL upper limit on {limits.poi}"
    rows = [[f"{cl}, observed", _number(limits.observed)]]
    rows += [[f"{cl}, {label}", _number(value)] for label, value in zip(BAND_LABELS, limits.expected)]
    rows += [
        ["significance Z, observed", _number(significance.observed_z, 3)],
        ["significance Z, expected", _number(significance.expected_z, 3)],
    ]
    return ["", "value"], rows


def ranking_table(impacts, top: int) -> tuple[list[str], list[list[str]]]:
    """The nuisance parameters that move the POI most (post-fit impact), largest first.

    Args:
        impacts: the model's `Impacts` artifact (ranked).
        top: rows.

    Returns:
        (headers, rows): parameter, its post-fit value ± σ, the POI's shift with the parameter
        at ±σ post-fit and ± its prior width pre-fit.
    """
    rows = [
        [
            row["parameter"],
            with_error(float(row["bestfit"]), float(row["uncertainty"])),
            _number(float(row["postfit_up"]), 3),
            _number(float(row["postfit_down"]), 3),
            _number(float(row["prefit_up"]), 3),
            _number(float(row["prefit_down"]), 3),
        ]
        for _, row in impacts.table.head(top).iterrows()
    ]
    headers = ["parameter", "post-fit value", f"Δ{impacts.poi} (+σ)", f"Δ{impacts.poi} (−σ)", "pre-fit +", "pre-fit −"]
    return headers, rows


def grid_table(grid) -> tuple[list[str], list[list[str]]]:
    """A signal grid's limits per point: observed, expected and its ±1σ band.

    Args:
        grid: the `SignalGrid` artifact.

    Returns:
        (headers, rows): patch, its label values, observed, expected, −1σ, +1σ, excluded.
    """
    rows = []
    for _, row in grid.table.iterrows():
        failed = isinstance(row.get("failure"), str) and row["failure"]
        rows.append(
            [
                row["patch"],
                *(_number(float(row[label]), 6) for label in grid.labels),
                _number(float(row["observed"])),
                _number(float(row["expected"])),
                _number(float(row["expected_p1"])),  # +1σ of the test statistic: the lower limit
                _number(float(row["expected_m1"])),
                "failed" if failed else ("yes" if bool(row["excluded"]) else "no"),
            ]
        )
    return ["patch", *grid.labels, "observed", "expected", "expected −1σ", "expected +1σ", "excluded"], rows


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], source: str) -> dict[str, str]:
    """A table as Markdown and LaTeX text.

    Args:
        headers: column headers.
        rows: the cells (strings: rounded already).
        source: the artifacts it was made from (a comment line in each file).

    Returns:
        {"md": ..., "tex": ...}.
    """
    from tabulate import tabulate

    frame = pd.DataFrame(rows, columns=list(headers), dtype=object)
    cells = frame.values.tolist()
    md = tabulate(cells, headers=list(headers), tablefmt="github", disable_numparse=True)
    tex = tabulate(cells, headers=list(headers), tablefmt="latex_booktabs", disable_numparse=True)
    return {"md": f"<!-- diffpipe: from {source} -->\n{md}\n", "tex": f"% diffpipe: from {source}\n{tex}\n"}


def run_table(job, kind: str, inputs: dict, top: int | None, outputs: dict) -> None:
    """Rule `table` (a model's yields, limits or ranking) and rule `grid_table` (a grid's limits).

    Args:
        job: the `runtime.Job`.
        kind: "yields", "limits", "ranking" or "grid".
        inputs: the artifacts' paths (yields; limits and significance; impacts; limits of a grid).
        top: rows of a ranking (None for the other kinds).
        outputs: {"md": path, "tex": path}.
    """
    from diffpipe.artifacts import read_any
    from diffpipe.runtime import logged
    from diffpipe.storage import write_text

    with logged(job):
        loaded = {key: read_any(path) for key, path in inputs.items()}
        if kind == "yields":
            headers, rows = yields_table(loaded["yields"])
        elif kind == "limits":
            headers, rows = limits_table(loaded["limits"], loaded["significance"])
        elif kind == "ranking":
            headers, rows = ranking_table(loaded["impacts"], top)
        elif kind == "grid":
            headers, rows = grid_table(loaded["limits"])
        else:
            raise ValueError(f"unknown table kind {kind!r}")
        texts = render(headers, rows, ", ".join(inputs[key] for key in sorted(inputs)))
        for fmt, path in outputs.items():
            write_text(path, texts[fmt])
