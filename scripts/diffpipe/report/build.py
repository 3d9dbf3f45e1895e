"""The self-contained HTML report: a section per stage, figures embedded, provenance last.

The page is rendered from `workflow/report/report.html.j2` with Jinja2 (autoescaped). This module
only reads the declared artifacts (through their containers) and computes what the page says:
pass/fail counts, which method gained from exact gradients, which errors disagree and why.
Nothing is written in by hand, and nothing under results/ is read unless it was declared.
"""

from pathlib import Path

import pandas as pd
import yaml

from diffpipe.artifacts import read_any
from diffpipe.report.benchmark import benchmark_context, benchmark_summary, runtimes_table
from diffpipe.report.design import design_context, design_summary
from diffpipe.report.gradients import gradients_context, gradients_summary
from diffpipe.report.html import embed, entries, group_inputs, table
from diffpipe.report.inference import inference_context, inference_summary
from diffpipe.report.likelihood import likelihood_context, likelihood_summary
from diffpipe.report.optimizers import optimizers_context, optimizers_summary
from diffpipe.report.toys import toys_context, toys_summary
from diffpipe.storage import write_text


def summary_context(
    gradients: dict | None,
    optimizers: list[dict],
    models: list[dict],
    fractals: list,
    benchmark,
    inference: dict | None = None,
    toys: list[dict] | None = None,
    designs: list[dict] | None = None,
) -> dict:
    """The report's opening summary: each stage's own rows and notes, in the page's order.

    Args:
        gradients: `gradients_context` (None: no gradient stage in this config).
        optimizers: `optimizers_context`.
        models: `likelihood_context`.
        fractals: the fractal artifacts (none: no fractal row).
        benchmark: `benchmark_context` (None when not run).
        inference: `inference_context` (None: not part of this build).
        toys: `toys_context` (None: not part of this build).
        designs: `design_context` (None: not part of this build).

    Returns:
        rows (stage, anchor, headline, status) and notes (anchor, status, text) for flags and failures.
    """
    sizes = ", ".join(f"{f.name} {f.width}×{f.height}×{f.iterations}" for f in fractals)
    parts = [
        gradients_summary(gradients),
        optimizers_summary(optimizers),
        likelihood_summary(models),
        inference_summary(inference or {}),
        toys_summary(toys or []),
        design_summary(designs or []),
        ([{"stage": "Fractals", "anchor": "fractals", "headline": sizes, "status": "pass"}] if fractals else [], []),
        benchmark_summary(benchmark),
    ]
    return {"rows": [r for rows, _ in parts for r in rows], "notes": [n for _, notes in parts for n in notes]}


def artifact_paths(inputs: dict) -> list[str]:
    """Every data artifact among the report's inputs (figures and benchmark files excluded).

    Args:
        inputs: the report's inputs, grouped (`html.group_inputs`).

    Returns:
        The artifact paths.
    """
    paths = []
    for name, value in inputs.items():
        if name == "runtimes":
            continue
        values = value.values() if isinstance(value, dict) else [value] if isinstance(value, str) else value
        paths += [path for path in values if Path(path).suffix in {".json", ".csv", ".npz"}]
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
        inputs: the report's declared inputs (`kind` or `kind/name` -> path; `runtimes` a list).
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
    inputs = group_inputs(inputs)
    loaded = {path: read_any(path) for path in artifact_paths(inputs)}  # each artifact read once
    load = loaded.__getitem__
    fractals = entries(inputs, "fractal_counts", "fractal_images")
    optional = {kind: load(inputs[kind]) if kind in inputs else None for kind in ("gradients", "controlflow")}
    gradients = gradients_context(optional["gradients"], optional["controlflow"], inputs.get("controlflow_figure"))
    problems = entries(inputs, "optimizer_runs", "optimizer_traces", "optimizer_convergence", "optimizer_ranking")
    optimizers = optimizers_context(
        [load(files[0]) for _, files in problems],
        [load(files[1]) for _, files in problems],
        {"convergence": [files[2] for _, files in problems], "ranking": [files[3] for _, files in problems]},
    )
    figure_kinds = ("grid", "profile", "pulls", "correlation")
    fits = entries(inputs, "fits", *(f"likelihood_{kind}" for kind in figure_kinds))
    models = likelihood_context(
        [load(files[0]) for _, files in fits],
        {kind: [files[1 + i] for _, files in fits] for i, kind in enumerate(figure_kinds)},
    )
    benchmark = benchmark_context(inputs, load)
    inference = inference_context(inputs, load, {m["name"]: m["poi"] for m in models})
    toys = toys_context(inputs, load)
    designs = design_context(inputs, load)
    counts = [load(files[0]) for _, files in fractals]
    context = {
        "summary": summary_context(gradients, optimizers, models, counts, benchmark, inference, toys, designs),
        "provenance": provenance_context(list(loaded.values()), list(inputs.get("runtimes", [])), config),
        "gradients": gradients,
        "optimizers": optimizers,
        "models": models,
        "inference": inference,
        "toys": toys,
        "designs": designs,
        "fractals": {
            "figure": embed(inputs["fractals_figure"], "side by side"),
            "images": [embed(files[1], name) for name, files in fractals],
        }
        if fractals
        else None,
        "benchmark": benchmark,
        "hepdata": str(Path(inputs["hepdata"]).relative_to("results")) if "hepdata" in inputs else None,
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
