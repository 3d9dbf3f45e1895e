"""The real pipeline, run by Snakemake on the small config in a temporary copy of the project."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import PLOT_RULES, ROOT, SNAKEMAKE, numeric_digests, parsed_workflow, planned_jobs, snakemake

from diffpipe import artifacts

pytestmark = pytest.mark.workflow


def clone_run(run: Path, dest: Path) -> Path:
    """A copy of a finished run (results and Snakemake's metadata, mtimes kept) to edit freely."""
    shutil.copytree(run, dest, symlinks=True, dirs_exist_ok=True)
    return dest


def tree_state(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*") if p.is_file()
    }


def write_config(workdir: Path, name: str, mutate) -> str:
    cfg = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    mutate(cfg)
    path = workdir / "config" / name
    path.write_text(yaml.safe_dump(cfg))
    return str(path.relative_to(workdir))


def rules_of(jobs) -> set[str]:
    return {rule for rule, _ in jobs}


# --------------------------------------------------------------------------- the run itself
def test_pipeline_writes_every_artifact_and_the_report(pipeline_run, tmp_path):
    results = pipeline_run / "results"
    gradients = artifacts.GradientTable.read(results / "gradients" / "gradients.csv")
    assert gradients.table["passed"].all() and gradients.provenance.config_hash
    for name in ("mandelbrot", "julia"):
        fractal = artifacts.FractalCounts.read(results / "fractals" / name / "counts.npz")
        assert fractal.counts.shape == (48, 64) and np.issubdtype(fractal.counts.dtype, np.integer)
        assert (fractal.name, fractal.width, fractal.height, fractal.iterations) == (name, 64, 48, 60)
        assert (results / "fractals" / name / "image.png").stat().st_size > 0
    fit = artifacts.FitResult.read(results / "likelihood" / "counting" / "fit.json")
    assert fit.closed_form["mu"] == pytest.approx(fit.sigma_autodiff[0], rel=1e-8)
    assert fit.provenance.packages["pyhf"] and fit.provenance.code_version and fit.model == "counting"
    grid = artifacts.GridScan.read(results / "likelihood" / "counting" / "grid.npz")
    assert grid.lnl.shape == (21, 21) and grid.names == ["mu", "uncorr_bkguncrt[0]"]
    runs = artifacts.OptimizerRuns.read(results / "optimizers" / "rosenbrock_2d.csv")
    assert set(runs.table["method"]) == {"BFGS", "Newton-CG", "optimistix-BFGS"} and runs.problem["fstar"] == 0.0
    assert set(runs.table["repetition"]) == {0, 1} and (runs.table["compile_time_s"] > 0).any()
    traces = artifacts.OptimizerTraces.read(results / "optimizers" / "rosenbrock_2d_traces.json")
    assert {s["family"] for s in traces.summary} == {"scipy", "optimistix"}
    # No sidecars and no stray files: every artifact carries its own provenance.
    assert not list(results.rglob("*.provenance.json")) and not list(results.rglob(".*partial*"))
    page = (results / "report.html").read_text()
    sections = re.findall(r"<h2[^>]*>([^<]+)</h2>", page)
    assert sections == [
        "Summary",
        "Contents",
        "Gradients",
        "Optimizer comparison",
        "Likelihood fits",
        "Inference",
        "Pseudo-experiments",
        "Analysis design",
        "Fractals",
        "Benchmark",
        "Provenance",
    ]
    assert "Ranking by median time to reach the target" in page and "optimistix-BFGS" in page
    limits = artifacts.Limits.read(results / "inference" / "counting" / "limits.json")
    assert limits.failures == {} and 0 < limits.expected[0] < limits.expected[2] < limits.expected[4]
    assert artifacts.Impacts.read(results / "inference" / "counting" / "impacts.csv").table["parameter"].tolist() == [
        "uncorr_bkguncrt[0]"
    ]
    groups = artifacts.ImpactGroups.read(results / "inference" / "counting" / "impact_groups.csv")
    assert groups.table["group"].tolist() == ["total", "shapesys", "stat"] and groups.groups_source == "modifier types"
    assert "Grouped impacts" in page and "stat ⊕ groups" in page
    # A model without a POI gets fit, yields and goodness of fit, and says why it has no limit.
    assert not (results / "inference" / "no_poi" / "limits.json").exists()
    gof = artifacts.GoodnessOfFit.read(results / "inference" / "no_poi" / "gof.json")
    assert gof.origin["poi"] is None and gof.origin["poi_reason"] == "poi: null in the config"
    grid = artifacts.SignalGrid.read(results / "signal" / "example" / "limits.csv")
    assert grid.table["patch"].tolist() == ["patch_channel1_signal_syst1"] and grid.labels == ["x"]
    cov = artifacts.Coverage.read(results / "toys" / "counting" / "coverage.json")
    assert (cov.n_toys, cov.shards, cov.n_converged) == (400, 2, 400) and cov.hessian["n"] == 400
    toy_cls = artifacts.ToyHypotest.read(results / "toys" / "counting" / "cls.json")
    assert toy_cls.mu == [1.0, 2.0, 3.0, 4.0] and len(toy_cls.samples[0]["sb"]) == 200
    assert toy_cls.observed_limit == pytest.approx(limits.observed, rel=0.25)  # toys vs asymptotics
    budget = artifacts.Sensitivity.read(results / "inference" / "counting" / "sensitivity.json")
    assert [m["modifier"] for m in budget.modifiers] == ["uncorr_bkguncrt"] and len(budget.halving) == 1
    assert budget.limits["expected_median"] == pytest.approx(limits.expected[2], rel=1e-9)
    # the trained design's hard analysis beats its start and the grid's best, by pyhf's limits
    design = artifacts.AnalysisDesign.read(results / "design" / "design.json")
    check = design.validation
    assert design.failures == {} and check["beats_start"] and check["within_grid"]
    assert check["trained"]["pyhf_expected_limit"] < check["start"]["pyhf_expected_limit"]
    for name in ("start", "trained", "grid_best"):
        assert check[name]["pyhf_expected_limit"] == pytest.approx(check[name]["expected_limit"], rel=1e-3)
    assert len(design.history) == 9 and len(check["grid"]) == 4
    assert 'id="design-design"' in page
    assert 'id="toys-counting"' in page
    assert 'id="inference-counting"' in page and 'id="inference-no_poi"' in page and 'id="grid-example"' in page
    assert page.count("data:image/png;base64,") >= 15
    assert "Per-job runtime" in page and "jax" in page
    # the tables and the HEPData record, checked again here with hepdata-validator
    assert 'href="tables/counting_limits.md"' in page and 'href="hepdata/submission.yaml"' in page
    assert (results / "tables" / "counting_limits.tex").read_text().count("\\toprule") == 1
    import tarfile

    from hepdata_validator.full_submission_validator import FullSubmissionValidator

    record = tmp_path / "upload"  # the archive HEPData takes: the record's files, Snakemake's marker aside
    with tarfile.open(results / "hepdata.tar.gz") as archive:
        archive.extractall(record, filter="data")
    assert {p.name for p in record.iterdir()} == {p.name for p in (results / "hepdata").iterdir()} - {
        ".snakemake_timestamp"
    }
    assert FullSubmissionValidator().validate(directory=str(record))
    names = {d.get("name") for d in yaml.safe_load_all((record / "submission.yaml").read_text())}
    assert {"Limits example", "Yields counting", "Yields no_poi", "CLs scan counting", "Ranking counting"} <= names
    assert "Systematics budget counting" in names
    documents = {d["name"]: d for d in yaml.safe_load_all((record / "submission.yaml").read_text()) if "name" in d}
    counting = yaml.safe_load((record / documents["Yields counting"]["data_file"]).read_text())
    assert [v["value"] for v in counting["independent_variables"][0]["values"]] == ["singlechannel: m_T [GeV] 100-250"]
    for model in ("counting", "no_poi"):  # every model's pre- and post-fit figures
        assert all(
            (results / "figures" / "inference" / f"{model}_{stage}.png").is_file() for stage in ("prefit", "postfit")
        )
    logs = sorted((results / "logs").rglob("*.log"))
    assert len(logs) >= 25 and not [p.name for p in logs if "adding modifier" in p.read_text()]  # pyhf's chatter


def test_removing_a_model_or_fractal_removes_it_from_the_report(pipeline_run, tmp_path):
    """Entries removed from the config leave the report (only it is redone); their files stay, unread."""
    work = clone_run(pipeline_run, tmp_path / "w")
    page = (work / "results" / "report.html").read_text()
    assert 'id="model-no_poi"' in page and "julia" in page
    # Overlays merge into config.yaml and cannot remove entries: edit config.yaml itself.
    write_config(work, "config.yaml", lambda c: (c["fractals"].pop("julia"), c["likelihood"]["models"].pop("no_poi")))
    assert planned_jobs(work) == {("plot_fractals", ""), ("hepdata", ""), ("report", "")}
    snakemake(work)
    assert not (work / "results" / "hepdata" / "yields_no_poi.yaml").exists()  # the record is made again, whole
    page = (work / "results" / "report.html").read_text()
    assert 'id="model-no_poi"' not in page and "fit/no_poi" not in page
    assert (work / "results" / "likelihood" / "no_poi" / "fit.json").is_file()
    assert "julia" not in page and "fractal/julia" not in page
    assert 'id="model-counting"' in page and "mandelbrot" in page


def test_a_second_run_has_nothing_to_do(pipeline_run):
    assert planned_jobs(pipeline_run) == set()


def test_every_file_of_the_run_is_a_target_and_deleted_ones_come_back_with_a_plain_run(pipeline_run, tmp_path):
    """Every file the small run wrote under results/ (logs and job records aside) is an input of
    `all`, so a plain run rebuilds whichever is deleted; an artifact of each storage format
    (table, JSON, arrays) and two figures deleted for real come back with the same numbers."""
    work = clone_run(pipeline_run, tmp_path / "w")
    results = work / "results"
    written = {
        str(p.relative_to(work))
        for p in results.rglob("*")
        if p.is_file() and not {"logs", "benchmarks"} & set(p.relative_to(results).parts)
    }
    with parsed_workflow(work) as workflow:
        # not forced: the finished run's checkpoints (the toy-based limit's rounds) count as done,
        # so the jobs behind them are in the DAG too
        workflow._prepare_dag(forceall=False, ignore_incomplete=True, lock_warn_only=True)
        workflow._build_dag()
        targets = {str(f) for job in workflow.dag.jobs if job.rule.name == "all" for f in job.input}
        # the toy-based limit's points, parts and plans: inputs of its merge, a target
        merge = {str(f) for job in workflow.dag.jobs if job.rule.name == "toy_limit" for f in job.input}
    # a directory target's files (the HEPData record) are its own
    folders = tuple(f"{t}/" for t in targets if (work / t).is_dir())
    assert folders == ("results/hepdata/",)
    written = {f for f in written if not f.startswith(folders)}
    assert len(written) >= 45 and written - targets - merge == set()
    assert {f for f in written - targets if "/limit/" in f} == {f for f in merge if f.startswith("results/")}
    before = numeric_digests(results)
    deleted = [
        results / "gradients" / "controlflow.csv",
        results / "inference" / "no_poi" / "gof.json",
        results / "fractals" / "julia" / "counts.npz",
    ]
    deleted += [results / "figures" / "controlflow.png", results / "fractals" / "mandelbrot" / "image.png"]
    assert all(p.is_file() for p in deleted)
    for path in deleted:
        path.unlink()
    snakemake(work)
    assert all(p.is_file() for p in deleted)
    assert numeric_digests(results) == before
    assert planned_jobs(work) == set()


@pytest.mark.parametrize("damage", ["hand-edited", "truncated"])
def test_an_edited_or_truncated_artifact_is_refused_before_any_job_runs(pipeline_run, tmp_path, damage):
    work = clone_run(pipeline_run, tmp_path / "w")
    fit = work / "results" / "likelihood" / "counting" / "fit.json"
    text = fit.read_text()
    stored = json.loads(text)
    stored["bestfit"][0] += 0.25
    fit.write_text(json.dumps(stored) if damage == "hand-edited" else text[: len(text) // 2])
    before = tree_state(work / "results")
    result = snakemake(work, check=False)
    assert result.returncode != 0
    message = "results/likelihood/counting/fit.json: " + (
        "its content does not match its digest" if damage == "hand-edited" else "cannot be parsed"
    )
    assert message in result.stderr and "delete it and run snakemake again" in result.stderr
    after = tree_state(work / "results")
    assert {k: after.get(k) for k in before if not k.startswith("logs/")} == {
        k: v for k, v in before.items() if not k.startswith("logs/")
    }  # the fit's consumers kept their outputs
    fit.unlink()
    assert ("fit", "model=counting") in planned_jobs(work)


# --------------------------------------------------------------------------- exact reruns
EDITS = {
    "gradients": (lambda c: c["gradients"].update(rtol=1e-7), {("gradients", ""), ("report", "")}),
    "controlflow": (
        lambda c: c["controlflow"].update(points=60),
        {("controlflow", ""), ("plot_controlflow", ""), ("report", "")},
    ),
    "optimizer problem": (
        lambda c: c["optimizers"]["problems"]["rosenbrock_2d"].update(starts=[[-1.0, 2.0]]),
        {("optimize", "problem=rosenbrock_2d"), ("plot_optimizer", "problem=rosenbrock_2d"), ("report", "")},
    ),
    "likelihood grid": (
        lambda c: c["likelihood"]["models"]["counting"]["grid"].update(points=11),
        {("grid_scan", "model=counting"), ("plot_likelihood", "model=counting"), ("report", "")},
    ),
    "likelihood fit": (
        lambda c: c["likelihood"].update(profile_points=7),
        {
            *((rule, f"model={m}") for rule in ("fit", "grid_scan", "plot_likelihood") for m in ("counting", "no_poi")),
            ("report", ""),
        },
    ),
    "inference setting": (
        lambda c: c["inference"].update(cl=0.9),
        {
            ("inference", "model=counting"),
            ("plot_inference", "model=counting"),
            ("plot_yields", "model=counting"),
            ("sensitivity", "model=counting"),
            ("plot_sensitivity", "model=counting"),
            ("signal_grid_block", "signal_grid=example, block=0"),
            ("signal_grid", "signal_grid=example"),
            ("plot_signal_grid", "signal_grid=example"),
            ("toy_hypotest", "model=counting"),
            ("plot_toy_hypotest", "model=counting"),
            # the toy-based limit's points sit around the asymptotic limits: its rounds start
            # over (the parts behind the first round's plan are known once it has run)
            ("toy_limit_points", "model=counting"),
            ("toy_limit_plan", "model=counting, round=0"),
            ("toy_limit", "model=counting"),
            ("plot_toy_limit", "model=counting"),
            ("optimize_analysis", "design=design"),
            ("plot_optimize_analysis", "design=design"),
            # the tables of what the inference job rewrote
            *(("table", f"model=counting, table={kind}") for kind in ("yields", "limits", "ranking")),
            ("grid_table", "signal_grid=example"),
            ("hepdata", ""),
            ("report", ""),
        },
    ),
    "figure setting": (
        lambda c: c["inference"].update(ranking_top=3),
        {
            ("plot_inference", "model=counting"),
            ("plot_sensitivity", "model=counting"),
            ("table", "model=counting, table=ranking"),
            ("hepdata", ""),  # its ranking table holds the top rows too
            ("report", ""),
        },
    ),
    "one fractal": (
        lambda c: c["fractals"]["julia"].update(iterations=70),
        {("fractal", "fractal=julia"), ("plot_fractal", "fractal=julia"), ("plots_fractals_all", ""), ("report", "")},
    ),
}


@pytest.mark.parametrize("stage", list(EDITS))
def test_config_edit_reruns_exactly_the_affected_jobs(pipeline_run, stage):
    mutate, expected = EDITS[stage]
    expected = {("plot_fractals", "") if job == ("plots_fractals_all", "") else job for job in expected}
    config = write_config(pipeline_run, f"edit_{stage.replace(' ', '_')}.yaml", mutate)
    assert planned_jobs(pipeline_run, "--configfile", config) == expected


def test_figure_style_edit_redraws_without_recomputing(pipeline_run):
    config = write_config(pipeline_run, "edit_figures.yaml", lambda c: c["figures"].update(dpi=60, colormap="magma"))
    jobs = planned_jobs(pipeline_run, "--configfile", config)
    assert rules_of(jobs) == PLOT_RULES - {"plot_benchmark"} | {"report"}  # the benchmark is off here
    assert len([j for j in jobs if j[0] == "plot_fractal"]) == 2


def test_more_toys_schedule_only_the_new_shards(pipeline_run):
    config = write_config(pipeline_run, "edit_toys.yaml", lambda c: c["toys"]["counting"].update(n=600))
    assert planned_jobs(pipeline_run, "--configfile", config) == {
        ("toys", "model=counting, shard=2"),
        ("toy_coverage", "model=counting"),
        ("plot_toy_coverage", "model=counting"),
        ("report", ""),
    }


def test_a_tighter_toy_limit_target_adds_toys_and_keeps_every_part_made(pipeline_run, tmp_path):
    """Tightening `cls_accuracy` reruns the rounds' plans (cheap) and adds parts where the CLs
    error is still above the new target; every part already made stays as it is, and the result
    equals the same rounds run in one process (a part's toys do not depend on the jobs)."""
    from diffpipe.artifacts import ToyLimit, ToyLimitPart, ToyLimitPoints
    from diffpipe.toys.limit import next_parts, toy_limits
    from diffpipe.toys.limit_fits import LimitFits

    work = clone_run(pipeline_run, tmp_path / "w")
    limit_dir = work / "results" / "toys" / "counting" / "limit"
    before = {p.name: p.stat().st_mtime_ns for p in limit_dir.glob("point*.npz")}
    config = write_config(work, "tight.yaml", lambda c: c["toys"]["counting"]["limit"].update(cls_accuracy=0.02))
    planned = planned_jobs(work, "--configfile", config)
    assert {rule for rule, _ in planned} == {"toy_limit_plan", "toy_limit", "plot_toy_limit", "report"}, planned
    # the limit itself (its figure and the report are the plot tests'); the target before
    # --configfile, which takes every value after it
    target = "results/toys/counting/limit.json"
    snakemake(work, target, "--configfile", config)
    after = {p.name: p.stat().st_mtime_ns for p in limit_dir.glob("point*.npz")}
    assert before.items() < after.items()  # every part kept as it was, and new ones
    limit = ToyLimit.read(work / "results" / "toys" / "counting" / "limit.json")
    assert limit.settings["cls_accuracy"] == 0.02 and limit.accuracy["observed"]["met"]
    assert sum(limit.n) > len(before) * limit.settings["toys_per_round"]
    # the same rounds in one process
    points = vars(ToyLimitPoints.read(limit_dir / "points.json"))
    fits = LimitFits("counting", points["definition"], max(points["mu"]))
    settings = {k: v for k, v in limit.settings.items() if k != "points"}
    seed = ToyLimitPart.read(next(limit_dir.glob("point*.npz"))).seed
    parts = []
    while todo := next_parts(points, parts, settings, limit.cl):
        parts += [fits.part(seed, points, p["point"], p["part"], settings["toys_per_round"]) for p in todo]
    direct = toy_limits(points, parts, limit.cl, settings["cls_accuracy"])
    assert len(parts) == len(after) and direct["n"] == limit.n
    assert direct["observed_limit"] == pytest.approx(limit.observed_limit, rel=1e-12)
    assert direct["observed_error"] == pytest.approx(limit.observed_error, rel=1e-12)
    assert planned_jobs(work, target, "--configfile", config) == set()


def test_command_line_override_behaves_like_a_config_edit(pipeline_run):
    jobs = planned_jobs(pipeline_run, "--config", "controlflow={points: 60}")
    assert jobs == {("controlflow", ""), ("plot_controlflow", ""), ("report", "")}


def test_adding_entries_adds_only_their_jobs(pipeline_run):
    def add(c):
        c["fractals"]["tiny"] = {"kind": "mandelbrot", "width": 8, "height": 8, "iterations": 5}
        c["likelihood"]["models"]["second"] = dict(c["likelihood"]["models"]["counting"])
        c["optimizers"]["problems"]["quad"] = {"function": "sum_of_shifts_squared", "starts": [[2.0, 2.0, 2.0, 2.0]]}

    jobs = planned_jobs(pipeline_run, "--configfile", write_config(pipeline_run, "edit_add.yaml", add))
    assert jobs == {
        ("fractal", "fractal=tiny"),
        ("plot_fractal", "fractal=tiny"),
        ("plot_fractals", ""),
        ("fit", "model=second"),
        ("grid_scan", "model=second"),
        ("plot_likelihood", "model=second"),
        ("inference", "model=second"),
        ("plot_inference", "model=second"),
        ("plot_yields", "model=second"),
        ("sensitivity", "model=second"),
        ("plot_sensitivity", "model=second"),
        *(("table", f"model=second, table={kind}") for kind in ("yields", "limits", "ranking")),
        ("optimize", "problem=quad"),
        ("plot_optimizer", "problem=quad"),
        ("hepdata", ""),
        ("report", ""),
    }


def edit_and_plan(work: Path, relative: str) -> set[str]:
    """Append a comment to a code file; the rules a dry run then schedules."""
    path = work / relative
    path.write_text(path.read_text() + "\n# an edit\n")
    return rules_of(planned_jobs(work))


def test_editing_a_script_reruns_its_rules(pipeline_run, tmp_path):
    work = clone_run(pipeline_run, tmp_path / "w")
    assert edit_and_plan(work, "scripts/diffpipe/plots/fractals.py") == {"plot_fractal", "plot_fractals", "report"}
    assert edit_and_plan(work, "scripts/fit.py") == {
        "plot_fractal",
        "plot_fractals",
        "fit",
        "grid_scan",
        "plot_likelihood",
        "report",
    }


def test_editing_a_shared_helper_reruns_the_rules_that_import_it(pipeline_run, tmp_path):
    work = clone_run(pipeline_run, tmp_path / "w")
    # fit, grid_scan and the inference rules build models; optimize imports the model builder
    # for likelihood problems.
    assert edit_and_plan(work, "scripts/diffpipe/models.py") == {
        "fit",
        "grid_scan",
        "plot_likelihood",
        "inference",
        "postfit",
        "signal_grid_block",
        "signal_grid",
        "plot_inference",
        "sensitivity",
        "plot_sensitivity",
        "optimize_analysis",
        "plot_optimize_analysis",
        "plot_yields",
        "plot_signal_grid",
        "toys",
        "toy_coverage",
        "plot_toy_coverage",
        "toy_hypotest",
        "plot_toy_hypotest",
        "toy_limit_points",
        "toy_limit_plan",
        "toy_limit",
        "plot_toy_limit",
        "optimize",
        "plot_optimizer",
        "table",
        "grid_table",
        "hepdata",
        "report",
    }


def declared_code_inputs(workdir: Path) -> dict[str, set[str]]:
    """Rule -> package files among its inputs, from Snakemake's own file graph."""
    out = snakemake(workdir, "--filegraph").stdout
    declared: dict[str, set[str]] = {}
    for node in re.split(r"\n(?=\d+ \[)", out):
        rule = re.search(r'<font point-size="18">(\w+)</font>', node)
        if not rule:
            continue
        inputs = node.split("&#8618; input")[1].split("output")[0] if "&#8618; input" in node else ""
        files = re.findall(r'<font face="monospace">(scripts/diffpipe/[^<]+)</font>', inputs)
        declared.setdefault(rule.group(1), set()).update(files)
    return declared


def test_each_rule_declares_exactly_its_scripts_import_closure_as_code(pipeline_run):
    """With the edit tests above (an edited declared module reruns its rules), this proves that
    editing any package module reruns exactly the rules whose scripts import it."""
    from diffpipe.codedeps import import_closure

    scripts = pipeline_run / "scripts"
    declared = declared_code_inputs(pipeline_run)
    assert len(declared) >= 12
    modules = {str(p.relative_to(pipeline_run)) for p in (scripts / "diffpipe").rglob("*.py")}
    for rule, files in declared.items():
        if rule == "all":
            continue
        closure = {str(p.relative_to(pipeline_run)) for p in import_closure(scripts / f"{rule}.py", scripts)}
        assert files == closure, rule
    # Every module is used by some rule of the default DAG or by the benchmark's.
    benchmark_only = set()
    for rule in ("benchmark", "benchmark_inference", "benchmark_toys", "pipeline_timing", "plot_benchmark"):
        benchmark_only |= {str(p.relative_to(pipeline_run)) for p in import_closure(scripts / f"{rule}.py", scripts)}
    for timed in ("diffpipe/inference/timing.py", "diffpipe/toys/timing.py"):  # run by the benchmarks, not imported
        benchmark_only |= {str(p.relative_to(pipeline_run)) for p in import_closure(scripts / timed, scripts)}
        benchmark_only.add(f"scripts/{timed}")
    unused = modules - set().union(*declared.values()) - benchmark_only
    # used while the workflow is parsed
    parse_time = {*(f"configcheck/{p.name}" for p in (scripts / "diffpipe" / "configcheck").glob("*.py"))}
    parse_time |= {"codedeps.py", "resources.py"}
    parse_time |= {"cli.py", "experiment.py"}  # the diffpipe command: it writes experiments and runs Snakemake
    assert unused <= {f"scripts/diffpipe/{name}" for name in parse_time}, unused


# --------------------------------------------------------------------------- bad input, CLI
BAD_CLI = [
    (["--config", "fractals={mandelbrot: {kind: julia}}"], "fractals.mandelbrot.c"),
    (["--config", "controlflow={points: 0}"], "controlflow.points"),
    (["--config", "colour=red"], "<config root>"),
    (["--config", "figures={format: jpg}"], "figures.format"),
    (["--config", "compute={gpu: -2}"], "compute.gpu"),
    (["--config", "likelihood={models: {counting: {bounds: {nu: [0, 1]}}}}"], "likelihood.models.counting.bounds.nu"),
]


@pytest.mark.parametrize("args, key", BAD_CLI, ids=[k for _, k in BAD_CLI])
def test_bad_command_line_config_stops_before_any_job(pipeline_run, args, key):
    before = tree_state(pipeline_run / "results")
    result = snakemake(pipeline_run, *args, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"Invalid configuration: config key '{key}'" in output
    assert tree_state(pipeline_run / "results") == before


def test_bad_workspace_file_is_named(pipeline_run, tmp_path):
    broken = ROOT / "tests" / "data" / "broken_workspace.json"
    config = write_config(
        pipeline_run, "edit_ws.yaml", lambda c: c["likelihood"]["models"].update(ws={"workspace": str(broken)})
    )
    before = tree_state(pipeline_run / "results")
    result = snakemake(pipeline_run, "--configfile", config, check=False)
    assert result.returncode != 0 and "broken_workspace.json" in result.stdout + result.stderr
    assert tree_state(pipeline_run / "results") == before


# --------------------------------------------------------------------------- GPU fallback
def test_gpu_request_without_gpu_falls_back_to_cpu_with_a_warning(pipeline_run, tmp_path):
    work = clone_run(pipeline_run, tmp_path / "w")
    # Resources are no rerun trigger (same numbers, other device): force the jobs to run.
    snakemake(work, "--forcerun", "fractal", "--config", "compute={gpu_overrides: {fractal: 1}}")
    log = (work / "results" / "logs" / "fractal" / "julia.log").read_text()
    assert "resources.gpu=1" in log and "falling back to CPU" in log
    fractal = artifacts.FractalCounts.read(work / "results" / "fractals" / "julia" / "counts.npz")
    assert "falling back to CPU" in fractal.provenance.device_warning
    assert "falling back to CPU" in (work / "results" / "report.html").read_text()


GPU_CAPABLE = {
    "gradients",
    "controlflow",
    "fit",
    "grid_scan",
    "fractal",
    "inference",
    "sensitivity",
    "postfit",
    "signal_grid_block",
    "toys",
    "toy_hypotest",
    "optimize_analysis",
}


def gpu_per_rule(workdir: Path, *args: str) -> dict[str, set[int]]:
    out = snakemake(workdir, "-n", "--forceall", *args).stdout
    gpus: dict[str, set[int]] = {}
    for block in re.split(r"\n(?=rule \w+:)", out):
        rule = re.match(r"rule (\w+):", block.strip())
        gpu = re.search(r"^\s+resources: .*\bgpu=(\d+)", block, re.M)
        if rule and gpu and rule.group(1) != "all":
            gpus.setdefault(rule.group(1), set()).add(int(gpu.group(1)))
    return gpus


def test_one_switch_turns_gpus_on_for_every_gpu_capable_rule(pipeline_run):
    assert set().union(*gpu_per_rule(pipeline_run).values()) == {0}
    switched = gpu_per_rule(pipeline_run, "--config", "compute={gpu: 1}")
    assert {rule for rule, gpus in switched.items() if gpus == {1}} == GPU_CAPABLE
    assert all(gpus == {0} for rule, gpus in switched.items() if rule not in GPU_CAPABLE)
    override = gpu_per_rule(pipeline_run, "--config", "compute={gpu_overrides: {grid_scan: 2}}")
    assert {rule for rule, gpus in override.items() if gpus != {0}} == {"grid_scan"} and override["grid_scan"] == {2}


# --------------------------------------------------------------------------- determinism
def test_the_small_run_has_every_data_artifact_for_the_determinism_check(pipeline_run):
    """Two clean runs giving identical numbers is checked where the suite makes a second clean
    run anyway: the SLURM run against this one (tests/test_slurm.py,
    test_two_clean_runs_local_and_on_slurm_give_identical_numbers), by content hash."""
    assert len(numeric_digests(pipeline_run / "results")) == 35  # every data artifact of the small config


# --------------------------------------------------------------------------- interruption
def test_sigkill_mid_job_then_rerun_completes_cleanly(pipeline_run, tmp_path):
    work = clone_run(pipeline_run, tmp_path / "w")
    config = write_config(
        work,
        "big.yaml",
        lambda c: c["fractals"].update(big={"kind": "mandelbrot", "width": 1500, "height": 1500, "iterations": 1000}),
    )
    log = work / "results" / "logs" / "fractal" / "big.log"
    proc = subprocess.Popen(
        [SNAKEMAKE, "--cores", "2", "--configfile", config],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    while time.time() < deadline and not (log.is_file() and "rule fractal" in log.read_text()):
        time.sleep(0.05)
    assert log.is_file(), "the fractal job never started"
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    counts = work / "results" / "fractals" / "big" / "counts.npz"
    assert not counts.exists(), "the job was expected to be killed before finishing"
    # A writer killed mid-write leaves its temporary file (named after the dead process); the next
    # run of the default target removes it even with nothing to do, before any job.
    orphan = counts.with_name(f".counts.npz.partial-{socket.gethostname()}-{proc.pid}.npz")
    orphan.write_bytes(b"\0" * 4096)
    snakemake(work, "--unlock")
    result = snakemake(work)
    assert "Nothing to be done" in result.stdout + result.stderr
    assert not orphan.exists(), "the orphan of a killed writer survived a rerun of the default target"
    # As after any SIGKILL of Snakemake itself: release its lock, then rerun.
    snakemake(work, "--configfile", config)
    assert artifacts.FractalCounts.read(counts).counts.shape == (1500, 1500)
    assert not list((work / "results").rglob("*.partial*")), "a partial file survived"
    assert planned_jobs(work, "--configfile", config) == set()


# --------------------------------------------------------------------------- failures, resources
def test_optimizer_problem_with_a_user_function_runs_and_an_edit_of_its_code_reruns_it(pipeline_run, tmp_path):
    work = clone_run(pipeline_run, tmp_path / "w")
    # A user package in the project folder: the function's module imports a sibling module.
    (work / "user_pkg").mkdir()
    (work / "user_pkg" / "__init__.py").write_text("")
    (work / "user_pkg" / "shape.py").write_text("POWER = 4\n")
    (work / "user_pkg" / "bowl.py").write_text(
        "from user_pkg.shape import POWER\n\n\ndef cubic_bowl(x, xp):\n    return xp.sum(x**POWER / 4.0 + x**2)\n"
    )
    config = write_config(
        work,
        "user.yaml",
        lambda c: c["optimizers"]["problems"].update(
            user_bowl={"function": "user_pkg.bowl:cubic_bowl", "starts": [[1.0, -2.0]]}
        ),
    )
    snakemake(work, "--configfile", config)
    runs = artifacts.OptimizerRuns.read(work / "results" / "optimizers" / "user_bowl.csv")
    assert runs.problem["fstar"] is None and "f_best" in runs.problem["fstar_source"]
    assert runs.table["success"].any() and (runs.table["f_minus_fstar"] >= 0).all()
    report = (work / "results" / "report.html").read_text()
    assert "user_bowl" in report and "f - f_best" in report
    # The user's files are inputs of exactly the jobs that call them: the module and what it imports.
    jobs = {("optimize", "problem=user_bowl"), ("plot_optimizer", "problem=user_bowl"), ("report", "")}
    for name in ("bowl.py", "shape.py"):
        path = work / "user_pkg" / name
        path.write_text(path.read_text() + "# an edit\n")
        assert planned_jobs(work, "--configfile", config) == jobs, name


def test_a_problem_whose_every_run_fails_stops_the_run_with_the_reason_in_its_log(pipeline_run, tmp_path):
    """A budget of one evaluation fails every run: an error the config caused, not data."""
    work = clone_run(pipeline_run, tmp_path / "w")
    before = tree_state(work / "results")
    result = snakemake(work, "--config", "optimizers={max_evaluations: 1}", check=False)
    assert result.returncode != 0
    log = (work / "results" / "logs" / "optimize" / "rosenbrock_2d.log").read_text()
    assert "optimizers.problems.rosenbrock_2d: all 6 runs failed" in log and "max_evaluations" in log
    assert "Traceback" in log
    # The stale table of the old settings is gone (Snakemake removes a failed job's outputs); no other
    # stage's result changed, and the report was not rebuilt from a wrong result.
    assert not (work / "results" / "optimizers" / "rosenbrock_2d.csv").exists()
    after = tree_state(work / "results")
    kept = {k: v for k, v in before.items() if not k.startswith(("optimizers/", "logs/", "benchmarks/"))}
    assert {k: after.get(k) for k in kept} == kept


def test_resources_follow_the_work(pipeline_run):
    big = "fractals={big: {kind: mandelbrot, width: 20000, height: 20000, iterations: 1000000}}"
    out = snakemake(pipeline_run, "-n", "--forcerun", "fractal", "--config", big).stdout
    planned = {}
    for block in re.split(r"\n(?=rule \w+:)", out):
        rule = re.match(r"rule (\w+):", block.strip())
        wildcards = re.search(r"wildcards: fractal=(\w+)", block)
        resources = re.search(r"resources: (.*)", block)
        if rule and wildcards and resources:
            values = dict(kv.split("=", 1) for kv in resources.group(1).split(", "))
            planned[(rule.group(1), wildcards.group(1))] = (int(values["mem_mb"]), int(values["runtime"]))
    mem, runtime = planned[("fractal", "big")]
    assert mem >= 20000 * 20000 * 4 / 2**20 and runtime > 60 * 24  # int32 counts; days of work at 10^6 iterations
    plot_mem, _ = planned[("plot_fractal", "big")]
    assert plot_mem >= 20000 * 20000 * (4 + 8) / 2**20  # counts and their float64 shading
    small_mem, small_runtime = planned[("fractal", "julia")]
    assert small_mem < 2000 and small_runtime <= 10


# --------------------------------------------------------------------------- native report, lint
def test_snakemake_native_report_contains_every_figure(pipeline_run):
    snakemake(pipeline_run, "--report", "results/snakemake-report.zip")
    with zipfile.ZipFile(pipeline_run / "results" / "snakemake-report.zip") as archive:
        names = archive.namelist()
    results = pipeline_run / "results"
    figures = [p.name for p in [*(results / "figures").rglob("*.png"), *(results / "fractals").rglob("image.png")]]
    assert figures
    for name in figures:
        assert any(n.endswith(name) for n in names), f"{name} missing from the native report"
    assert len(figures) >= 8


def test_lint_and_format_are_clean():
    lint = subprocess.run([SNAKEMAKE, "--lint"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr
    snakefmt = str(Path(SNAKEMAKE).with_name("snakefmt"))
    fmt = subprocess.run([snakefmt, "--check", "workflow"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert fmt.returncode == 0, fmt.stderr
    ruff = str(Path(SNAKEMAKE).with_name("ruff"))
    for args in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run([ruff, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
