"""The report's benchmark section and per-job runtimes."""

from pathlib import Path

import numpy as np
import pandas as pd

from diffpipe.report.html import embed, table


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


def benchmark_summary(benchmark: dict | None) -> tuple[list[dict], list[dict]]:
    """The benchmark's summary row (none when it did not run).

    Args:
        benchmark: `benchmark_context`, or None.

    Returns:
        (rows, notes) as `build.summary_context` lists them.
    """
    if benchmark is None:
        return [], []
    row = {
        "stage": "Benchmark",
        "anchor": "benchmark",
        "headline": f"{benchmark['met']} of {benchmark['targets']} timing targets met on {benchmark['cpu']['model']}",
        "status": "pass" if benchmark["met"] == benchmark["targets"] else "flag",
    }
    return [row], []
