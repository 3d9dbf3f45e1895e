"""A run's results as a HEPData submission, built with hepdata_lib and checked with hepdata-validator.

Tables: per signal grid its limits per point (the patchset's labels as independent variables,
the observed limit and the expected one with its ±1σ and ±2σ band as asymmetric uncertainties)
and each exclusion contour (contours.csv); per model its yields per channel and bin (pre- and
post-fit with their uncertainties, and the data) and, with a POI, the CLs scan (observed and
expected CLs against the POI), the impact ranking and, where the sensitivity stage ran, the
systematics budget. An invalid record is an error, not an output.
"""

import math
import os
import shutil
import tempfile
from pathlib import Path

from diffpipe.teststat import BAND_COLUMNS

# The expected limit's uncertainties: (label, the grid table's lower and upper edge columns).
ERROR_BANDS = (("expected ±1σ", BAND_COLUMNS[1], BAND_COLUMNS[3]), ("expected ±2σ", BAND_COLUMNS[0], BAND_COLUMNS[4]))
CONTOUR_NAMES = {
    "observed": "Observed exclusion contour",
    "expected": "Expected exclusion contour",
    "expected_p1": "Expected exclusion contour, -1 sigma",
    "expected_m1": "Expected exclusion contour, +1 sigma",
    "expected_p2": "Expected exclusion contour, -2 sigma",
    "expected_m2": "Expected exclusion contour, +2 sigma",
}


def _finite(values) -> list:
    """Values for a variable: floats, or "-" where there is none (HEPData's missing value)."""
    return [float(v) if v is not None and math.isfinite(float(v)) else "-" for v in values]


def _variable(name: str, values, *, independent: bool, units: str = ""):
    from hepdata_lib import Variable

    variable = Variable(name, is_independent=independent, is_binned=False, units=units)
    variable.values = values
    return variable


def _asymmetric(label: str, low, high, centre):
    """An asymmetric uncertainty from the edges around a central value (0 where missing)."""
    from hepdata_lib import Uncertainty

    uncertainty = Uncertainty(label, is_symmetric=False)
    pairs = []
    for lo, hi, c in zip(low, high, centre):
        ok = all(math.isfinite(float(v)) for v in (lo, hi, c))
        pairs.append((float(lo) - float(c), float(hi) - float(c)) if ok else (0.0, 0.0))
    uncertainty.values = pairs
    return uncertainty


def _table(name: str, description: str, location: str, variables: list, keywords: dict | None = None):
    from hepdata_lib import Table

    table = Table(name)
    table.description = description
    table.location = location
    for key, values in (keywords or {}).items():
        table.keywords[key] = values
    for variable in variables:
        table.add_variable(variable)
    return table


def grid_tables(grid, contours, units: dict) -> list:
    """The limits per point and the exclusion contours of one signal grid.

    Args:
        grid: the `SignalGrid` artifact.
        contours: its `SignalContours` artifact.
        units: label -> unit (the config's `units`; a label without one has none).

    Returns:
        hepdata_lib Tables.
    """
    table = grid.table
    cl = f"{100 * grid.cl:g}"
    independent = [
        _variable(label, _finite(table[label]), independent=True, units=units.get(label, "")) for label in grid.labels
    ]
    observed = _variable(f"Observed upper limit on {grid.poi}", _finite(table["observed"]), independent=False)
    observed.add_qualifier("CL", cl)
    expected = _variable(f"Expected upper limit on {grid.poi}", _finite(table["expected"]), independent=False)
    expected.add_qualifier("CL", cl)
    for label, low, high in ERROR_BANDS:
        expected.add_uncertainty(_asymmetric(label, table[low], table[high], table["expected"]))
    tables = [
        _table(
            f"Limits {grid.grid}",
            f"{cl}% CL CLs upper limits on the signal strength {grid.poi} for each signal hypothesis of the grid "
            f"{grid.grid} (asymptotic); a point is excluded where the observed limit is below 1.",
            f"signal grid {grid.grid}",
            [*independent, observed, expected],
            {"reactions": [], "cmenergies": [], "observables": ["CLs upper limit"]},
        )
    ]
    if len(contours.labels) == 2:
        xl, yl = contours.labels
        for curve, name in CONTOUR_NAMES.items():
            points = contours.table[contours.table["curve"] == curve].sort_values(["segment", "point"])
            if not len(points):
                continue
            tables.append(
                _table(
                    f"{name} {grid.grid}",
                    f"{name} (limit on {grid.poi} = 1) of the signal grid {grid.grid}: points in order along each "
                    f"segment, {points['segment'].nunique()} segment(s) one after the other; {contours.interpolation}.",
                    f"signal grid {grid.grid}",
                    [
                        _variable(xl, _finite(points[xl]), independent=True, units=units.get(xl, "")),
                        _variable(yl, _finite(points[yl]), independent=False, units=units.get(yl, "")),
                    ],
                )
            )
    return tables


def bin_names(channels, bins, binning: dict) -> list[str]:
    """The yields tables' bin labels: the observable's range where the model entry gives a binning.

    Args:
        channels: each row's channel.
        bins: each row's bin index.
        binning: the model entry's `binning` ({channel: {observable, edges}}; may lack a channel).

    Returns:
        "channel: observable lo-hi" per row, else "channel bin i".
    """
    names = []
    for channel, b in zip(channels, bins):
        b, entry = int(b), binning.get(channel)
        if entry is None:
            names.append(f"{channel} bin {b}")
        else:
            names.append(f"{channel}: {entry['observable']} {entry['edges'][b]:g}-{entry['edges'][b + 1]:g}")
    return names


def yields_table(yields, binning: dict | None = None):
    """A model's pre- and post-fit yields per channel and bin, with the data.

    Args:
        yields: the model's `Yields` artifact.
        binning: its entry's `binning` (the bins' observable ranges; none: bin indices).

    Returns:
        A hepdata_lib Table.
    """
    from hepdata_lib import Uncertainty

    frame = yields.table
    rows = frame[(frame["scope"] == "bin") & (frame["sample"] == "total")]
    pre = rows[rows["stage"] == "prefit"].sort_values(["channel", "bin"])
    post = rows[rows["stage"] == "postfit"].sort_values(["channel", "bin"])
    variables = [_variable("Bin", bin_names(pre["channel"], pre["bin"], binning or {}), independent=True)]
    for stage, part in (("Pre-fit", pre), ("Post-fit", post)):
        variable = _variable(f"{stage} expected events", _finite(part["yield"]), independent=False)
        uncertainty = Uncertainty(f"{stage.lower()} uncertainty", is_symmetric=True)
        uncertainty.values = [float(v) if math.isfinite(float(v)) else 0.0 for v in part["stdev"]]
        variable.add_uncertainty(uncertainty)
        variables.append(variable)
    variables.append(_variable("Observed events", _finite(post["data"]), independent=False))
    return _table(
        f"Yields {yields.model}",
        f"Expected events of the model {yields.model} per channel and bin, before and after the fit to the data "
        "(uncertainties propagated linearly with the full covariance), and the observed events.",
        f"model {yields.model}",
        variables,
    )


def budget_table(budget):
    """A model's systematics budget: each systematic's and sample normalisation's effect on the limits and Z_A.

    Args:
        budget: the model's `Sensitivity` artifact.

    Returns:
        A hepdata_lib Table: rows ordered by |d ln(expected limit) / d ln(scale)|, largest first
        (a quantity without a gradient is "-", its reason in the artifact's failures).
    """
    rows = [(r["modifier"], r) for r in budget.modifiers]
    rows += [(f"normalisation of {r['sample']}", r) for r in budget.samples]
    rows.sort(key=lambda item: -abs(item[1]["dln_expected_limit"] or 0.0))
    variables = [_variable("Systematic", [name for name, _ in rows], independent=True)]
    for column, name in (
        ("dln_expected_limit", f"d ln(expected limit on {budget.poi}) / d ln(scale)"),
        ("dln_observed_limit", f"d ln(observed limit on {budget.poi}) / d ln(scale)"),
        ("d_expected_z", "d Z_A / d ln(scale)"),
    ):
        variables.append(_variable(name, _finite([r[column] for _, r in rows]), independent=False))
    return _table(
        f"Systematics budget {budget.model}",
        f"How each systematic uncertainty of the model {budget.model} (its magnitude scaled by a common factor) "
        f"and each sample's normalisation move the {100 * budget.cl:g}% CL limits on {budget.poi} and the expected "
        "discovery significance Z_A: derivatives with respect to the log of the scale at the published "
        "specification, by implicit differentiation through the fits.",
        f"model {budget.model}",
        variables,
    )


def scan_table(limits):
    """A model's CLs scan: observed and expected CLs against the POI.

    Args:
        limits: the model's `Limits` artifact.

    Returns:
        A hepdata_lib Table.
    """
    curves = limits.curves
    mu = curves["mu"]
    variables = [_variable(limits.poi, _finite(mu), independent=True)]
    variables.append(_variable("Observed CLs", _finite(curves["observed"]), independent=False))
    labels = {2: "Expected CLs, -2 sigma", 1: "Expected CLs, -1 sigma", 0: "Expected CLs", -1: "Expected CLs, +1 sigma", -2: "Expected CLs, +2 sigma"}  # fmt: skip
    for sigma, values in zip(limits.band_sigma, curves["expected"]):
        variables.append(_variable(labels.get(sigma, f"Expected CLs {sigma}"), _finite(values), independent=False))
    return _table(
        f"CLs scan {limits.model}",
        f"CLs against {limits.poi} for the model {limits.model} (asymptotic, test statistic {limits.test_statistic}); "
        f"the {100 * limits.cl:g}% CL upper limit is where CLs = {1 - limits.cl:g}.",
        f"model {limits.model}",
        variables,
    )


def ranking_table(impacts, top: int):
    """A model's impact ranking: each nuisance parameter's shift of the POI, largest first.

    Args:
        impacts: the model's `Impacts` artifact (ranked).
        top: rows.

    Returns:
        A hepdata_lib Table.
    """
    frame = impacts.table.head(top)
    variables = [_variable("Nuisance parameter", list(frame["parameter"]), independent=True)]
    for column, name in (
        ("postfit_up", f"Post-fit impact on {impacts.poi}, +1 sigma"),
        ("postfit_down", f"Post-fit impact on {impacts.poi}, -1 sigma"),
        ("prefit_up", f"Pre-fit impact on {impacts.poi}, +1 sigma"),
        ("prefit_down", f"Pre-fit impact on {impacts.poi}, -1 sigma"),
        ("bestfit", "Post-fit value of the parameter"),
    ):
        variables.append(_variable(name, _finite(frame[column]), independent=False))
    return _table(
        f"Ranking {impacts.model}",
        f"The {len(frame)} nuisance parameters of the model {impacts.model} that move {impacts.poi} most: its shift "
        "with the parameter held at its best fit ± its post-fit (pre-fit) uncertainty, refitted.",
        f"model {impacts.model}",
        variables,
    )


def describe(tables: list, keywords: dict, descriptions: dict) -> None:
    """The config's keywords on every table and its descriptions in place of diffpipe's.

    Args:
        tables: hepdata_lib Tables (changed in place).
        keywords: {reactions, observables, phrases, cmenergies}: added to each table's own.
        descriptions: table name -> description.

    Raises:
        ValueError: a description names no table of the record.
    """
    names = {t.name for t in tables}
    unknown = sorted(set(descriptions) - names)
    if unknown:
        raise ValueError(f"config key 'hepdata.descriptions': no table named {unknown[0]!r}; tables: {sorted(names)}")
    for table in tables:
        for key, values in keywords.items():
            table.keywords[key] = [
                *table.keywords.get(key, []),
                *[v for v in values if v not in table.keywords.get(key, [])],
            ]
        if table.name in descriptions:
            table.description = descriptions[table.name]


def validate(directory: Path) -> None:
    """Check a written record with hepdata-validator.

    Args:
        directory: the folder with submission.yaml and the tables.

    Raises:
        ValueError: the record is not valid (the validator's messages).
    """
    from hepdata_validator.full_submission_validator import FullSubmissionValidator

    validator = FullSubmissionValidator()
    if not validator.validate(directory=str(directory)):
        messages = [
            f"{Path(name).name}: {message.message}"
            for name, found in validator.get_messages().items()
            for message in found
        ]
        raise ValueError("the HEPData record is not valid: " + "; ".join(messages))


def write_archive(record: Path, archive: Path) -> None:
    """The record's files as the archive HEPData takes for an upload, written atomically.

    Args:
        record: the validated record's folder (only its files are packed, at the archive's root,
            in name order, with fixed times: the same record gives the same bytes).
        archive: the .tar.gz to write.
    """
    import gzip
    import tarfile

    archive.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{archive.name}.", suffix=".partial", dir=archive.parent)
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:
            with tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for path in sorted(record.iterdir()):
                    info = tar.gettarinfo(str(path), arcname=path.name)
                    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                    with path.open("rb") as content:
                        tar.addfile(info, content)
        os.replace(partial, archive)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def build_record(inputs: dict, settings: dict, output: str, archive: str | None = None) -> list[str]:
    """Write a run's HEPData record, validated, into `output` (a folder, replaced whole).

    Args:
        inputs: the artifacts (`SignalGrid`, `SignalContours`, `Yields`, `Limits`, `Impacts`,
            `Sensitivity`) by kind: {"grids": [(grid, contours)], "yields": [...], "limits": [...],
            "impacts": [...], "sensitivity": [...] (optional)}.
        settings: {abstract, units, ranking_top, binning (optional: model -> its `binning`)}.
        output: the record's folder.
        archive: where to write the same files as the .tar.gz HEPData uploads (none: no archive).

    Returns:
        The tables' names.
    """
    from hepdata_lib import Submission

    submission = Submission()
    submission.comment = settings["abstract"] or "Results of a diffpipe run (https://snakemake.readthedocs.io)."
    tables = []
    for grid, contours in inputs["grids"]:
        tables += grid_tables(grid, contours, settings["units"])
    binning = settings.get("binning", {})
    tables += [yields_table(y, binning.get(y.model)) for y in inputs["yields"]]
    tables += [scan_table(lim) for lim in inputs["limits"]]
    tables += [ranking_table(imp, settings["ranking_top"]) for imp in inputs["impacts"]]
    tables += [budget_table(b) for b in inputs.get("sensitivity", [])]
    describe(tables, settings.get("keywords", {}), settings.get("descriptions", {}))
    for table in tables:
        submission.add_table(table)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".hepdata-", dir=out.parent)).resolve()
    here = os.getcwd()
    try:
        os.chdir(staging)  # hepdata_lib also writes a submission.tar.gz into the working folder: left out
        submission.create_files(str(staging / "record"), validate=False)
        os.chdir(here)
        validate(staging / "record")
        if archive is not None:
            write_archive(staging / "record", Path(archive))
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging / "record", out)
    finally:
        os.chdir(here)
        shutil.rmtree(staging, ignore_errors=True)
    return [t.name for t in tables]


def run_hepdata(job, inputs: dict, settings: dict, output: str, archive: str) -> None:
    """Rule `hepdata`: the run's HEPData record under results/hepdata/, and its upload archive.

    Args:
        job: the `runtime.Job`.
        inputs: artifact paths by kind: grids and contours (lists in the same order), yields,
            limits, impacts, sensitivity.
        settings: {abstract, units, ranking_top, binning}.
        output: the record's folder.
        archive: the record's files as a .tar.gz (Snakemake adds its own marker file to the
            folder; the archive holds the record alone).
    """
    import logging

    from diffpipe.artifacts import read_any
    from diffpipe.runtime import logged

    with logged(job):
        loaded = {
            "grids": [(read_any(g), read_any(c)) for g, c in zip(inputs["grids"], inputs["contours"])],
            **{kind: [read_any(p) for p in inputs[kind]] for kind in ("yields", "limits", "impacts", "sensitivity")},
        }
        names = build_record(loaded, settings, output, archive)
        logging.getLogger(__name__).info("HEPData record: %d tables, valid: %s", len(names), ", ".join(names))
