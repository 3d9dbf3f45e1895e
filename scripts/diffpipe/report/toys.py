"""The report's pseudo-experiment section: coverage, pulls, toy-based CLs and the toy-based limit."""

import pandas as pd

from diffpipe.report.html import embed, entries, table
from diffpipe.teststat import BAND_LABELS


def toys_context(inputs: dict, load) -> list[dict]:
    """Per toy study: coverage of the POI's intervals, what it says, pulls and the figure.

    Args:
        inputs: the report's grouped inputs (coverage, coverage_figure, toy_cls, toy_cls_figure,
            toy_cls_limits, toy_limit, toy_limit_figure: each per entry name).
        load: path -> artifact.

    Returns:
        Template values per model.
    """
    toy_cls = {}
    for _, (path, figure, lim) in entries(inputs, "toy_cls", "toy_cls_figure", "toy_cls_limits"):
        toy, asym = load(path), load(lim)
        names = list(LIMIT_NAMES)
        toys_row = [toy.observed_limit, *toy.expected_limits]
        asym_row = [asym.observed, *asym.expected]
        frame = pd.DataFrame({"limit": names, "toys": toys_row, "asymptotic": asym_row})
        toy_cls[toy.model] = {
            "toy": toy,
            "table": table(frame, floatfmt="{:.4g}"),
            "figure": embed(figure, "toy-based CLs"),
        }
    toy_limit = {}
    for _, (path, figure) in entries(inputs, "toy_limit", "toy_limit_figure"):
        toy_limit_entry = limit_context(load(path))
        toy_limit_entry["figure"] = embed(figure, "toy-based limit")
        toy_limit[toy_limit_entry["limit"].model] = toy_limit_entry
    out = []
    for _, (path, figure) in entries(inputs, "coverage", "coverage_figure"):
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
                "limit": toy_limit.get(cov.model),
            }
        )
    return out


LIMIT_NAMES = ("observed", *BAND_LABELS)


def limit_context(toy) -> dict:
    """One toy-based limit: its limits with their MC errors, the accuracy reached, the failures.

    The table puts the asymptotic limits beside the toy-based ones.

    Args:
        toy: the `ToyLimit` artifact.

    Returns:
        limit (the artifact), table, lines (accuracy against the target; failures), status.
    """
    values = [toy.observed_limit, *toy.expected_limits]
    errors = [toy.observed_error, *toy.expected_errors]
    asymptotic = [toy.asymptotic["observed"], *toy.asymptotic["expected"]]
    frame = pd.DataFrame(
        {
            "limit": LIMIT_NAMES,
            "toys": ["failed" if v is None else f"{v:.4g} ± {e:.2g}" for v, e in zip(values, errors, strict=True)],
            "asymptotic": ["failed" if v is None else f"{v:.4g}" for v in asymptotic],
        }
    )
    target = toy.settings["cls_accuracy"]
    lines = []
    for label, reached in toy.accuracy.items():
        if reached["cls_error"] is None:
            lines.append(f"{label}: CLs does not cross {1 - toy.cl:.4g} on the points: no accuracy to reach")
            continue
        verdict = "meets" if reached["met"] else f"does not meet (max_toys {toy.settings['max_toys']} reached)"
        lines.append(f"{label}: σ(CLs) = {reached['cls_error']:.2g} at the crossing: {verdict} the target {target:g}")
    lines += [f"{curve}: no limit: {reason}" for curve, reason in toy.failures.items()]
    met = all(r["met"] for r in toy.accuracy.values()) and not toy.failures
    return {"limit": toy, "table": table(frame), "lines": lines, "status": "pass" if met else "flag"}


def toys_summary(toys: list[dict]) -> tuple[list[dict], list[dict]]:
    """The pseudo-experiment stage's summary rows, one per model.

    Args:
        toys: `toys_context`.

    Returns:
        (rows, notes) as `build.summary_context` lists them.
    """
    rows = []
    for t in toys:
        headline, status = list(t["lines"]), t["status"]
        if t["limit"]:
            toy = t["limit"]["limit"]
            shown = "failed" if toy.observed_limit is None else f"{toy.observed_limit:.4g} ± {toy.observed_error:.2g}"
            headline.append(f"toy-based observed limit {shown} ({toy.toys} toys)")
            status = "flag" if "flag" in (status, t["limit"]["status"]) else status
        rows.append(
            {
                "stage": f"Pseudo-experiments: {t['name']}",
                "anchor": f"toys-{t['name']}",
                "headline": "; ".join(headline),
                "status": status,
            }
        )
    return rows, []
