"""Which jobs a config edit reaches: every key of the schema, at the level of the DAG.

Snakemake reruns a job whose params, inputs or outputs changed (then its consumers, through
their updated inputs). Building the DAG in-process for the base config and for one edited key
at a time, and comparing each job's params, inputs and outputs, shows exactly which jobs read
that key (~0.3 s per key, no run needed); tests/test_workflow.py checks on a finished run that
Snakemake then schedules those jobs and their consumers.
"""

import copy
import json
import shutil

import pytest
import yaml
from conftest import PLOT_RULES, ROOT, copy_project, parsed_workflow

from diffpipe.design.events import generate, write_npz

pytestmark = pytest.mark.workflow

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
COUNTING = {"simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]}, "data": "asimov"}

# The small experiment plus entries that reach every key: the benchmark on, a likelihood
# problem, a problem with `condition`, a patched workspace model, the second fractal as julia.
BASE_ADDITIONS = {
    "benchmark": {
        "enabled": True,
        "grid_model": "counting",
        "inference": {"grid": "example", "patch": "patch_channel1_signal_syst1", "models": {"counting": COUNTING}},
        "toys": {"models": {"counting": COUNTING}},
        "pipeline": {"configs": {"small": "config/experiments/small.yaml"}},
        "targets": {"toys": {"counting": {"min_speedup": 10.0, "max_cold_s": 60.0}}},
    },
    "optimizers": {
        "problems": {
            "counting_nll": {"likelihood_model": "counting", "starts": ["init"]},
            "quadratic": {"function": "ill_conditioned_quadratic", "condition": 100.0, "starts": [[1.0, 1.0]]},
        }
    },
    "likelihood": {
        "models": {
            "patched": {
                "workspace": "resources/pyhf/example_bkgonly.json",
                "patchset": "resources/pyhf/copy_example_patchset.json",
                "patch": "patch_channel1_signal_syst1",
                "measurement": "GaussExample",
                "data": "observed",
                "grid": {"x": "SigXsecOverSM", "y": "syst1", "x_range": [0.0, 2.0], "y_range": [-1.0, 1.0]},
            }
        }
    },
}

LIKELIHOOD_MODEL_READERS = {
    "fit",
    "grid_scan",
    "inference",
    "sensitivity",
    "toys",
    "toy_hypotest",
    "toy_limit_points",
    "benchmark",
}
# the toy-based limit's rounds: the plans (checkpoints) and the merge; the parts a plan names are
# not in the DAG before it runs (test_workflow.py checks a tighter target on a finished run)
LIMIT_STOPPING_READERS = {"toy_limit_plan", "toy_limit"}
PATCHED_READERS = {"fit", "grid_scan", "inference", "sensitivity"}
GRID_READERS = {"signal_grid_block", "signal_grid", "benchmark_inference"}
# the patches a grid selects: its table (the merge) and the benchmark; a block job reads only
# its own patches (here the same single one)
SELECTION_READERS = {"signal_grid", "benchmark_inference"}
DESIGN = "optimize_analysis.design"  # the small experiment's design
DELETE = object()  # an edit that removes a key
RESOURCE_ONLY = set()  # resources and threads are not rerun triggers (README, Reproducibility)

# schema key -> (the key edited, its new value, the rules whose jobs read it[, other keys the
# same edit must change to stay valid]). `*` is an entry name; the edited key names the entry.
# The report presents the whole config: it reads every key.
EDITS = {
    # the experiment's file holding the same config as config.yaml: nothing but the report
    "experiment": ("experiment", "edit_base", set()),
    "compute.gpu": ("compute.gpu", 1, RESOURCE_ONLY),
    "compute.gpu_overrides": ("compute.gpu_overrides", {"fractal": 1}, RESOURCE_ONLY),
    "compute.threads": ("compute.threads", 2, RESOURCE_ONLY),
    "compute.max_mem_mb": ("compute.max_mem_mb", 20000, RESOURCE_ONLY),
    "gradients.rtol": ("gradients.rtol", 1e-7, {"gradients"}),
    "gradients.fd_rtol": ("gradients.fd_rtol", 1e-5, {"gradients"}),
    "gradients.abs_floor": ("gradients.abs_floor", 0.5, {"gradients"}),
    "gradients.functions.*.function": ("gradients.functions.notebook_4d.function", "rosenbrock", {"gradients"}),
    "gradients.functions.*.points": ("gradients.functions.notebook_square.points", [[2.0]], {"gradients"}),
    "controlflow.interval": ("controlflow.interval", [-1.0, 4.0], {"controlflow"}),
    "controlflow.points": ("controlflow.points", 60, {"controlflow"}),
    "optimizers.methods": ("optimizers.methods", ["BFGS"], {"optimize"}),
    "optimizers.gradient_modes": ("optimizers.gradient_modes", ["jax"], {"optimize"}),
    "optimizers.native_methods": ("optimizers.native_methods", [], {"optimize"}),
    "optimizers.repeats": ("optimizers.repeats", 1, {"optimize"}),
    "optimizers.learning_rate": ("optimizers.learning_rate", 0.02, {"optimize"}),
    "optimizers.ftol_target": ("optimizers.ftol_target", 1e-7, {"optimize"}),
    "optimizers.gtol": ("optimizers.gtol", 1e-7, {"optimize"}),
    "optimizers.maxiter": ("optimizers.maxiter", 300, {"optimize"}),
    "optimizers.max_evaluations": ("optimizers.max_evaluations", 3000, {"optimize"}),
    "optimizers.problems.*.function": (
        "optimizers.problems.rosenbrock_2d.function",
        "sum_of_shifts_squared",
        {"optimize"},
    ),
    "optimizers.problems.*.likelihood_model": (
        "optimizers.problems.counting_nll.likelihood_model",
        "patched",
        {"optimize"},
    ),
    "optimizers.problems.*.condition": ("optimizers.problems.quadratic.condition", 1000.0, {"optimize"}),
    "optimizers.problems.*.fstar": ("optimizers.problems.rosenbrock_2d.fstar", 0.0, {"optimize"}),
    "optimizers.problems.*.gtol": ("optimizers.problems.rosenbrock_2d.gtol", 1e-6, {"optimize"}),
    "optimizers.problems.*.repeats": ("optimizers.problems.rosenbrock_2d.repeats", 1, {"optimize"}),
    "optimizers.problems.*.starts": ("optimizers.problems.rosenbrock_2d.starts", [[-1.0, 2.0]], {"optimize"}),
    "likelihood.flag_rtol": ("likelihood.flag_rtol", 0.02, {"fit"}),
    "likelihood.profile_points": ("likelihood.profile_points", 7, {"fit"}),
    "likelihood.profile_span_sigma": ("likelihood.profile_span_sigma", 2.0, {"fit"}),
    "likelihood.minos_max_parameters": ("likelihood.minos_max_parameters", 10, {"fit"}),
    "likelihood.models.*.simple.signal": ("likelihood.models.counting.simple.signal", [6.0], LIKELIHOOD_MODEL_READERS),
    "likelihood.models.*.simple.background": (
        "likelihood.models.counting.simple.background",
        [11.0],
        LIKELIHOOD_MODEL_READERS,
    ),
    "likelihood.models.*.simple.background_uncertainty": (
        "likelihood.models.counting.simple.background_uncertainty",
        [3.0],
        LIKELIHOOD_MODEL_READERS,
    ),
    "likelihood.models.*.workspace": (
        "likelihood.models.no_poi.workspace",
        "copy:workspace",
        {"fit", "grid_scan", "postfit"},
    ),
    "likelihood.models.*.patchset": (
        "likelihood.models.patched.patchset",
        "resources/pyhf/example_patchset.json",
        PATCHED_READERS,
    ),
    "likelihood.models.*.patch": ("likelihood.models.patched.patch", "patch_two", PATCHED_READERS),
    "likelihood.models.*.patch_file": ("likelihood.models.patched.patch_file", "copy:patch_file", PATCHED_READERS),
    "likelihood.models.*.poi": ("likelihood.models.counting.poi", "mu", LIKELIHOOD_MODEL_READERS),
    "likelihood.models.*.measurement": (
        "likelihood.models.no_poi.measurement",
        "GammaExample",
        {"fit", "grid_scan", "postfit"},
    ),
    "likelihood.models.*.data": ("likelihood.models.patched.data", "asimov", PATCHED_READERS),
    "likelihood.models.*.asimov_parameters": (
        "likelihood.models.counting.asimov_parameters",
        {"mu": 2.0},
        LIKELIHOOD_MODEL_READERS,
    ),
    "likelihood.models.*.bounds": ("likelihood.models.counting.bounds", {"mu": [-2.0, 10.0]}, LIKELIHOOD_MODEL_READERS),
    "likelihood.models.*.fixed": (
        "likelihood.models.counting.fixed",
        {"uncorr_bkguncrt": 1.1},
        LIKELIHOOD_MODEL_READERS,
    ),
    "likelihood.models.*.prune": ("likelihood.models.patched.prune", {"modifiers": ["syst3"]}, PATCHED_READERS),
    "likelihood.models.*.clip_sample_data": ("likelihood.models.patched.clip_sample_data", 0.0, PATCHED_READERS),
    "likelihood.models.*.clip_bin_data": ("likelihood.models.patched.clip_bin_data", 0.0, PATCHED_READERS),
    "likelihood.models.*.binning.*.observable": (
        "likelihood.models.counting.binning.singlechannel.observable",
        "E_T^miss [GeV]",
        {"plot_yields", "hepdata"},
    ),
    "likelihood.models.*.binning.*.edges": (
        "likelihood.models.counting.binning.singlechannel.edges",
        [100.0, 300.0],
        {"plot_yields", "hepdata"},
    ),
    "likelihood.models.*.grid.x": ("likelihood.models.patched.grid.x", "syst2", {"grid_scan"}),
    "likelihood.models.*.grid.y": ("likelihood.models.patched.grid.y", "syst3", {"grid_scan"}),
    "likelihood.models.*.grid.x_range": (
        "likelihood.models.counting.grid.x_range",
        [0.4, 1.6],
        {"grid_scan", "benchmark"},
    ),
    "likelihood.models.*.grid.y_range": (
        "likelihood.models.counting.grid.y_range",
        [0.4, 1.6],
        {"grid_scan", "benchmark"},
    ),
    "likelihood.models.*.grid.points": ("likelihood.models.counting.grid.points", 11, {"grid_scan", "benchmark"}),
    "likelihood.models.*.grid.arrows": ("likelihood.models.counting.grid.arrows", 3, {"grid_scan", "benchmark"}),
    "inference.cl": (
        "inference.cl",
        0.9,
        {"inference", "sensitivity", "signal_grid_block", "toy_hypotest", "optimize_analysis", *LIMIT_STOPPING_READERS},
    ),
    "inference.test_statistic": (
        "inference.test_statistic",
        "q",
        {"inference", "sensitivity", "signal_grid_block", "toy_hypotest", "toy_limit_points"},
    ),
    "inference.impact_groups": ("inference.impact_groups", {"syst": ["kind:normsys"]}, {"inference"}),
    "inference.curve_points": ("inference.curve_points", 7, {"inference"}),
    "inference.poi_bound_max": (
        "inference.poi_bound_max",
        500,
        {"inference", "sensitivity", "signal_grid_block"},
    ),
    "inference.gof_toys": ("inference.gof_toys", 10, {"inference", "postfit"}),
    "inference.ranking_top": ("inference.ranking_top", 7, {"plot_inference", "plot_sensitivity", "table", "hepdata"}),
    "hepdata": ("hepdata", False, {"hepdata"}),  # off: the record's job leaves the DAG
    "hepdata.<oneOf>.abstract": ("hepdata.abstract", "A search for diffpipe.", {"hepdata"}),
    "hepdata.<oneOf>.keywords.reactions": ("hepdata.keywords.reactions", ["P P --> X"], {"hepdata"}),
    "hepdata.<oneOf>.keywords.observables": ("hepdata.keywords.observables", ["SIG"], {"hepdata"}),
    "hepdata.<oneOf>.keywords.phrases": ("hepdata.keywords.phrases", ["Counting"], {"hepdata"}),
    "hepdata.<oneOf>.keywords.cmenergies": ("hepdata.keywords.cmenergies", [13000.0], {"hepdata"}),
    "hepdata.<oneOf>.descriptions": ("hepdata.descriptions", {"Yields counting": "The yields."}, {"hepdata"}),
    "units": ("units", {"x": "GeV"}, {"hepdata", "plot_signal_grid"}),
    "inference.sensitivity.enabled": (
        "inference.sensitivity.enabled",
        False,
        {"sensitivity", "plot_sensitivity", "hepdata"},  # the record holds the budget
    ),
    "inference.sensitivity.halve_top": ("inference.sensitivity.halve_top", 2, {"sensitivity"}),
    "inference.signal_grids.*.workspace": ("inference.signal_grids.example.workspace", "copy:workspace", GRID_READERS),
    "inference.signal_grids.*.patchset": ("inference.signal_grids.example.patchset", "copy:patchset", GRID_READERS),
    "inference.signal_grids.*.measurement": (
        "inference.signal_grids.example.measurement",
        "GammaExample",
        GRID_READERS,
    ),
    "inference.signal_grids.*.data": ("inference.signal_grids.example.data", "asimov", GRID_READERS),
    "inference.signal_grids.*.clip_sample_data": ("inference.signal_grids.example.clip_sample_data", 0.0, GRID_READERS),
    "inference.signal_grids.*.clip_bin_data": ("inference.signal_grids.example.clip_bin_data", 0.0, GRID_READERS),
    "inference.signal_grids.*.bounds": (
        "inference.signal_grids.example.bounds",
        {"SigXsecOverSM": [0.0, 20.0]},
        GRID_READERS,
    ),
    "inference.signal_grids.*.fixed": ("inference.signal_grids.example.fixed", {"syst2": 0.5}, GRID_READERS),
    "inference.signal_grids.*.prune": (
        "inference.signal_grids.example.prune",
        {"modifiers": ["syst3"]},
        GRID_READERS,
    ),
    "inference.signal_grids.*.patches": (
        "inference.signal_grids.example.patches",
        ["patch_channel1_signal_syst1"],
        SELECTION_READERS,
    ),
    "inference.signal_grids.*.patches.<oneOf>.values": (
        "inference.signal_grids.example.patches",
        {"values": [[0]]},
        SELECTION_READERS,
    ),
    "inference.signal_grids.*.patches_per_job": ("inference.signal_grids.example.patches_per_job", 1, {"signal_grid"}),
    "toys.*.n": ("toys.counting.n", 600, {"toys", "toy_coverage"}),
    "toys.*.shard_size": ("toys.counting.shard_size", 100, {"toys", "toy_coverage"}),
    "toys.*.seed": ("toys.counting.seed", 4, {"toys", "toy_hypotest"}),
    "toys.*.start": ("toys.counting.start", "auxdata", {"toys", "toy_hypotest"}),
    "toys.*.parameters": ("toys.counting.parameters", {"mu": 2.0}, {"toys"}),
    "toys.*.cls.mu": ("toys.counting.cls.mu", [1.0, 2.0], {"toy_hypotest"}),
    "toys.*.cls.n": ("toys.counting.cls.n", 100, {"toy_hypotest"}),
    "toys.*.limit.cls_accuracy": ("toys.counting.limit.cls_accuracy", 0.01, LIMIT_STOPPING_READERS),
    "toys.*.limit.min_toys": ("toys.counting.limit.min_toys", 400, LIMIT_STOPPING_READERS),
    "toys.*.limit.max_toys": ("toys.counting.limit.max_toys", 3000, LIMIT_STOPPING_READERS),
    "toys.*.limit.toys_per_round": ("toys.counting.limit.toys_per_round", 100, LIMIT_STOPPING_READERS),
    "toys.*.limit.points": ("toys.counting.limit.points", 5, {"toy_limit_points", "toy_limit"}),
    "optimize_analysis.*.events.generator.seed": (f"{DESIGN}.events.generator.seed", 5, {"optimize_analysis"}),
    "optimize_analysis.*.events.generator.events_per_sample": (
        f"{DESIGN}.events.generator.events_per_sample",
        500,
        {"optimize_analysis"},
    ),
    # the user's events replace the generator's
    "optimize_analysis.*.events.npz": (
        f"{DESIGN}.events.npz",
        "design_events.npz",
        {"optimize_analysis"},
        {f"{DESIGN}.events.generator": DELETE},
    ),
    "optimize_analysis.*.bins": (f"{DESIGN}.bins", 4, {"optimize_analysis"}),
    "optimize_analysis.*.range": (f"{DESIGN}.range", [0.0, 0.9], {"optimize_analysis"}),
    "optimize_analysis.*.bandwidth": (f"{DESIGN}.bandwidth", 0.05, {"optimize_analysis"}),
    "optimize_analysis.*.min_width": (f"{DESIGN}.min_width", 0.05, {"optimize_analysis"}),
    "optimize_analysis.*.start_cut": (f"{DESIGN}.start_cut", 0.3, {"optimize_analysis"}),
    "optimize_analysis.*.loss": (f"{DESIGN}.loss", "cls", {"optimize_analysis"}),
    "optimize_analysis.*.mu_test": (f"{DESIGN}.mu_test", 0.5, {"optimize_analysis"}),
    "optimize_analysis.*.mu_max": (f"{DESIGN}.mu_max", 20.0, {"optimize_analysis"}),
    "optimize_analysis.*.steps": (f"{DESIGN}.steps", 4, {"optimize_analysis"}),
    "optimize_analysis.*.learning_rate": (f"{DESIGN}.learning_rate", 0.02, {"optimize_analysis"}),
    "optimize_analysis.*.grid.cut": (f"{DESIGN}.grid.cut", [0.1, 0.7], {"optimize_analysis"}),
    "optimize_analysis.*.grid.points": (f"{DESIGN}.grid.points", 5, {"optimize_analysis"}),
    "optimize_analysis.*.bootstrap.replicas": (f"{DESIGN}.bootstrap.replicas", 5, {"optimize_analysis"}),
    "optimize_analysis.*.bootstrap.seed": (f"{DESIGN}.bootstrap.seed", 7, {"optimize_analysis"}),
    # a mandelbrot set takes no constant: the edit removes it too
    "fractals.*.kind": ("fractals.julia.kind", "mandelbrot", {"fractal"}, {"fractals.julia.c": DELETE}),
    "fractals.*.c": ("fractals.julia.c", [-0.8, 0.156], {"fractal"}),
    "fractals.*.viewport": ("fractals.julia.viewport", [-1.0, 1.0, -1.0, 1.0], {"fractal"}),
    "fractals.*.width": ("fractals.julia.width", 32, {"fractal"}),
    "fractals.*.height": ("fractals.julia.height", 32, {"fractal"}),
    "fractals.*.iterations": ("fractals.julia.iterations", 70, {"fractal"}),
    "fractals.*.threshold": ("fractals.julia.threshold", 3.0, {"fractal"}),
    "fractals.*.backend": ("fractals.julia.backend", "jax", {"fractal"}),
    "benchmark.enabled": (
        "benchmark.enabled",
        False,
        {"benchmark", "benchmark_inference", "benchmark_toys", "pipeline_timing", "plot_benchmark"},
    ),
    "benchmark.threads": ("benchmark.threads", 1, RESOURCE_ONLY),
    "benchmark.backends": ("benchmark.backends", ["numba"], {"benchmark"}),
    "benchmark.sizes": ("benchmark.sizes", [100], {"benchmark"}),
    "benchmark.iterations": ("benchmark.iterations", 100, {"benchmark"}),
    "benchmark.repeats": ("benchmark.repeats", 2, {"benchmark"}),
    "benchmark.grid_model": ("benchmark.grid_model", "no_poi", {"benchmark"}),
    "benchmark.grid_sizes": ("benchmark.grid_sizes", [11], {"benchmark"}),
    "benchmark.inference.models": ("benchmark.inference.models", {}, {"benchmark_inference"}),
    "benchmark.inference.gradient_models": (
        "benchmark.inference.gradient_models",
        {"counting": COUNTING},
        {"benchmark_inference"},
    ),
    "benchmark.inference.grid": ("benchmark.inference.grid", None, {"benchmark_inference"}),
    "benchmark.inference.patch": ("benchmark.inference.patch", None, {"benchmark_inference"}),
    "benchmark.inference.peer_timeout_s": (
        "benchmark.inference.peer_timeout_s",
        60.0,
        {"benchmark_inference", "benchmark_toys"},
    ),
    "benchmark.toys.models": ("benchmark.toys.models", {}, {"benchmark_toys"}),
    "benchmark.toys.n": ("benchmark.toys.n", 1000, {"benchmark_toys"}),
    "benchmark.toys.n_pyhf": ("benchmark.toys.n_pyhf", 10, {"benchmark_toys"}),
    "benchmark.pipeline.configs": (
        "benchmark.pipeline.configs",
        {"notebook": "config/experiments/notebook.yaml"},
        {"pipeline_timing"},
    ),
    "benchmark.pipeline.many_models": ("benchmark.pipeline.many_models", 3, {"pipeline_timing"}),
    "benchmark.pipeline.cores": ("benchmark.pipeline.cores", 1, {"pipeline_timing"}),
    "benchmark.pipeline.profile_jobs": ("benchmark.pipeline.profile_jobs", {}, {"pipeline_timing"}),
    "benchmark.targets.fractals": ("benchmark.targets.fractals", {"numba@500": 0.02}, {"benchmark"}),
    "benchmark.targets.gridscan": ("benchmark.targets.gridscan", {"101": 0.002}, {"benchmark"}),
    "benchmark.targets.pipeline": ("benchmark.targets.pipeline", {"clean_run_s": 30.0}, {"pipeline_timing"}),
    "benchmark.targets.pipeline_vs_notebook": (
        "benchmark.targets.pipeline_vs_notebook",
        {"small": 2.0},
        {"pipeline_timing"},
    ),
    "benchmark.targets.plot_job_s": ("benchmark.targets.plot_job_s", 3.0, {"pipeline_timing"}),
    "benchmark.targets.toys.*.min_speedup": ("benchmark.targets.toys.counting.min_speedup", 20.0, {"benchmark_toys"}),
    "benchmark.targets.toys.*.max_cold_s": ("benchmark.targets.toys.counting.max_cold_s", 30.0, {"benchmark_toys"}),
    # a fractal's own image is always a PNG (pixels); every other figure takes the format
    "figures.format": ("figures.format", "svg", PLOT_RULES - {"plot_fractal"}),
    "figures.dpi": ("figures.dpi", 60, PLOT_RULES),
    "figures.experiment": ("figures.experiment", "Open Data", {"plot_yields"}),
    "figures.luminosity_ifb": ("figures.luminosity_ifb", 139.0, {"plot_yields"}),
    "figures.energy_tev": ("figures.energy_tev", 13.0, {"plot_yields", "hepdata"}),  # the tables' cmenergies
    "figures.colormap": (
        "figures.colormap",
        "magma",
        {"plot_likelihood", "plot_signal_grid", "plot_fractal", "plot_fractals"},
    ),
    "figures.width": ("figures.width", 5.0, PLOT_RULES),
    "figures.height": ("figures.height", 4.0, PLOT_RULES),
}


def schema_keys(node: dict, path: tuple = ()) -> list[str]:
    """Every leaf key of the schema (`*` for an entry name, `<oneOf>` for an alternative's key)."""
    keys = []
    properties = node.get("properties") or {}
    entries = node.get("additionalProperties")
    entries = entries if isinstance(entries, dict) and entries.get("properties") else None
    for name, sub in properties.items():
        keys += schema_keys(sub, (*path, name))
    if entries:
        keys += schema_keys(entries, (*path, "*"))
    if not properties and not entries:
        keys.append(".".join(path))
    for alternative in node.get("oneOf", []):
        if isinstance(alternative, dict) and alternative.get("properties"):
            keys += schema_keys(alternative, (*path, "<oneOf>"))
    return keys


def merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def set_key(config: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    node = config
    for name in parents:
        node = node.setdefault(name, {})
    if value is DELETE:
        del node[last]
    else:
        node[last] = value


def get_key(config: dict, dotted: str):
    node = config
    for name in dotted.split("."):
        node = node[name]
    return node


def has_key(config: dict, dotted: str) -> bool:
    try:
        get_key(config, dotted)
    except (KeyError, TypeError):
        return False
    return True


@pytest.fixture(scope="module")
def dag_fingerprints(tmp_path_factory):
    """fingerprints(config) -> {(rule, wildcards): (params, inputs, outputs)} of every job."""
    work = copy_project(tmp_path_factory.mktemp("dag"))
    pyhf_files = work / "resources" / "pyhf"
    shutil.copy(pyhf_files / "example_bkgonly.json", pyhf_files / "copy_example_bkgonly.json")
    patchset = json.loads((pyhf_files / "example_patchset.json").read_text())
    second = {**copy.deepcopy(patchset["patches"][0]), "metadata": {"name": "patch_two", "values": [1]}}
    patchset["patches"].append(second)
    (pyhf_files / "copy_example_patchset.json").write_text(json.dumps(patchset))
    write_npz(generate(3, 50), work / "design_events.npz")
    # a plain JSON Patch (applied after the patchset's patch): the observed count of a bin
    patch_file = [{"op": "replace", "path": "/observations/0/data/0", "value": 55.0}]
    (pyhf_files / "copy_example_patch.json").write_text(json.dumps(patch_file))

    def fingerprints(config: dict, command_line: dict | None = None) -> dict:
        (work / "config" / "config.yaml").write_text(yaml.safe_dump(config))
        with parsed_workflow(work, config=command_line) as workflow:
            workflow._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
            workflow._build_dag()
            return {
                (job.rule.name, ", ".join(f"{k}={v}" for k, v in job.wildcards_dict.items())): (
                    repr(list(job.params)),
                    sorted(map(str, job.input)),
                    sorted(map(str, job.output)),
                )
                for job in workflow.dag.jobs
                if job.rule.name != "all"
            }

    small = yaml.safe_load((ROOT / "config" / "experiments" / "small.yaml").read_text())
    base = merge(small, BASE_ADDITIONS)
    (work / "config" / "experiments" / "edit_base.yaml").write_text(yaml.safe_dump(base))
    return base, fingerprints(base), fingerprints


def resolved(value):
    if isinstance(value, str) and value.startswith("copy:"):
        kind = {"copy:workspace": "bkgonly", "copy:patchset": "patchset", "copy:patch_file": "patch"}[value]
        return f"resources/pyhf/copy_example_{kind}.json"
    return value


def test_the_edit_table_covers_every_schema_key():
    keys = schema_keys(yaml.safe_load(SCHEMA.read_text()))
    assert sorted(set(keys) - set(EDITS)) == [] and sorted(set(EDITS) - set(keys)) == []


@pytest.mark.parametrize("key", list(EDITS))
def test_an_edit_reaches_exactly_the_jobs_that_read_it(dag_fingerprints, key):
    base, before, fingerprints = dag_fingerprints
    edited_key, value, readers, *also = EDITS[key]
    config = copy.deepcopy(base)
    if key == "experiment":
        after = fingerprints(config, {"experiment": value})
    else:
        assert not has_key(config, edited_key) or get_key(config, edited_key) != resolved(value)
        for dotted, new in {edited_key: value, **(also[0] if also else {})}.items():
            set_key(config, dotted, resolved(new))
        after = fingerprints(config)
    changed = {job for job in before.keys() | after.keys() if before.get(job) != after.get(job)}
    assert {rule for rule, _ in changed} == readers | {"report"}
    entry = edited_key.split(".")[key.split(".").index("*")] if "*" in key else None
    if entry:  # a per-entry key reaches only that entry's jobs (or jobs without wildcards)
        assert all(not wildcards or entry in wildcards for rule, wildcards in changed if rule not in PLOT_RULES)


def test_patches_added_to_a_split_grid_reach_only_the_new_blocks(dag_fingerprints):
    """patches_per_job: 1 on a two-patch patchset: adding the second patch to the selection adds
    its block and remakes the table; the first block's job (params, inputs) is unchanged, so a
    run after the edit computes only the new patch."""
    base, _, fingerprints = dag_fingerprints
    config = copy.deepcopy(base)
    grid = config["inference"]["signal_grids"]["example"]
    grid.update(patchset=resolved("copy:patchset"), patches_per_job=1, patches=["patch_channel1_signal_syst1"])
    before = fingerprints(config)
    grid["patches"] = ["patch_channel1_signal_syst1", "patch_two"]
    after = fingerprints(config)
    changed = {job for job in before.keys() | after.keys() if before.get(job) != after.get(job)}
    assert changed == {
        ("signal_grid_block", "signal_grid=example, block=1"),
        ("signal_grid", "signal_grid=example"),
        ("benchmark_inference", ""),  # it times the whole selection in one process
        ("report", ""),
    }, changed
    assert after[("signal_grid_block", "signal_grid=example, block=1")][0].count("patch_two") == 1
