"""The self-contained HTML report: a section per stage, figures embedded, provenance last.

The page is rendered from `workflow/report/report.html.j2` with Jinja2 (autoescaped). This module
only reads the declared artifacts (through their containers) and computes what the page says:
pass/fail counts, which method gained from exact gradients, which errors disagree and why.
Nothing is written in by hand, and nothing under results/ is read unless it was declared.
"""

import base64
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from diffpipe.artifacts import (
    ControlFlowTable,
    FitResult,
    GradientTable,
    OptimizerRuns,
    read_any,
)
from diffpipe.storage import write_text

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


# --------------------------------------------------------------------------- gradients
def gradients_context(gradients: GradientTable, flow: ControlFlowTable, figure: str) -> dict:
    """The gradient section: pass counts, the table, control-flow agreement and figure.

    Args:
        gradients: the gradient table.
        flow: the control-flow table.
        figure: the control-flow figure.

    Returns:
        Template values.
    """
    grads = gradients.table
    ft = flow.table
    scale = np.maximum(1.0, np.abs(ft["df_analytic"]))
    diffs = {
        col: float(np.max(np.abs(ft[col] - ft["df_analytic"]) / scale))
        for col in ("df_jax_vmap", "df_jax_pointwise", "df_tensorflow")
    }
    return {
        "passed": int(grads["passed"].sum()),
        "total": len(grads),
        "table": table(grads, "passed"),
        "flow_points": len(ft),
        "flow_interval": flow.interval,
        "flow_threshold": flow.threshold,
        "flow_steps": flow.steps,
        "flow_diffs": diffs,
        "figure": embed(figure, "f and f' (jax.vmap of value_and_grad, analytic dotted)"),
    }


# --------------------------------------------------------------------------- optimizers
def optimizer_conclusion(table_: pd.DataFrame, name: str, note: str = "") -> dict:
    """Did the exact gradient reach the target in fewer evaluations than finite differences?

    Args:
        table_: the runs table (evals_to_target empty where never reached).
        name: the problem's name.
        note: the problem's note (e.g. no unique minimiser).

    Returns:
        text (the conclusion) and exceptions (the pairs where exact was not better, and why).
    """
    first = table_[(table_["family"] == "scipy") & (table_["repetition"] == 0)]  # repetitions take the same steps
    evals = first.assign(evals=pd.to_numeric(first["evals_to_target"], errors="coerce").astype(float))
    pivot = evals.pivot_table(
        index=["method", "start"], columns="gradient_mode", values="evals", aggfunc="first", dropna=False
    )
    if "none" not in pivot or "jax" not in pivot:
        return {"text": f"{name}: no finite-difference / exact-gradient pair was run.", "exceptions": []}
    pairs = evals.loc[evals["gradient_mode"].isin(["none", "jax"])].groupby(["method", "start"])
    better, count, exceptions = 0, 0, []
    for (method, start), group in pairs:
        modes = dict(zip(group["gradient_mode"], group["evals"]))
        if "none" not in modes or "jax" not in modes:
            continue
        count += 1
        fd, exact = modes["none"], modes["jax"]
        if not np.isnan(exact) and (np.isnan(fd) or exact < fd):
            better += 1
            continue
        if np.isnan(exact) and np.isnan(fd):
            why = "neither reached the target"
        elif np.isnan(exact):
            why = "the exact-gradient run did not reach the target"
        elif exact == fd == 1:
            why = "the start already is a minimum (f - f* = 0 at the first evaluation)"
        else:
            why = f"finite differences needed {int(fd)} evaluations, exact {int(exact)}"
        exceptions.append(f"{method} from {start}: {why}")
    text = (
        f"{name}: with the exact JAX gradient, {better} of {count} method/start pairs reached "
        "f - f* ≤ target in fewer evaluations of f than the same method with finite differences."
    )
    if note:
        text += f" Note: {note}."
    return {"text": text, "exceptions": exceptions, "better": better, "pairs": count}


OPTIMIZER_COLUMNS = [
    "family",
    "method",
    "gradient_mode",
    "start",
    "repetition",
    "success",
    "nit",
    "nfev",
    "njev",
    "nhev",
    "evals_to_target",
    "gradient_evals_to_target",
    "time_to_target_s",
    "reached_target",
    "f_minus_fstar",
    "distance_to_minimiser",
    "grad_norm",
    "wall_time_s",
    "compile_time_s",
    "message",
]


def spread(stats: dict | None, floatfmt: str = "{:.3g}") -> str:
    """A median with its 5-95% range as text.

    Args:
        stats: median, q05, q95 (None: no run reached the target).
        floatfmt: format of the numbers.

    Returns:
        "median [q05, q95]", the median alone when the range is a point, or "not reached".
    """
    if stats is None:
        return "not reached"
    median = floatfmt.format(stats["median"])
    if stats["q05"] == stats["q95"]:
        return median
    return f"{median} [{floatfmt.format(stats['q05'])}, {floatfmt.format(stats['q95'])}]"


def ranking_table(summary: list[dict]) -> Table:
    """The methods ranked by median time to the target, beside their rank by evaluations.

    Args:
        summary: `OptimizerTraces.summary`.

    Returns:
        One row per (method, gradient mode), fastest first; rows that never reached the
        target are marked failed.
    """
    columns = [
        "rank (time)",
        "rank (evaluations)",
        "family",
        "method",
        "gradient",
        "reached",
        "time to target [s]",
        "evaluations of f",
        "gradient evaluations",
        "wall time per run [s]",
    ]
    rows, status = [], []
    for s in sorted(summary, key=lambda s: (s["rank_time"] is None, s["rank_time"] or 0)):
        rows.append(
            [
                fmt(s["rank_time"]),
                fmt(s["rank_evaluations"]),
                s["family"],
                s["method"],
                s["gradient_mode"],
                f"{s['reached']} of {s['runs']}",
                spread(s["time_to_target_s"]),
                spread(s["evals_to_target"], "{:.0f}"),
                spread(s["gradient_evals_to_target"], "{:.0f}"),
                spread(s["wall_time_s"]),
            ]
        )
        status.append("pass" if s["reached"] else "fail")
    return Table(columns, rows, status)


def optimizers_context(runs: list[OptimizerRuns], traces: list, figures: dict[str, list[str]]) -> list[dict]:
    """One entry per problem: definition, conclusion, ranking, failures, figures, all runs.

    Args:
        runs: the problems' runs tables.
        traces: their `OptimizerTraces` (the ranking summary).
        figures: figure kind (convergence, ranking) -> one path per problem.

    Returns:
        Template values per problem.
    """
    captions = {
        "convergence": "best f - f* against evaluations of f, exact gradient evaluations and wall time "
        "(median and 5-95% band of the repetitions), farthest start",
        "ranking": "time and evaluations of f to reach the target, median and 5-95% range",
    }
    problems = []
    for k, (table_, trace) in enumerate(zip(runs, traces)):
        frame, problem = table_.table, table_.problem
        problems.append(
            {
                "name": problem["name"],
                "problem": problem,
                "conclusion": optimizer_conclusion(frame, problem["name"], problem.get("note", "")),
                "ranking": ranking_table(trace.summary),
                "fastest": next(
                    (f"{r['method']} ({r['gradient_mode']})" for r in trace.summary if r["rank_time"] == 1), "none"
                ),
                "failures": int((~frame["success"].astype(bool)).sum()),
                "runs": len(frame),
                "repeats": int(frame["repetition"].max()) + 1,
                "figures": [embed(paths[k], captions[kind]) for kind, paths in figures.items()],
                "table": table(frame[OPTIMIZER_COLUMNS], "reached_target"),
            }
        )
    return problems


# --------------------------------------------------------------------------- likelihood
# Cross-check table: column -> header. MINOS and profile columns are offsets from the best fit.
FIT_COLUMNS = {
    "parameter": "parameter",
    "bestfit": "best fit",
    "sigma_autodiff": "σ autodiff",
    "sigma_hesse": "σ HESSE",
    "minos_lower": "MINOS − (offset)",
    "minos_upper": "MINOS + (offset)",
    "profile_lower": "profile − (offset)",
    "profile_upper": "profile + (offset)",
    "max_rel_diff": "max rel. diff. from σ autodiff",
    "worst": "largest difference",
    "status": "status",
    "reason": "reason",
}


def poi_result(fit: FitResult) -> dict | None:
    """The POI's best fit with its 68% interval, as written in the report.

    MINOS where both ends are valid, else the profile-likelihood interval, else the symmetric
    autodiff-Hessian error.

    Args:
        fit: the fit artifact.

    Returns:
        poi, value, plus (upper offset), minus (magnitude of the lower offset), method and
        text ("mu = 1.000 +1.05 −0.98 (MINOS)"); None when the model has no free POI.
    """
    if fit.poi is None or fit.poi not in fit.parameters:
        return None
    row = next(r for r in fit.crosscheck if r["parameter"] == fit.poi)
    candidates = (
        ("MINOS", row["minos_lower"], row["minos_upper"]),
        ("profile likelihood", row["profile_lower"], row["profile_upper"]),
        ("Hessian (autodiff)", -row["sigma_autodiff"], row["sigma_autodiff"]),
    )
    method, lower, upper = next(c for c in candidates if c[1] is not None and c[2] is not None)
    value = row["bestfit"]
    # Two significant digits on the smaller error set the decimals of all three numbers.
    smaller = min(abs(lower), abs(upper))
    decimals = max(0, 1 - int(np.floor(np.log10(smaller)))) if smaller > 0 else 3
    text = f"{fit.poi} = {value:.{decimals}f} +{upper:.{decimals}f} −{abs(lower):.{decimals}f} ({method})"
    return {"poi": fit.poi, "value": value, "plus": upper, "minus": abs(lower), "method": method, "text": text}


def model_source(definition: dict) -> str:
    """Which model, measurement and data a fit used, in words.

    Args:
        definition: the model's config entry (`FitResult.definition`).

    Returns:
        E.g. "workspace resources/pyhf/x.json, measurement M, observed data".
    """
    data = definition.get("data", "asimov")
    asimov = definition.get("asimov_parameters") or {}
    data_text = (
        "observed data"
        if data == "observed"
        else "Asimov data"
        + (" at " + ", ".join(f"{k} = {v:g}" for k, v in asimov.items()) if asimov else " at the nominal parameters")
    )
    if "workspace" in definition:
        measurement = definition.get("measurement") or "the workspace's first measurement"
        return f"workspace {definition['workspace']}, measurement {measurement}, {data_text}"
    simple = definition["simple"]
    return (
        f"simple counting model (signal {simple['signal']}, background {simple['background']} "
        f"± {simple['background_uncertainty']}), {data_text}"
    )


def fit_status(fit: FitResult) -> str:
    """Whether a fit failed (MIGRAD found no valid minimum), is flagged (explained), or is ok.

    Args:
        fit: the fit artifact.

    Returns:
        "fail", "flag" or "pass".
    """
    if not fit.convergence["migrad"]["valid"]:
        return "fail"
    return "flag" if any(r["flagged"] for r in fit.crosscheck) else "pass"


def _percent(value: float) -> str:
    return f"{100 * value:.2g}%"


def flag_lines(fit: FitResult) -> list[str]:
    """A fit's flags as the report shows them, from the fit's `flag_groups`.

    One line per cause that is a property of the likelihood; one per parameter where a reader
    should look.

    Args:
        fit: the fit artifact.

    Returns:
        The lines.
    """
    rows = {r["parameter"]: r for r in fit.crosscheck}
    lines = []
    for group in fit.flag_groups:
        if group["attention"]:
            for name in group["parameters"]:
                row = rows[name]
                lines.append(
                    f"{name}: {row['worst']} differs by {_percent(row['max_rel_diff'])} from the autodiff σ: "
                    f"{group['reason']}"
                )
            continue
        low, high = group["rel_diff"]
        spread = _percent(low) if _percent(low) == _percent(high) else f"{_percent(low)}–{_percent(high)}"
        names = group["parameters"]
        which = f" ({', '.join(names)})" if len(names) <= 3 else ""
        lines.append(
            f"{len(names)} of {group['n_parameters']} parameters{which}: {', '.join(group['estimates'])} "
            f"differ from the autodiff σ by {spread}: {group['reason']}"
        )
    return lines


def likelihood_context(fits: list[FitResult], figures: dict[str, list[str]]) -> list[dict]:
    """One entry per model: POI result, source, status, closed form, flags, cross-checks, figures.

    Args:
        fits: the models' fit artifacts.
        figures: kind (grid, profile, pulls, correlation) -> the models' figures.

    Returns:
        Template values per model.
    """
    captions = {
        "grid": "lnL grid, contours, gradient field, best fit",
        "profile": "POI profile",
        "pulls": "pulls",
        "correlation": "correlations",
    }
    models = []
    for i, fit in enumerate(fits):
        rows = pd.DataFrame(fit.crosscheck)
        rows["status"] = ["flagged (explained)" if flagged else "ok" for flagged in rows["flagged"]]
        sigma = dict(zip(fit.parameters, fit.sigma_autodiff))
        closed = [
            {"parameter": k, "closed": v, "autodiff": sigma[k], "rel": abs(sigma[k] - v) / v}
            for k, v in (fit.closed_form or {}).items()
        ]
        crosschecks = table(rows[list(FIT_COLUMNS)].rename(columns=FIT_COLUMNS))
        crosschecks.status = ["flag" if r["flagged"] else "pass" for r in fit.crosscheck]
        models.append(
            {
                "name": fit.model,
                "fit": fit,
                "poi": poi_result(fit),
                "source": model_source(fit.definition),
                "status": fit_status(fit),
                "closed_form": closed,
                "flags": flag_lines(fit),
                "table": crosschecks,
                "figures": [embed(figures[kind][i], caption) for kind, caption in captions.items()],
            }
        )
    return models


def summary_context(
    gradients: dict,
    optimizers: list[dict],
    models: list[dict],
    fractals: list,
    benchmark,
    inference: dict | None = None,
    toys: list[dict] | None = None,
) -> dict:
    """The report's opening summary: each stage's headline number, and every flag and failure.

    Args:
        gradients: `gradients_context`.
        optimizers: `optimizers_context`.
        models: `likelihood_context`.
        fractals: the fractal artifacts.
        benchmark: `benchmark_context` (None when not run).
        inference: `inference_context` (None: not part of this build).
        toys: `toys_context` (None: not part of this build).

    Returns:
        rows (stage, anchor, headline, status) and notes (anchor, status, text) for flags and failures.
    """
    rows, notes = [], []
    grad_ok = gradients["passed"] == gradients["total"]
    rows.append(
        {
            "stage": "Gradients",
            "anchor": "gradients",
            "headline": f"{gradients['passed']} of {gradients['total']} gradient components agree; "
            f"control flow: largest difference {max(gradients['flow_diffs'].values()):.1e}",
            "status": "pass" if grad_ok else "fail",
        }
    )
    if not grad_ok:
        notes.append({"anchor": "gradients", "status": "fail", "text": "gradient components disagree beyond tolerance"})
    for p in optimizers:
        c = p["conclusion"]
        rows.append(
            {
                "stage": f"Optimizers: {p['name']}",
                "anchor": f"problem-{p['name']}",
                "headline": f"exact gradient needed fewer evaluations in {c.get('better', 0)} of "
                f"{c.get('pairs', 0)} pairs; fastest to the target: {p['fastest']}; "
                f"{p['failures']} of {p['runs']} runs did not report success",
                "status": "pass",
            }
        )
    for m in models:
        headline = m["poi"]["text"] if m["poi"] else "no free POI"
        rows.append(
            {
                "stage": f"Fit: {m['name']}",
                "anchor": f"model-{m['name']}",
                "headline": f"{headline}; 2NLL = {m['fit'].twice_nll:.6g}",
                "status": m["status"],
            }
        )
        if m["status"] == "fail":
            notes.append(
                {
                    "anchor": f"model-{m['name']}",
                    "status": "fail",
                    "text": f"{m['name']}: MIGRAD found no valid minimum",
                }
            )
        for line in m["flags"]:
            notes.append({"anchor": f"model-{m['name']}", "status": "flag", "text": f"{m['name']}: {line}"})
    for m in (inference or {}).get("models", []):
        if m["limits"] is None:
            continue
        lim = m["limits"]
        obs = "none" if lim.observed is None else f"{lim.observed:.3g}"
        rows.append(
            {
                "stage": f"Inference: {m['name']}",
                "anchor": f"inference-{m['name']}",
                "headline": f"{100 * lim.cl:g}% CL limit {lim.poi} < {obs} (expected {fmt(lim.expected[2], '{:.3g}') or 'none'}); "
                f"Z = {m['significance'].observed_z:.2f}; GoF p = {fmt(m['gof'].p_value, '{:.3g}') or 'n/a'}",
                "status": "flag" if lim.failures else "pass",
            }
        )
    for g in (inference or {}).get("grids", []):
        rows.append(
            {
                "stage": f"Signal grid: {g['name']}",
                "anchor": f"grid-{g['name']}",
                "headline": f"{g['excluded']} of {len(g['grid'].table)} hypotheses excluded at {100 * g['grid'].cl:g}% CL",
                "status": "pass",
            }
        )
    for t in toys or []:
        rows.append(
            {
                "stage": f"Pseudo-experiments: {t['name']}",
                "anchor": f"toys-{t['name']}",
                "headline": "; ".join(t["lines"]),
                "status": t["status"],
            }
        )
    sizes = ", ".join(f"{f.name} {f.width}×{f.height}×{f.iterations}" for f in fractals)
    rows.append({"stage": "Fractals", "anchor": "fractals", "headline": sizes, "status": "pass"})
    if benchmark is not None:
        rows.append(
            {
                "stage": "Benchmark",
                "anchor": "benchmark",
                "headline": f"{benchmark['met']} of {benchmark['targets']} timing targets met on {benchmark['cpu']['model']}",
                "status": "pass" if benchmark["met"] == benchmark["targets"] else "flag",
            }
        )
    return {"rows": rows, "notes": notes}


# --------------------------------------------------------------------------- inference
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


def inference_context(inputs: dict, load, fits: dict) -> dict:
    """Per model: limits, significance, goodness of fit, impacts and yields; per signal grid: limits.

    Args:
        inputs: the report's inputs (gof, yields, limits, significance, impacts, figures, grids).
        load: path -> artifact.
        fits: model name -> its `poi_result` (None without a POI).

    Returns:
        {"models": [...], "grids": [...]}.
    """
    by_model = {}
    for gof_path, yields_path, figure in zip(inputs["gof"], inputs["yields"], inputs["yields_figure"], strict=True):
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
            "figures": [embed(figure, "post-fit yields")],
            "limits": None,
        }
    keys = ("limits", "significance", "impacts", "cls_figure", "ranking_figure")
    for lim_path, sig_path, imp_path, cls_fig, rank_fig in zip(*(inputs[k] for k in keys), strict=True):
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
    grids = []
    for grid_path, figure in zip(inputs["signal_grids"], inputs["signal_figures"], strict=True):
        grid = load(grid_path)
        cols = ["patch", *grid.labels, "observed", "expected", "expected_p1", "expected_m1", "failure", "seconds"]
        excluded = int((grid.table["observed"] < 1).sum())
        grids.append(
            {
                "name": grid.grid,
                "grid": grid,
                "excluded": excluded,
                "table": table(grid.table[cols], floatfmt="{:.4g}"),
                "figure": embed(figure, f"signal grid {grid.grid}"),
                "seconds": float(grid.table["seconds"].sum()),
            }
        )
    return {"models": list(by_model.values()), "grids": grids}


# --------------------------------------------------------------------------- pseudo-experiments
def toys_context(inputs: dict, load) -> list[dict]:
    """Per toy study: coverage of the POI's intervals, what it says, pulls and the figure.

    Args:
        inputs: the report's inputs (coverage, coverage_figure, toy_cls, toy_cls_figure, toy_cls_limits).
        load: path -> artifact.

    Returns:
        Template values per model.
    """
    toy_cls = {}
    for path, figure, lim in zip(inputs["toy_cls"], inputs["toy_cls_figure"], inputs["toy_cls_limits"], strict=True):
        toy, asym = load(path), load(lim)
        names = ["observed", "expected −2σ", "expected −1σ", "expected", "expected +1σ", "expected +2σ"]
        toys_row = [toy.observed_limit, *toy.expected_limits]
        asym_row = [asym.observed, *asym.expected]
        frame = pd.DataFrame({"limit": names, "toys": toys_row, "asymptotic": asym_row})
        toy_cls[toy.model] = {
            "toy": toy,
            "table": table(frame, floatfmt="{:.4g}"),
            "figure": embed(figure, "toy-based CLs"),
        }
    out = []
    for path, figure in zip(inputs["coverage"], inputs["coverage_figure"], strict=True):
        cov = load(path)
        texts = {
            "covers": "covers as it should",
            "under-covers": "under-covers: the interval is too short",
            "over-covers": "over-covers: the interval is too long",
        }
        lines = [
            f"{label}: {100 * c['value']:.2f} ± {100 * c['error']:.2f}% of {c['n']} toys ({texts[c['verdict']]})"
            for label, c in (("Hessian interval μ̂ ± σ̂", cov.hessian), ("profile-likelihood 68% interval", cov.profile))
        ]
        pulls = pd.DataFrame(cov.pulls)[["parameter", "mean", "mean_error", "width", "width_error", "n"]]
        out.append(
            {
                "name": cov.model,
                "coverage": cov,
                "lines": lines,
                "truth": ", ".join(f"{n} = {v:g}" for n, v in zip(cov.parameters, cov.truth, strict=True)),
                "pulls": table(pulls, floatfmt="{:.4f}"),
                "figure": embed(figure, "coverage and pulls"),
                "status": "pass" if cov.hessian["verdict"] == cov.profile["verdict"] == "covers" else "flag",
                "cls": toy_cls.get(cov.model),
            }
        )
    return out


# --------------------------------------------------------------------------- benchmark
def benchmark_context(inputs: dict, load) -> dict | None:
    """Kernel and pipeline timings (None when the benchmark was not part of this build).

    Args:
        inputs: the report's inputs.
        load: path -> the artifact there (read once per build).

    Returns:
        Template values or None.
    """
    if "benchmark_fractals" not in inputs:
        return None
    fractals, grid = load(inputs["benchmark_fractals"]), load(inputs["benchmark_grid"])
    timing = load(inputs["pipeline_timing"])
    kernels = pd.concat([fractals.table, grid.table])
    toys = load(inputs["benchmark_toys"]).table
    targeted = pd.concat(
        [
            kernels.loc[kernels["target_s"].notna(), ["meets_target"]],
            toys.loc[toys["target_speedup"].notna() | toys["target_cold_s"].notna(), ["meets_target"]],
        ]
    )
    flags = [v for run in timing.runs + timing.jobs for k, v in run.items() if k.endswith("_met")]
    return {
        "met": int(targeted["meets_target"].astype(bool).sum()) + sum(flags),
        "targets": len(targeted) + len(flags),
        "cpu": fractals.cpu,
        "fractals": table(fractals.table),
        "grid": table(grid.table),
        "pipeline": table(pd.DataFrame(timing.runs)),
        "jobs": table(pd.DataFrame(timing.jobs)) if timing.jobs else None,
        "inference": table(load(inputs["benchmark_inference"]).table.drop(columns=["detail"]), floatfmt="{:.4g}"),
        "toys": table(toys, floatfmt="{:.4g}"),
        "figure": embed(inputs["benchmark_figure"], "benchmark"),
    }


# --------------------------------------------------------------------------- provenance
def runtimes_table(paths: list[str], root: str = "results/benchmarks") -> pd.DataFrame:
    """Per-job runtime and memory from Snakemake's benchmark files.

    Args:
        paths: the declared benchmark .tsv files (one per job of the current DAG).
        root: the folder the job names are relative to.

    Returns:
        Columns job, seconds, max_rss_mb.
    """
    rows = []
    for path in paths:
        bench = pd.read_csv(path, sep="\t")
        job = str(Path(path).relative_to(root).with_suffix("")) if Path(path).is_relative_to(root) else Path(path).stem
        rss = bench["max_rss"].iloc[0] if "max_rss" in bench else np.nan
        rows.append({"job": job, "seconds": float(bench["s"].iloc[0]), "max_rss_mb": rss})
    return pd.DataFrame(rows, columns=["job", "seconds", "max_rss_mb"])


def artifact_paths(inputs: dict) -> list[str]:
    """Every data artifact among the report's inputs (figures and benchmark files excluded).

    Args:
        inputs: the report's inputs (name -> path or list of paths).

    Returns:
        The artifact paths.
    """
    paths = []
    for name, value in inputs.items():
        if name == "runtimes":
            continue
        for path in [value] if isinstance(value, str) else list(value):
            if Path(path).suffix in {".json", ".csv", ".npz"}:
                paths.append(path)
    return paths


def provenance_context(artifacts: list, runtimes: list[str], config: dict) -> dict:
    """Devices, code versions, package versions, device warnings, runtimes and the config.

    Args:
        artifacts: every artifact the report shows (their provenance records).
        runtimes: the current DAG's Snakemake benchmark files.
        config: the run's config.

    Returns:
        Template values.
    """
    records = [a.provenance for a in artifacts if a.provenance is not None]
    packages = records[0].packages if records else {}
    runtime_table = runtimes_table(runtimes)
    return {
        "devices": sorted({r.device for r in records}),
        "code_versions": sorted({r.code_version for r in records}),
        "warnings": sorted({r.device_warning for r in records if r.device_warning}),
        "packages": table(pd.DataFrame(sorted(packages.items()), columns=["package", "version"])),
        "runtimes": table(runtime_table, floatfmt="{:.3f}"),
        "config": yaml.safe_dump(config, sort_keys=False),
    }


def build(inputs: dict, config: dict, template_path: str) -> str:
    """Render the whole page.

    Args:
        inputs: the report's declared inputs (name -> path or list of paths).
        config: the run's config.
        template_path: the Jinja2 template.

    Returns:
        The HTML text.
    """
    import jinja2

    path = Path(template_path)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(path.parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    loaded = {path: read_any(path) for path in artifact_paths(inputs)}  # each artifact read once
    load = loaded.__getitem__
    fractals = [load(p) for p in inputs["fractal_counts"]]
    gradients = gradients_context(load(inputs["gradients"]), load(inputs["controlflow"]), inputs["controlflow_figure"])
    optimizers = optimizers_context(
        [load(p) for p in inputs["optimizer_runs"]],
        [load(p) for p in inputs["optimizer_traces"]],
        {kind: list(inputs[f"optimizer_{kind}"]) for kind in ("convergence", "ranking")},
    )
    models = likelihood_context(
        [load(p) for p in inputs["fits"]],
        {
            "grid": list(inputs["likelihood_grid"]),
            "profile": list(inputs["likelihood_profile"]),
            "pulls": list(inputs["likelihood_pulls"]),
            "correlation": list(inputs["likelihood_correlation"]),
        },
    )
    benchmark = benchmark_context(inputs, load)
    inference = inference_context(inputs, load, {m["name"]: m["poi"] for m in models})
    toys = toys_context(inputs, load)
    context = {
        "summary": summary_context(gradients, optimizers, models, fractals, benchmark, inference, toys),
        "provenance": provenance_context(list(loaded.values()), list(inputs.get("runtimes", [])), config),
        "gradients": gradients,
        "optimizers": optimizers,
        "models": models,
        "inference": inference,
        "toys": toys,
        "fractals": {
            "figure": embed(inputs["fractals_figure"], "side by side"),
            "images": [embed(img, f.name) for f, img in zip(fractals, inputs["fractal_images"])],
        },
        "benchmark": benchmark,
    }
    return env.get_template(path.name).render(**context)


def run_report(job, inputs: dict, config: dict, output: str) -> None:
    """Rule `report`: render results/report.html from the declared inputs.

    Args:
        job: the `runtime.Job`.
        inputs: the rule's inputs (name -> path or list of paths; `template` the Jinja2 file).
        config: the run's config.
        output: the HTML file.
    """
    from diffpipe.runtime import logged

    with logged(job):
        write_text(output, build(inputs, config, inputs["template"]))
