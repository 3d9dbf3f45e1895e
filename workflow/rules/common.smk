# Configuration checks (before any job runs) and helpers shared by the rule files.
import functools
import os
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError

# The package folder (put on sys.path by rules/configfile.smk, included first).
SCRIPTS = Path(workflow.basedir).parent / "scripts"

from diffpipe.codedeps import (
    import_closure,
    use_import_cache,
    user_code_files,
)  # noqa: E402
from diffpipe.configcheck import ConfigError, check_config  # noqa: E402
from diffpipe.artifacts import ArtifactError, ToyLimitPlan, check_results  # noqa: E402
from diffpipe.storage import sweep_partials  # noqa: E402
from diffpipe.workspaces import (
    count_parameters,
    entry_files,
    model_poi,
    read_json,
    select_patches,
)  # noqa: E402
from diffpipe.resources import (
    design_job,
    fractal_job,
    grid_scan_job,
    toy_runtime,
    plot_fractal_job,
    plot_fractals_job,
    toy_shard_mem_mb,
)  # noqa: E402

SCHEMA_PATH = Path(workflow.basedir) / "schemas" / "config.schema.yaml"
CHECK_CACHE = Path(".snakemake") / "diffpipe-checks"
# what each module imports, read with ast once per edit, not once per parse
use_import_cache(Path(".snakemake") / "diffpipe-imports.json", SCRIPTS)

# Validated against the JSON Schema (defaults filled from it), then the checks the schema cannot
# express; the checks that need pyhf, JAX or matplotlib are cached (see diffpipe.configcheck).
try:
    check_config(config, SCHEMA_PATH, CHECK_CACHE)
except ConfigError as err:
    raise WorkflowError(f"Invalid configuration: {err}") from None

# Temporary files of jobs killed mid-write (SIGKILL, a lost node) are removed before any job runs,
# also when nothing is left to do; those of live writers stay (diffpipe.storage.sweep_partials).
if workflow.is_main_process and not workflow.dryrun:
    sweep_partials("results")

# Every artifact a job may read is checked (digest, format, field types) before any job runs:
# an edited or corrupt one stops the run here, naming it, and no output is deleted.
if workflow.is_main_process:
    try:
        check_results("results", Path(".snakemake") / "diffpipe-checked-results.json")
    except ArtifactError as err:
        raise WorkflowError(f"Unusable result: {err}") from None

FIG = config["figures"]["format"]
NAME = "[A-Za-z][A-Za-z0-9_-]*"


# Models with a parameter of interest get limits, significance and impacts; a background-only
# workspace (its measurement's POI undeclared) or `poi: null` gets fit, yields and GoF only.
POI_MODELS = [
    name
    for name, spec in config["likelihood"]["models"].items()
    if model_poi(spec)[0] is not None
]
NO_POI_MODELS = [
    name for name in config["likelihood"]["models"] if name not in POI_MODELS
]


def controlflow_enabled():
    """The control-flow stage runs where the config has a `controlflow` section."""
    return "controlflow" in config


def one_of(names):
    """A wildcard pattern matching exactly these names (nothing when there are none)."""
    return "|".join(map(re.escape, names)) if names else "(?!)"


wildcard_constraints:
    problem=NAME,
    model=NAME,
    fractal=NAME,
    signal_grid=NAME,
    design=NAME,
    shard=r"\d+",


def entry_script(rule_name):
    """A rule's entry script (scripts/<rule>.py), relative to this rules folder."""
    return f"../../scripts/{rule_name}.py"


def code(rule_name):
    """The package modules a rule's entry script imports, directly or not, as inputs.

    Snakemake's code trigger sees only the entry script; declaring its import closure (read
    with ast, nothing imported) reruns exactly the rules that use an edited module.
    """
    closure = import_closure(SCRIPTS / f"{rule_name}.py", SCRIPTS)
    return [os.path.relpath(path) for path in closure]


def timed_code(module_path):
    """A module a benchmark runs in a fresh process (not imported): its import closure, so that
    editing the code it times reruns the benchmark."""
    closure = [SCRIPTS / module_path, *import_closure(SCRIPTS / module_path, SCRIPTS)]
    return [os.path.relpath(path) for path in closure]


def user_code(references):
    """The project-folder files of users' `module:function` references (a module and what it
    imports from the project), as inputs: editing one reruns exactly the jobs that call it.
    """
    files = {f for ref in references for f in user_code_files(ref, Path.cwd())}
    return sorted(os.path.relpath(path) for path in files)


def gradients_user_code(wildcards):
    return user_code(f["function"] for f in config["gradients"]["functions"].values())


def problem_user_code(wildcards):
    return user_code([problem_config(wildcards).get("function", "")])


def gpu_for(rule_name):
    """GPUs for a GPU-capable rule: the per-rule override, else compute.gpu."""
    compute = config["compute"]
    return compute["gpu_overrides"].get(rule_name, compute["gpu"])


def compute_threads():
    return config["compute"]["threads"]


def problem_config(wildcards):
    return config["optimizers"]["problems"][wildcards.problem]


def problem_fit(wildcards):
    """The fit artifact of a likelihood problem's model (f* and the model come from it)."""
    name = problem_config(wildcards).get("likelihood_model")
    return {"fit": f"results/likelihood/{name}/fit.json"} if name else {}


def optimizer_settings():
    return {k: v for k, v in config["optimizers"].items() if k != "problems"}


def likelihood_settings():
    return {k: v for k, v in config["likelihood"].items() if k != "models"}


def model_config(wildcards):
    return config["likelihood"]["models"][wildcards.model]


def without_binning(entry):
    """A model entry minus its binning (which only the yields figures and the HEPData record
    show): what the jobs that compute read of it."""
    return {k: v for k, v in entry.items() if k != "binning"}


def model_definition(wildcards):
    """A model entry minus its grid-scan settings (which only the grid scan uses) and its binning."""
    return {
        k: v for k, v in without_binning(model_config(wildcards)).items() if k != "grid"
    }


def model_binning(wildcards):
    """A model's `binning` (channel -> observable and bin edges; empty: bin indices)."""
    return model_config(wildcards).get("binning", {})


def model_grid(wildcards):
    return model_config(wildcards)["grid"]


def fractal_config(wildcards):
    return config["fractals"][wildcards.fractal]


def model_inputs(wildcards):
    """Workspace, patchset and patch files are inputs of their model's jobs: editing them reruns them."""
    return entry_files(model_config(wildcards))


def inference_settings(*keys):
    """The `inference` keys a rule reads (ranking_top, a figure setting, reaches only its plot)."""
    return {key: config["inference"][key] for key in keys}


def sensitivity_settings():
    """The keys `sensitivity` reads: the limits' confidence level, test statistic and largest
    POI bound, and how many systematics it refits at half their size."""
    return {
        "cl": config["inference"]["cl"],
        "test_statistic": config["inference"]["test_statistic"],
        "poi_bound_max": config["inference"]["poi_bound_max"],
        "halve_top": config["inference"]["sensitivity"]["halve_top"],
    }


def sensitivity_models():
    """Models with a POI whose sensitivity is computed (all of them, unless switched off)."""
    return POI_MODELS if config["inference"]["sensitivity"]["enabled"] else []


def design_config(wildcards):
    return config["optimize_analysis"][wildcards.design]


def design_inputs(wildcards):
    """A design's events file (when it reads one): editing it reruns the design."""
    events = design_config(wildcards)["events"]
    return [events["npz"]] if "npz" in events else []


def design_resource(key):
    """A design job's mem_mb or runtime (diffpipe.resources.design_job)."""
    return lambda wildcards: design_job(design_config(wildcards))[key]


def figure_style(colormap=False):
    """The `figures` keys of a plot: size and dpi, and the colormap where it draws one
    (`format` is in the output file names)."""
    keys = ("dpi", "width", "height") + (("colormap",) if colormap else ())
    return {key: config["figures"][key] for key in keys}


def figure_label():
    """The experiment label of the HEP-style figures: its text, luminosity and energy."""
    return {
        key: config["figures"][key]
        for key in ("experiment", "luminosity_ifb", "energy_tev")
    }


def label_units(labels=None):
    """The `units` of the patchset labels (all, or those of `labels`)."""
    units = config["units"]
    return units if labels is None else {k: units[k] for k in labels if k in units}


def signal_grid_config(wildcards):
    return config["inference"]["signal_grids"][wildcards.signal_grid]


def signal_grid_inputs(wildcards):
    signal_grid = signal_grid_config(wildcards)
    return [signal_grid["workspace"], signal_grid["patchset"]]


@functools.cache
def signal_grid_blocks(name):
    """A signal grid's patch names per job: `patches_per_job` at a time (default: all in one),
    in the patchset's order. A block's job depends only on its own patches, so patches added
    to the selection leave the complete blocks as they are."""
    signal_grid = config["inference"]["signal_grids"][name]
    names = [
        p["name"]
        for p in select_patches(
            read_json(signal_grid["patchset"], "patchset"), signal_grid["patches"]
        )
    ]
    size = signal_grid.get("patches_per_job") or len(names)
    return tuple(tuple(names[k : k + size]) for k in range(0, len(names), size))


def signal_grid_block_entry(wildcards):
    """A block job's entry: the grid's, with its own patches (not the grid's selection or split)."""
    signal_grid = signal_grid_config(wildcards)
    entry = {
        k: v for k, v in signal_grid.items() if k not in ("patches", "patches_per_job")
    }
    blocks = signal_grid_blocks(wildcards.signal_grid)
    return {**entry, "patches": list(blocks[int(wildcards.block)])}


def signal_grid_block_files(wildcards):
    return [
        f"results/signal/{wildcards.signal_grid}/block{k}.csv"
        for k in range(len(signal_grid_blocks(wildcards.signal_grid)))
    ]


def signal_grid_runtime(wildcards):
    """Minutes for a block of a signal grid: ~1.5 s per patch here plus compiling, with a wide margin."""
    patches = signal_grid_block_entry(wildcards)["patches"]
    return 10 + len(patches) // 10


def problem_inputs(wildcards):
    """Files of a likelihood problem's model: the optimizer rebuilds the model from them."""
    name = problem_config(wildcards).get("likelihood_model")
    return entry_files(config["likelihood"]["models"][name]) if name else []


def toys_config(wildcards):
    return config["toys"][wildcards.model]


def toy_generation(wildcards):
    """What a shard's toys depend on besides their range: seed, true parameters and where
    their fits start (not `n`: raising it must not rerun the complete shards)."""
    toys = toys_config(wildcards)
    return {key: toys[key] for key in ("seed", "parameters", "start")}


def toy_start(wildcards):
    """Where a model's toys' free fits start (`toys.<model>.start`)."""
    return toys_config(wildcards)["start"]


def toy_range(wildcards):
    """Toy indices [start, stop) of one shard."""
    toys = toys_config(wildcards)
    start = int(wildcards.shard) * toys["shard_size"]
    return start, min(start + toys["shard_size"], toys["n"])


def shard_count(model):
    toys = config["toys"][model]
    return -(-toys["n"] // toys["shard_size"])


def toy_shards(wildcards):
    return [
        f"results/toys/{wildcards.model}/shard{k}.npz"
        for k in range(shard_count(wildcards.model))
    ]


def toys_mem_mb(wildcards):
    """Memory of a shard job (diffpipe.resources.toy_shard_mem_mb)."""
    npars, ndata = count_parameters(config["likelihood"]["models"][wildcards.model])
    return toy_shard_mem_mb(npars, ndata, toys_config(wildcards)["shard_size"])


def toys_runtime(wildcards):
    """Minutes of a shard job (diffpipe.resources.toy_runtime)."""
    npars, _ = count_parameters(config["likelihood"]["models"][wildcards.model])
    return toy_runtime(npars, toys_config(wildcards)["shard_size"])


def toy_hypotest_runtime(wildcards):
    """Minutes of the toy CLs job: two toy samples (signal+background, background) per mu."""
    npars, _ = count_parameters(config["likelihood"]["models"][wildcards.model])
    cls = toys_config(wildcards)["cls"]
    return toy_runtime(npars, 2 * cls["n"] * len(cls["mu"]) * 2)


def toy_limit_config(wildcards):
    """A model's `toys.limit` entry (the toy-based limit's settings)."""
    return toys_config(wildcards)["limit"]


def toy_limit_stopping(wildcards):
    """The settings a round's plan reads: the target and the toy counts (not `points`)."""
    limit = toy_limit_config(wildcards)
    keys = ("cls_accuracy", "min_toys", "max_toys", "toys_per_round")
    return {key: limit[key] for key in keys}


def toy_limit_mem_mb(wildcards):
    """Memory of a part of the toy-based limit: two samples of toys_per_round toys."""
    npars, ndata = count_parameters(config["likelihood"]["models"][wildcards.model])
    size = toy_limit_config(wildcards)["toys_per_round"]
    return toy_shard_mem_mb(npars, ndata, 2 * size)


def toy_limit_runtime(wildcards):
    """Minutes of a part: four fits per toy pair."""
    npars, _ = count_parameters(config["likelihood"]["models"][wildcards.model])
    return toy_runtime(npars, 4 * toy_limit_config(wildcards)["toys_per_round"])


def toy_limit_max_rounds(model):
    """Rounds by which every point has max_toys (each round adds at least one part)."""
    limit = config["toys"][model]["limit"]
    return limit["points"] * (limit["max_toys"] // limit["toys_per_round"]) + 1


def toy_limit_plan_of(model, round):
    """(point, part) of each part round `round`'s plan names (read once its checkpoint ran)."""
    plan = checkpoints.toy_limit_plan.get(model=model, round=round).output.plan
    return [(p["point"], p["part"]) for p in ToyLimitPlan.read(plan).parts]


def toy_limit_part_file(model, point, part):
    return f"results/toys/{model}/limit/point{point}-{part}.npz"


def toy_limit_plan_parts(wildcards):
    """A round's plan reads the parts of every round before it."""
    model = wildcards.model
    return [
        toy_limit_part_file(model, *made)
        for r in range(int(wildcards.round))
        for made in toy_limit_plan_of(model, r)
    ]


def toy_limit_rounds(model):
    """((point, part) of every part, the plan files) of the toy-based limit: rounds until a
    plan adds nothing."""
    parts, plans = [], []
    for r in range(toy_limit_max_rounds(model) + 1):
        plans.append(f"results/toys/{model}/limit/round{r}.json")
        added = toy_limit_plan_of(model, r)
        if not added:
            return parts, plans
        parts += added
    raise WorkflowError(
        f"toys.{model}.limit: round {r} still adds toys past max_toys (a bug: please report it)"
    )


def toy_limit_models():
    """Models with a toy-based limit (`toys.<model>.limit`)."""
    return [m for m, toys in config["toys"].items() if "limit" in toys]


def toy_limit_benchmarks(model):
    """Runtime records of a model's toy-based limit known before its rounds run: the points,
    the merge and the figure (the parts' time is in limit.json: a round's parts are known only
    once its plan has run, and `all` and the report must not wait on the plans to be planned).
    """
    return [
        f"results/benchmarks/toy_limit_points/{model}.tsv",
        f"results/benchmarks/toy_limit/{model}.tsv",
        f"results/benchmarks/plot_toy_limit/{model}.tsv",
    ]


def toy_limit_inputs(wildcards):
    """Every part of the toy-based limit and every round's plan (the last one adds nothing)."""
    parts, plans = toy_limit_rounds(wildcards.model)
    return {
        "parts": [toy_limit_part_file(wildcards.model, *p) for p in parts],
        "plans": plans,
    }


# The tables of a model: yields for every model, limits and ranking for those with a POI.
TABLE_ARTIFACTS = {
    "yields": {"yields": "results/inference/{model}/yields.csv"},
    "limits": {
        "limits": "results/inference/{model}/limits.json",
        "significance": "results/inference/{model}/significance.json",
    },
    "ranking": {"impacts": "results/inference/{model}/impacts.csv"},
}


def table_inputs(wildcards):
    """The artifacts one table is made from."""
    return {
        key: path.format(model=wildcards.model)
        for key, path in TABLE_ARTIFACTS[wildcards.table].items()
    }


def table_top(wildcards):
    """Rows of a ranking table (`inference.ranking_top`); the other tables take none."""
    return config["inference"]["ranking_top"] if wildcards.table == "ranking" else None


def model_tables(models, kinds):
    """{table_<kind>_<md|tex>/model: file} of the tables of these models."""
    return {
        f"table_{kind}_{ext}/{m}": f"results/tables/{m}_{kind}.{ext}"
        for kind in kinds
        for m in models
        for ext in ("md", "tex")
    }


def hepdata_enabled():
    """The HEPData record is made where the config has inference results (unless `hepdata: false`)."""
    has_results = config["likelihood"]["models"] or config["inference"]["signal_grids"]
    return config["hepdata"] is not False and bool(has_results)


def hepdata_inputs(wildcards):
    """The artifacts the HEPData record holds, by kind (grids and contours in the same order)."""
    grids = list(config["inference"]["signal_grids"])
    return {
        "grids": [f"results/signal/{g}/limits.csv" for g in grids],
        "contours": [f"results/signal/{g}/contours.csv" for g in grids],
        "yields": [
            f"results/inference/{m}/yields.csv" for m in config["likelihood"]["models"]
        ],
        "limits": [f"results/inference/{m}/limits.json" for m in POI_MODELS],
        "impacts": [f"results/inference/{m}/impacts.csv" for m in POI_MODELS],
        "sensitivity": [
            f"results/inference/{m}/sensitivity.json" for m in sensitivity_models()
        ],
    }


def hepdata_keywords(record):
    """The keywords of every HEPData table: the config's, cmenergies from figures.energy_tev [GeV]."""
    keywords = dict(record.get("keywords", {}))
    energy = config["figures"]["energy_tev"]
    if "cmenergies" not in keywords and energy is not None:
        keywords["cmenergies"] = [1000.0 * energy]
    return keywords


def hepdata_settings():
    """The keys the HEPData record reads: its abstract, the labels' units, the ranking's rows,
    each model's binning (the yields tables' bins)."""
    record = config["hepdata"] or {}
    return {
        "abstract": record.get("abstract", ""),
        "keywords": hepdata_keywords(record),
        "descriptions": record.get("descriptions", {}),
        "units": label_units(),
        "ranking_top": config["inference"]["ranking_top"],
        "binning": {
            name: entry["binning"]
            for name, entry in config["likelihood"]["models"].items()
            if entry.get("binning")
        },
    }


def grid_scan_resource(key):
    """A grid scan job's mem_mb or runtime (diffpipe.resources.grid_scan_job)."""
    return lambda wildcards: grid_scan_job(model_grid(wildcards)["points"])[key]


def fractal_mem_mb(wildcards, threads):
    return fractal_job(fractal_config(wildcards), threads)["mem_mb"]


def fractal_runtime(wildcards, threads):
    return fractal_job(fractal_config(wildcards), threads)["runtime"]


def plot_fractal_mem_mb(wildcards):
    return plot_fractal_job(fractal_config(wildcards))["mem_mb"]


def plot_fractal_runtime(wildcards):
    return plot_fractal_job(fractal_config(wildcards))["runtime"]


def benchmark_inference_models():
    return config["benchmark"]["inference"]["models"]


def benchmark_inference_signal_grid():
    """The benchmarked signal grid's entry (timed in one process: its split into jobs aside)."""
    name = config["benchmark"]["inference"]["grid"]
    if not name:
        return None
    signal_grid = config["inference"]["signal_grids"][name]
    return {k: v for k, v in signal_grid.items() if k != "patches_per_job"}


def benchmark_inference_inputs(wildcards):
    files = [
        f
        for spec in [
            *benchmark_inference_models().values(),
            *config["benchmark"]["inference"]["gradient_models"].values(),
        ]
        for f in entry_files(spec)
    ]
    signal_grid = benchmark_inference_signal_grid()
    return files + (
        [signal_grid["workspace"], signal_grid["patchset"]] if signal_grid else []
    )


def benchmark_kernel_settings():
    """The `benchmark` keys the kernel-timing rule reads."""
    bench = config["benchmark"]
    keys = ("backends", "sizes", "iterations", "repeats", "grid_sizes")
    targets = {key: bench["targets"][key] for key in ("fractals", "gridscan")}
    return {**{key: bench[key] for key in keys}, "targets": targets}


def benchmark_enabled():
    return config["benchmark"]["enabled"]


def per_entry(kind, pattern, names, wildcard):
    """{kind/name: file} for each config entry: the report pairs an entry's files by its name."""
    return {f"{kind}/{name}": expand(pattern, **{wildcard: name})[0] for name in names}


def report_inputs(wildcards):
    """Every artifact and figure of the current config (nothing globbed from results/), keyed
    `kind` or, per config entry, `kind/name`."""
    problems = list(config["optimizers"]["problems"])
    models = list(config["likelihood"]["models"])
    fractals = list(config["fractals"])
    grids = list(config["inference"]["signal_grids"])
    toy_models = list(config["toys"])
    cls_models = [m for m in toy_models if "cls" in config["toys"][m]]
    limit_models = toy_limit_models()
    designs = list(config["optimize_analysis"])
    inputs = {}
    if config["gradients"]["functions"]:
        inputs["gradients"] = rules.gradients.output.table
    if controlflow_enabled():
        inputs["controlflow"] = rules.controlflow.output.table
        inputs["controlflow_figure"] = rules.plot_controlflow.output.figure
    if fractals:
        inputs["fractals_figure"] = rules.plot_fractals.output.figure
    by_problem = {
        "optimizer_runs": rules.optimize.output.table,
        "optimizer_traces": rules.optimize.output.traces,
        "optimizer_convergence": rules.plot_optimizer.output.convergence,
        "optimizer_ranking": rules.plot_optimizer.output.ranking,
    }
    by_model = {
        "fits": rules.fit.output.fit,
        "grids": rules.grid_scan.output.grid,
        "likelihood_grid": rules.plot_likelihood.output.grid,
        "likelihood_profile": rules.plot_likelihood.output.profile,
        "likelihood_pulls": rules.plot_likelihood.output.pulls,
        "likelihood_correlation": rules.plot_likelihood.output.correlation,
        "gof": rules.postfit.output.gof,
        "yields": rules.postfit.output.yields,
        "prefit_figure": rules.plot_yields.output.prefit,
        "postfit_figure": rules.plot_yields.output.postfit,
    }
    by_poi_model = {
        "limits": rules.inference.output.limits,
        "significance": rules.inference.output.significance,
        "impacts": rules.inference.output.impacts,
        "cls_figure": rules.plot_inference.output.cls,
        "ranking_figure": rules.plot_inference.output.ranking,
        "impact_groups": rules.inference.output.impact_groups,
        "groups_figure": rules.plot_inference.output.groups,
    }
    by_sensitivity_model = {
        "sensitivity": rules.sensitivity.output.sensitivity,
        "budget_figure": rules.plot_sensitivity.output.figure,
    }
    by_grid = {
        "signal_grids": rules.signal_grid.output.limits,
        "signal_contours": rules.signal_grid.output.contours,
        "signal_figures": rules.plot_signal_grid.output.figure,
    }
    by_cls_model = {
        "toy_cls": rules.toy_hypotest.output.cls,
        "toy_cls_figure": rules.plot_toy_hypotest.output.figure,
        "toy_cls_limits": rules.inference.output.limits,
    }
    by_limit_model = {
        "toy_limit": rules.toy_limit.output.limit,
        "toy_limit_figure": rules.plot_toy_limit.output.figure,
    }
    by_toy_model = {
        "coverage": rules.toy_coverage.output.coverage,
        "coverage_figure": rules.plot_toy_coverage.output.figure,
    }
    by_design = {
        "designs": rules.optimize_analysis.output.design,
        "design_figures": rules.plot_optimize_analysis.output.figure,
    }
    by_fractal = {
        "fractal_counts": rules.fractal.output.counts,
        "fractal_images": rules.plot_fractal.output.image,
    }
    inputs.update(model_tables(models, ["yields"]))
    inputs.update(model_tables(POI_MODELS, ["limits", "ranking"]))
    inputs.update(
        {
            f"table_grid_{ext}/{g}": f"results/tables/signal/{g}_limits.{ext}"
            for g in grids
            for ext in ("md", "tex")
        }
    )
    for group, names, wildcard in (
        (by_problem, problems, "problem"),
        (by_model, models, "model"),
        (by_poi_model, POI_MODELS, "model"),
        (by_sensitivity_model, sensitivity_models(), "model"),
        (by_grid, grids, "signal_grid"),
        (by_cls_model, cls_models, "model"),
        (by_limit_model, limit_models, "model"),
        (by_toy_model, toy_models, "model"),
        (by_design, designs, "design"),
        (by_fractal, fractals, "fractal"),
    ):
        for kind, pattern in group.items():
            inputs.update(per_entry(kind, pattern, names, wildcard))
    runtimes = [
        *([rules.gradients.benchmark] if "gradients" in inputs else []),
        *(
            [rules.controlflow.benchmark, rules.plot_controlflow.benchmark]
            if "controlflow" in inputs
            else []
        ),
        *expand(rules.optimize.benchmark, problem=problems),
        *expand(rules.plot_optimizer.benchmark, problem=problems),
        *expand(rules.fit.benchmark, model=models),
        *expand(rules.grid_scan.benchmark, model=models),
        *expand(rules.plot_likelihood.benchmark, model=models),
        *expand(rules.postfit.benchmark, model=NO_POI_MODELS),
        *expand(rules.plot_yields.benchmark, model=models),
        *expand(rules.inference.benchmark, model=POI_MODELS),
        *expand(rules.plot_inference.benchmark, model=POI_MODELS),
        *expand(rules.sensitivity.benchmark, model=sensitivity_models()),
        *expand(rules.plot_sensitivity.benchmark, model=sensitivity_models()),
        *[
            f"results/benchmarks/signal_grid_block/{g}-{k}.tsv"
            for g in grids
            for k in range(len(signal_grid_blocks(g)))
        ],
        *expand(rules.signal_grid.benchmark, signal_grid=grids),
        *expand(rules.plot_signal_grid.benchmark, signal_grid=grids),
        *[
            f"results/benchmarks/toys/{m}-{k}.tsv"
            for m in toy_models
            for k in range(shard_count(m))
        ],
        *expand(rules.toy_coverage.benchmark, model=toy_models),
        *expand(rules.toy_hypotest.benchmark, model=cls_models),
        *expand(rules.plot_toy_hypotest.benchmark, model=cls_models),
        *expand(rules.plot_toy_coverage.benchmark, model=toy_models),
        *[f for m in limit_models for f in toy_limit_benchmarks(m)],
        *expand(rules.optimize_analysis.benchmark, design=designs),
        *expand(rules.plot_optimize_analysis.benchmark, design=designs),
        *[
            f"results/benchmarks/table/{m}_{kind}.tsv"
            for m in models
            for kind in ("yields", *(("limits", "ranking") if m in POI_MODELS else ()))
        ],
        *expand(rules.grid_table.benchmark, signal_grid=grids),
        *expand(rules.fractal.benchmark, fractal=fractals),
        *expand(rules.plot_fractal.benchmark, fractal=fractals),
        *([rules.plot_fractals.benchmark] if fractals else []),
    ]
    if benchmark_enabled():
        inputs["benchmark_fractals"] = rules.benchmark.output.fractals
        inputs["benchmark_grid"] = rules.benchmark.output.grid
        inputs["benchmark_figure"] = rules.plot_benchmark.output.figure
        inputs["pipeline_timing"] = rules.pipeline_timing.output.timing
        inputs["benchmark_inference"] = rules.benchmark_inference.output.table
        inputs["benchmark_toys"] = rules.benchmark_toys.output.table
        runtimes += [
            rules.benchmark.benchmark,
            rules.plot_benchmark.benchmark,
            rules.pipeline_timing.benchmark,
            rules.benchmark_inference.benchmark,
            rules.benchmark_toys.benchmark,
        ]
    if hepdata_enabled():
        inputs["hepdata"] = rules.hepdata.output.record
        inputs["hepdata_archive"] = rules.hepdata.output.archive
        runtimes.append(rules.hepdata.benchmark)
    inputs["runtimes"] = runtimes
    return inputs


def default_targets(wildcards):
    """The report, every artifact and figure it is made from (runtimes excepted), the toy
    shards its coverage is merged from and the blocks of every signal grid. The toy-based
    limit's points, parts and plans are inputs of its merge (`toy_limit`), which reruns whatever
    of them is missing."""
    inputs = report_inputs(wildcards)
    del inputs["runtimes"]
    files = [
        f
        for value in inputs.values()
        for f in ([value] if isinstance(value, str) else value)
    ]
    shards = [
        f"results/toys/{model}/shard{k}.npz"
        for model in config["toys"]
        for k in range(shard_count(model))
    ]
    blocks = [
        f"results/signal/{grid}/block{k}.csv"
        for grid in config["inference"]["signal_grids"]
        for k in range(len(signal_grid_blocks(grid)))
    ]
    return ["results/report.html", *files, *shards, *blocks]
