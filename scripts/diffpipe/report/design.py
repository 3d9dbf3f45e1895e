"""The report's analysis design section: each trained design, its hard-cut checks and its figure."""

import pandas as pd

from diffpipe.report.html import embed, entries, table


def design_context(inputs: dict, load) -> list[dict]:
    """Per design: the trained cut and edges, pyhf's limits of the hard analyses, the checks.

    Args:
        inputs: the report's grouped inputs (designs, design_figures: each per entry name).
        load: path -> artifact.

    Returns:
        Template values per design.
    """
    out = []
    for _, (path, figure) in entries(inputs, "designs", "design_figures"):
        design = load(path)
        check = design.validation
        rows = None
        if check is not None:
            rows = pd.DataFrame(
                [
                    {
                        "analysis": name,
                        "cut": check[name]["cut"],
                        "pyhf expected limit": check[name]["pyhf_expected_limit"],
                        "compiled expected limit": check[name]["expected_limit"],
                    }
                    for name in ("start", "trained", "grid_best")
                ]
            )
        out.append(
            {
                "name": design.design,
                "design": design,
                "table": None if rows is None else table(rows, floatfmt="{:.4g}"),
                "figure": embed(figure, f"analysis design {design.design}"),
            }
        )
    return out


def design_summary(designs: list[dict]) -> tuple[list[dict], list[dict]]:
    """The design stage's summary rows and its notes (a check that failed, a part without a result).

    Args:
        designs: `design_context`.

    Returns:
        (rows, notes) as `build.summary_context` lists them.
    """
    rows, notes = [], []
    for d in designs:
        design, anchor = d["design"], f"design-{d['name']}"
        check = design.validation
        for what, why in design.failures.items():
            notes.append({"anchor": anchor, "status": "fail", "text": f"design {d['name']}: {what} failed: {why}"})
        if check is None:
            rows.append(
                {"stage": f"Analysis design: {d['name']}", "anchor": anchor, "headline": "no result", "status": "fail"}
            )
            continue
        passed = check["beats_start"] and check["within_grid"]
        rows.append(
            {
                "stage": f"Analysis design: {d['name']}",
                "anchor": anchor,
                "headline": f"expected limit (pyhf, hard cuts) {check['trained']['pyhf_expected_limit']:.3g} trained, "
                f"{check['start']['pyhf_expected_limit']:.3g} at the start, "
                f"{check['grid_best']['pyhf_expected_limit']:.3g} at the grid's best cut",
                "status": "pass" if passed else "flag",
            }
        )
        if not check["beats_start"]:
            notes.append(
                {
                    "anchor": anchor,
                    "status": "flag",
                    "text": f"design {d['name']}: the trained design does not beat its start",
                }
            )
        if not check["within_grid"]:
            notes.append(
                {
                    "anchor": anchor,
                    "status": "flag",
                    "text": f"design {d['name']}: the trained design is worse than the grid's best beyond the Monte Carlo error",
                }
            )
    return rows, notes
