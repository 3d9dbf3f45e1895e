"""The report's pseudo-experiment section: coverage, pulls and toy-based CLs."""

import pandas as pd

from diffpipe.report.html import embed, entries, table


def toys_context(inputs: dict, load) -> list[dict]:
    """Per toy study: coverage of the POI's intervals, what it says, pulls and the figure.

    Args:
        inputs: the report's grouped inputs (coverage, coverage_figure, toy_cls, toy_cls_figure,
            toy_cls_limits: each per entry name).
        load: path -> artifact.

    Returns:
        Template values per model.
    """
    toy_cls = {}
    for _, (path, figure, lim) in entries(inputs, "toy_cls", "toy_cls_figure", "toy_cls_limits"):
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
            }
        )
    return out


def toys_summary(toys: list[dict]) -> tuple[list[dict], list[dict]]:
    """The pseudo-experiment stage's summary rows, one per model.

    Args:
        toys: `toys_context`.

    Returns:
        (rows, notes) as `build.summary_context` lists them.
    """
    rows = [
        {
            "stage": f"Pseudo-experiments: {t['name']}",
            "anchor": f"toys-{t['name']}",
            "headline": "; ".join(t["lines"]),
            "status": t["status"],
        }
        for t in toys
    ]
    return rows, []
