# Configuration checks (before any job runs) and helpers shared by the rule files.
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

SCRIPTS = Path(workflow.basedir).parent / "scripts"
sys.path.insert(0, str(SCRIPTS))

from configcheck import ConfigError, check_config  # noqa: E402

SCHEMA_PATH = Path(workflow.basedir) / "schemas" / "config.schema.yaml"


def fill_defaults(cfg):
    validate(cfg, schema=str(SCHEMA_PATH))


try:
    check_config(config, SCHEMA_PATH, fill_defaults)
except ConfigError as err:
    raise WorkflowError(f"Invalid configuration: {err}") from None

FIG = config["figures"]["format"]
NAME = "[A-Za-z][A-Za-z0-9_-]*"


wildcard_constraints:
    problem=NAME,
    model=NAME,
    fractal=NAME,


def helpers(*modules):
    """Helper modules a rule's script imports, as inputs: Snakemake's code trigger sees only
    the entry script, so without these an edit to a shared helper would rerun nothing.
    """
    return [os.path.relpath(SCRIPTS / f"{module}.py") for module in modules]


def optimize_helpers(wildcards):
    modules = ["functions", "artifacts", "runtime"]
    if problem_config(wildcards).get("likelihood_model"):
        modules += ["likelihood", "likelihood_model"]
    return helpers(*modules)


def gpu_for(rule_name):
    """GPUs for a GPU-capable rule: the per-rule override, else compute.gpu."""
    compute = config["compute"]
    return compute["gpu_overrides"].get(rule_name, compute["gpu"])


def compute_threads():
    return config["compute"]["threads"]


def problem_config(wildcards):
    return config["optimizers"]["problems"][wildcards.problem]


def without_grid(model):
    """A model entry minus its grid-scan settings (which only the grid scan uses)."""
    return {key: value for key, value in model.items() if key != "grid"}


def problem_model(wildcards):
    """The likelihood model an optimizer problem minimises (empty when it is a function)."""
    name = problem_config(wildcards).get("likelihood_model")
    return without_grid(config["likelihood"]["models"][name]) if name else {}


def optimizer_settings():
    return {k: v for k, v in config["optimizers"].items() if k != "problems"}


def likelihood_settings():
    return {k: v for k, v in config["likelihood"].items() if k != "models"}


def model_config(wildcards):
    return config["likelihood"]["models"][wildcards.model]


def model_definition(wildcards):
    return without_grid(model_config(wildcards))


def fractal_config(wildcards):
    return config["fractals"][wildcards.fractal]


def model_inputs(wildcards):
    """A workspace file is an input of its model's jobs, so editing it reruns them."""
    spec = model_config(wildcards)
    return [spec["workspace"]] if "workspace" in spec else []


def report_inputs(wildcards):
    problems = list(config["optimizers"]["problems"])
    models = list(config["likelihood"]["models"])
    fractals = list(config["fractals"])
    inputs = {
        "code": helpers("artifacts", "runtime"),
        "gradients": rules.gradients.output.table,
        "controlflow": rules.controlflow.output.table,
        "controlflow_figure": rules.plot_controlflow.output.figure,
        "optimizer_tables": expand(rules.optimize.output.table, problem=problems),
        "optimizer_convergence": expand(
            rules.plot_optimizer.output.convergence, problem=problems
        ),
        "optimizer_evaluations": expand(
            rules.plot_optimizer.output.evaluations, problem=problems
        ),
        "fits": expand(rules.fit.output.fit, model=models),
        "likelihood_grid": expand(rules.plot_likelihood.output.grid, model=models),
        "likelihood_profile": expand(
            rules.plot_likelihood.output.profile, model=models
        ),
        "likelihood_pulls": expand(rules.plot_likelihood.output.pulls, model=models),
        "likelihood_correlation": expand(
            rules.plot_likelihood.output.correlation, model=models
        ),
        "fractal_images": expand(rules.plot_fractal.output.image, fractal=fractals),
        "fractals_figure": rules.plot_fractals.output.figure,
    }
    if config["benchmark"]["enabled"]:
        inputs["benchmark_fractals"] = rules.benchmark.output.fractals
        inputs["benchmark_grid"] = rules.benchmark.output.grid
        inputs["benchmark_figure"] = rules.plot_benchmark.output.figure
    return inputs
