"""The report's likelihood-fit section: the POI result, the error cross-checks and their flags."""

import numpy as np
import pandas as pd

from diffpipe.artifacts import FitResult
from diffpipe.report.html import embed, table

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
    """The POI's best fit with its 68% interval (the fit's `poi_interval`), as written in the report.

    Args:
        fit: the fit artifact.

    Returns:
        poi, value, plus (upper offset), minus (magnitude of the lower offset), method and
        text ("mu = 1.000 +1.05 −0.98 (MINOS)"); None when the model has no free POI.
    """
    interval = fit.poi_interval
    if interval is None:
        return None
    value, lower, upper, method = (interval[k] for k in ("value", "lower", "upper", "method"))
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
        E.g. "workspace resources/pyhf/x.json, measurement M, observed data; held: lumi = 1;
        pruned: channels SR".
    """
    data = definition.get("data", "asimov")
    asimov = definition.get("asimov_parameters") or {}
    data_text = (
        "observed data"
        if data == "observed"
        else "Asimov data"
        + (" at " + ", ".join(f"{k} = {v:g}" for k, v in asimov.items()) if asimov else " at the nominal parameters")
    )
    held = definition.get("fixed") or {}
    if held:
        data_text += "; held: " + ", ".join(f"{k} = {v:g}" for k, v in held.items())
    if "workspace" in definition:
        measurement = definition.get("measurement") or "the workspace's first measurement"
        prune = {k: v for k, v in (definition.get("prune") or {}).items() if v}
        if prune:
            data_text += "; pruned: " + "; ".join(f"{k.replace('_', ' ')} {', '.join(v)}" for k, v in prune.items())
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
            f"{'differs' if len(group['estimates']) == 1 else 'differ'} from the autodiff σ by {spread}: {group['reason']}"
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


def likelihood_summary(models: list[dict]) -> tuple[list[dict], list[dict]]:
    """The likelihood stage's summary rows (one per model) and its flags and failures.

    Args:
        models: `likelihood_context`.

    Returns:
        (rows, notes) as `build.summary_context` lists them.
    """
    rows, notes = [], []
    for m in models:
        headline = m["poi"]["text"] if m["poi"] else "no free POI"
        anchor = f"model-{m['name']}"
        rows.append(
            {
                "stage": f"Fit: {m['name']}",
                "anchor": anchor,
                "headline": f"{headline}; 2NLL = {m['fit'].twice_nll:.6g}",
                "status": m["status"],
            }
        )
        if m["status"] == "fail":
            notes.append({"anchor": anchor, "status": "fail", "text": f"{m['name']}: MIGRAD found no valid minimum"})
        notes += [{"anchor": anchor, "status": "flag", "text": f"{m['name']}: {line}"} for line in m["flags"]]
    return rows, notes
