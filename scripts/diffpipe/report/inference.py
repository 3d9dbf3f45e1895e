"""The report's inference section: limits, significance, impacts, yields and signal grids."""

from pathlib import Path

import pandas as pd

from diffpipe.report.html import embed, entries, fmt, table


def origin_text(origin: dict) -> str:
    """Which workspace, measurement, patch and data an inference used, in words.

    Args:
        origin: an inference artifact's `origin`.

    Returns:
        E.g. "resources/x.json, measurement M, patch p of resources/ps.json, observed data".
    """
    parts = [origin["source"]]
    if origin.get("measurement"):
        parts.append(f"measurement {origin['measurement']}")
    if origin.get("patch"):
        parts.append(f"patch {origin['patch']} of {origin['patchset']}")
    parts.append("observed data" if origin["data"] == "observed" else "Asimov data")
    return ", ".join(parts)


def groups_section(groups) -> dict:
    """The grouped impacts as the report shows them: a table and the quadrature check.

    Args:
        groups: the `ImpactGroups` artifact.

    Returns:
        {"artifact", "table", "sums"}: sums compares stat ⊕ groups with the total, both ways.
    """
    shown = groups.table[
        ["group", "n_parameters", "sigma", "sigma_covariance", "impact", "impact_covariance", "converged"]
    ].rename(
        columns={
            "n_parameters": "held",
            "sigma": "σ (refits)",
            "sigma_covariance": "σ (covariance)",
            "impact": "impact (refits)",
            "impact_covariance": "impact (covariance)",
        }
    )
    total = groups.table["sigma_covariance"].iloc[0]
    sums = (
        f"stat ⊕ groups = {fmt(groups.quadrature_sum, '{:.4g}') or 'n/a'} (refits) and "
        f"{fmt(groups.quadrature_sum_covariance, '{:.4g}') or 'n/a'} (covariance) against the total "
        f"{fmt(groups.sigma_total, '{:.4g}') or 'n/a'} (refits) and {total:.4g} (covariance): the groups' "
        "correlations (and any overlap) keep the parts from adding up exactly"
    )
    return {"artifact": groups, "table": table(shown, floatfmt="{:.4g}"), "sums": sums}


def inference_context(inputs: dict, load, fits: dict) -> dict:
    """Per model: limits, significance, goodness of fit, impacts and yields; per signal grid: limits.

    Args:
        inputs: the report's grouped inputs (gof, yields, limits, significance, impacts, figures,
            grids: each per entry name).
        load: path -> artifact.
        fits: model name -> its `poi_result` (None without a POI).

    Returns:
        {"models": [...], "grids": [...]}.
    """
    by_model = {}
    for _, (gof_path, yields_path, prefit, postfit) in entries(
        inputs, "gof", "yields", "prefit_figure", "postfit_figure"
    ):
        gof, ylds = load(gof_path), load(yields_path)
        totals = ylds.table[(ylds.table["scope"] == "channel") & (ylds.table["sample"] == "total")]
        frame = totals.pivot(index="channel", columns="stage", values=["yield", "stdev", "data"])
        rows = pd.DataFrame(
            {
                "channel": frame.index,
                "data": frame[("data", "postfit")].to_numpy(),
                "pre-fit": [
                    f"{y:.4g} ± {e:.2g}"
                    for y, e in zip(frame[("yield", "prefit")], frame[("stdev", "prefit")], strict=True)
                ],
                "post-fit": [
                    f"{y:.4g} ± {e:.2g}"
                    for y, e in zip(frame[("yield", "postfit")], frame[("stdev", "postfit")], strict=True)
                ],
            }
        )
        by_model[gof.model] = {
            "name": gof.model,
            "origin": origin_text(gof.origin),
            "poi_reason": gof.origin["poi_reason"],
            "poi_text": (fits.get(gof.model) or {}).get("text"),
            "gof": gof,
            "yields": table(rows),
            "figures": [embed(prefit, "pre-fit yields"), embed(postfit, "post-fit yields")],
            "limits": None,
            "groups": None,
            "budget": None,
        }
    keys = ("limits", "significance", "impacts", "cls_figure", "ranking_figure")
    for _, (lim_path, sig_path, imp_path, cls_fig, rank_fig) in entries(inputs, *keys):
        limits, sig, imp = load(lim_path), load(sig_path), load(imp_path)
        entry = by_model[limits.model]
        top = imp.table.head(10)[
            ["parameter", "postfit_up", "postfit_down", "linear_postfit", "prefit_up", "prefit_down"]
        ]
        entry.update(
            {
                "limits": limits,
                "band": {
                    key: fmt(value, "{:.4g}") or "none"
                    for key, value in zip(["m2", "m1", "median", "p1", "p2"], limits.expected, strict=True)
                },
                "significance": sig,
                "impacts": table(top, floatfmt="{:.3g}"),
                "n_impacts": len(imp.table),
                "figures": [
                    embed(cls_fig, "CLs and Brazil band"),
                    embed(rank_fig, "impact ranking"),
                    *entry["figures"],
                ],
            }
        )
    for _, (groups_path, groups_fig) in entries(inputs, "impact_groups", "groups_figure"):
        groups = load(groups_path)
        by_model[groups.model]["groups"] = groups_section(groups)
        by_model[groups.model]["figures"].insert(2, embed(groups_fig, "grouped impacts"))
    for _, (budget_path, budget_fig) in entries(inputs, "sensitivity", "budget_figure"):
        budget = load(budget_path)
        by_model[budget.model]["budget"] = budget_section(budget)
        by_model[budget.model]["figures"].append(embed(budget_fig, "systematics budget"))
    for name, model in by_model.items():
        model["tables"] = table_links(inputs, name, ("yields", "limits", "ranking"))
    grids = []
    for _, (grid_path, figure, contours_path) in entries(inputs, "signal_grids", "signal_figures", "signal_contours"):
        grid = load(grid_path)
        contours = load(contours_path)
        drawn = contours.table.groupby("curve")["segment"].nunique().to_dict() if len(contours.table) else {}
        cols = ["patch", *grid.labels, "observed", "expected", "expected_p1", "expected_m1", "failure", "seconds"]
        grids.append(
            {
                "name": grid.grid,
                "grid": grid,
                "excluded": grid.n_excluded,
                "table": table(grid.table[cols], floatfmt="{:.4g}"),
                "figure": embed(figure, f"signal grid {grid.grid}"),
                "seconds": float(grid.table["seconds"].sum()),
                "contours": ", ".join(f"{curve} {n}" for curve, n in drawn.items()) or "none",
                "contours_missing": contours.curves_without_contour,
                "tables": table_links(inputs, grid.grid, ("grid",)),
            }
        )
    return {"models": list(by_model.values()), "grids": grids}


def table_links(inputs: dict, name: str, kinds: tuple[str, ...]) -> list[dict]:
    """The tables of one model or grid, as links relative to the report (results/).

    Args:
        inputs: the report's grouped inputs (`table_<kind>_<md|tex>` per entry name).
        name: the model's or grid's name.
        kinds: the table kinds to look for.

    Returns:
        [{"kind", "md", "tex"}] for each kind present.
    """
    links = []
    for kind in kinds:
        files = {ext: inputs.get(f"table_{kind}_{ext}", {}).get(name) for ext in ("md", "tex")}
        if all(files.values()):
            relative = {ext: str(Path(path).relative_to("results")) for ext, path in files.items()}
            links.append({"kind": "limits" if kind == "grid" else kind, **relative})
    return links


def budget_section(budget) -> dict:
    """What the report shows of a sensitivity artifact: the top systematics and the halving checks.

    Args:
        budget: the model's `Sensitivity` artifact.

    Returns:
        {"artifact", "top" (table), "halving" (table), "samples" (table)}.
    """
    rows = [r for r in budget.modifiers if r["dln_expected_limit"] is not None]
    top = pd.DataFrame(sorted(rows, key=lambda r: -abs(r["dln_expected_limit"]))[:10])
    halving = pd.DataFrame(budget.halving)
    return {
        "artifact": budget,
        "top": table(top, floatfmt="{:.3g}") if len(top) else None,
        "halving": table(halving, floatfmt="{:.4g}") if len(halving) else None,
        "samples": table(pd.DataFrame(budget.samples), floatfmt="{:.3g}") if budget.samples else None,
    }


def inference_summary(inference: dict) -> tuple[list[dict], list[dict]]:
    """The inference stage's summary rows: each model's limit, significance and GoF, each grid.

    Args:
        inference: `inference_context` (empty when not part of this build).

    Returns:
        (rows, notes) as `build.summary_context` lists them.
    """
    rows = []
    for m in inference.get("models", []):
        if m["limits"] is None:
            continue
        lim = m["limits"]
        obs = "none" if lim.observed is None else f"{lim.observed:.3g}"
        rows.append(
            {
                "stage": f"Inference: {m['name']}",
                "anchor": f"inference-{m['name']}",
                "headline": f"{100 * lim.cl:g}% CL limit {lim.poi} < {obs} "
                f"(expected {fmt(lim.expected[2], '{:.3g}') or 'none'}); "
                f"Z = {m['significance'].observed_z:.2f}; GoF p = {fmt(m['gof'].p_value, '{:.3g}') or 'n/a'}",
                "status": "flag" if lim.failures else "pass",
            }
        )
    for g in inference.get("grids", []):
        rows.append(
            {
                "stage": f"Signal grid: {g['name']}",
                "anchor": f"grid-{g['name']}",
                "headline": f"{g['excluded']} of {len(g['grid'].table)} hypotheses excluded at {100 * g['grid'].cl:g}% CL",
                "status": "pass",
            }
        )
    return rows, []
