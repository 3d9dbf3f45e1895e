"""The report's optimizer section: per problem, what exact gradients gained and the ranking."""

import numpy as np
import pandas as pd

from diffpipe.artifacts import OptimizerRuns
from diffpipe.report.html import Table, embed, fmt, table


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


def optimizers_summary(problems: list[dict]) -> tuple[list[dict], list[dict]]:
    """The optimizer stage's summary rows, one per problem.

    Args:
        problems: `optimizers_context`.

    Returns:
        (rows, notes) as `build.summary_context` lists them.
    """
    rows = []
    for p in problems:
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
    return rows, []
