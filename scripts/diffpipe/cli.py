"""The `diffpipe` command line: a workspace's fit, limit, significance, ranking, toys or signal grid in one command.

Each command (named after pyhf's and cabinetry's) turns its arguments into an experiment file,
`results/experiments/<name>.yaml` (the run is reproducible with plain Snakemake:
`snakemake --cores 2 --config experiment=results/experiments/<name>.yaml`), checks it as the
workflow does, runs Snakemake on exactly the targets it needs and prints the result from the
artifacts. Bad arguments (a missing file, an unknown patch, a patch that does not apply) stop it
with one line naming the file or name and exit status 2, before anything is written under
results/.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from diffpipe.experiment import (
    EXPERIMENTS,
    Refused,
    checked,
    entry_name,
    existing_file,
    model_entry,
    snakemake,
    write_experiment,
)

# What the commands' experiments set besides their entries: the goodness of fit's asymptotic
# p-value without its toys (the inference job of a `limit` or `ranking` computes it too).
SETTINGS = {"inference": {"gof_toys": 0}}


def _table(rows: list[list], headers: list[str]) -> str:
    """A plain-text table (tabulate)."""
    from tabulate import tabulate

    return tabulate(rows, headers=headers, floatfmt=".6g", disable_numparse=True)


def _num(value) -> str:
    """A number as the tables print it ("failed" where there is none)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "failed"
    return f"{value:.6g}"


def _shared_options(command):
    """The options every single-model command takes."""
    options = [
        click.argument("workspace"),
        click.option("--patchset", help="a pyhf patchset: the signal applied with --patch"),
        click.option("--patch", help="the patch of --patchset to apply (its name)"),
        click.option("--patch-file", help="a plain JSON Patch file (a list of operations) applied to the workspace"),
        click.option("--measurement", help="the workspace's measurement (default: its first)"),
        click.option("--data", type=click.Choice(["observed", "asimov"]), default="observed", show_default=True),
        click.option("--name", help="the model's name in the experiment (default: from the file and patch names)"),
        click.option("--cores", default="all", show_default=True, help="Snakemake's --cores"),
        click.option("--profile", help="a Snakemake profile, e.g. profiles/slurm to submit to SLURM"),
        click.option("--json", "as_json", is_flag=True, help="print the result as JSON"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _single_model(args: dict, extra: dict | None = None) -> tuple[str, dict]:
    """The experiment of a single-model command: (the model's name, the experiment's config)."""
    name, entry = model_entry(
        args["workspace"], args["patchset"], args["patch"], args["patch_file"], args["measurement"], args["data"]
    )
    name = args["name"] or name
    config = {**SETTINGS, "likelihood": {"models": {name: entry}}, **(extra(name) if extra else {})}
    return name, config


def run_model(command: str, args: dict, targets, extra=None) -> tuple[str, list[str]]:
    """Check, write and run a single-model command's experiment.

    Args:
        command: the command's name (the experiment file is `<command>-<model>.yaml`).
        args: the command's arguments.
        targets: model name -> the files wanted.
        extra: model name -> more config sections (toys), or None.

    Returns:
        (the model's name, the targets made).
    """
    name, config = _single_model(args, extra)
    path = EXPERIMENTS / f"{command}-{name}.yaml"
    full = checked(config, str(path))
    if command != "fit":
        from diffpipe.workspaces import model_poi

        poi, reason = model_poi(full["likelihood"]["models"][name])
        if poi is None:
            raise Refused(f"{args['workspace']}: {reason}; `diffpipe {command}` needs a parameter of interest")
    write_experiment(f"{command}-{name}", config)
    wanted = targets(name)
    snakemake(wanted, str(path), args["cores"], args["profile"])
    return name, wanted


def _emit(payload: dict, text: str, as_json: bool) -> None:
    """Print a result: JSON (strict) or its table."""
    click.echo(json.dumps(payload, indent=2, allow_nan=False) if as_json else text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """diffpipe: fits, limits, rankings, toys and signal grids of HistFactory workspaces as a Snakemake pipeline.

    Every command writes its experiment under results/experiments/ and runs the workflow in the
    current folder (the project's, where results/ is); a second identical command reruns nothing.
    """


@main.command()
@_shared_options
def fit(**args) -> None:
    """Maximum-likelihood fit of WORKSPACE: best fit and Hessian errors of every parameter."""
    from diffpipe.artifacts import FitResult

    _, (path,) = run_model("fit", args, lambda n: [f"results/likelihood/{n}/fit.json"])
    result = FitResult.read(path)
    rows = [[p, _num(v), _num(s)] for p, v, s in zip(result.parameters, result.bestfit, result.sigma_autodiff)]
    payload = {
        "twice_nll": result.twice_nll,
        "parameters": {
            p: {"bestfit": v, "sigma": s} for p, v, s in zip(result.parameters, result.bestfit, result.sigma_autodiff)
        },
    }
    _emit(
        payload,
        f"{_table(rows, ['parameter', 'best fit', 'σ (Hessian)'])}\n-2 ln L = {result.twice_nll:.10g}",
        args["as_json"],
    )


@main.command()
@_shared_options
def limit(**args) -> None:
    """CLs upper limit on the POI of WORKSPACE (asymptotic, q̃μ) with its expected ±1σ, ±2σ band."""
    from diffpipe.artifacts import Limits

    _, (path,) = run_model("limit", args, lambda n: [f"results/inference/{n}/limits.json"])
    lim = Limits.read(path)
    from diffpipe.teststat import BAND_LABELS

    payload = {
        "poi": lim.poi,
        "cl": lim.cl,
        "obs_limit": lim.observed,
        "exp_limits": list(lim.expected),
        "failures": lim.failures,
    }
    rows = [["observed", _num(lim.observed)]] + [
        [label, _num(v)] for label, v in zip(BAND_LABELS, lim.expected, strict=True)
    ]
    text = f"{100 * lim.cl:g}% CL upper limit on {lim.poi}\n{_table(rows, ['', lim.poi])}"
    text += "".join(f"\nfailed: {k}: {v}" for k, v in lim.failures.items())
    _emit(payload, text, args["as_json"])


@main.command()
@_shared_options
def significance(**args) -> None:
    """Discovery significance (q0) of WORKSPACE, observed and expected."""
    from diffpipe.artifacts import Significance

    _, (path,) = run_model("significance", args, lambda n: [f"results/inference/{n}/significance.json"])
    sig = Significance.read(path)
    payload = {
        "poi": sig.poi,
        "muhat": sig.muhat,
        "observed": {"Z": sig.observed_z, "p": sig.observed_p},
        "expected": {"Z": sig.expected_z, "p": sig.expected_p},
    }
    rows = [
        ["observed", _num(sig.observed_z), _num(sig.observed_p)],
        ["expected", _num(sig.expected_z), _num(sig.expected_p)],
    ]
    _emit(payload, f"{sig.poi} = {sig.muhat:.6g}\n{_table(rows, ['', 'Z', 'p-value'])}", args["as_json"])


@main.command(help="Impacts of the nuisance parameters of WORKSPACE on its POI, largest first.")
@_shared_options
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True, help="rows printed")
def ranking(top: int, **args) -> None:
    """Impacts of the nuisance parameters of WORKSPACE on its POI, largest first.

    Args:
        top: rows printed.
        args: the shared options.
    """
    from diffpipe.artifacts import Impacts

    _, (path,) = run_model("ranking", args, lambda n: [f"results/inference/{n}/impacts.csv"])
    impacts = Impacts.read(path)
    frame = impacts.table.head(top)
    columns = ["parameter", "bestfit", "uncertainty", "postfit_up", "postfit_down", "prefit_up", "prefit_down"]
    rows = [[row["parameter"], *(_num(float(row[c])) for c in columns[1:])] for _, row in frame.iterrows()]
    payload = {
        "poi": impacts.poi,
        "ranking": [dict(zip(columns, [r[0], *map(float, r[1:])])) for r in frame[columns].itertuples(index=False)],
    }
    text = f"{impacts.poi} = {impacts.poi_bestfit:.6g} ± {impacts.poi_uncertainty:.3g}\n{_table(rows, columns)}"
    _emit(payload, text, args["as_json"])


@main.command(help="Pseudo-experiments of WORKSPACE at its suggested parameters: coverage of the POI's intervals.")
@_shared_options
@click.option("--n", "ntoys", type=click.IntRange(min=1), required=True, help="pseudo-experiments")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--shard-size", type=click.IntRange(min=1), default=5000, show_default=True, help="toys per job")
def toys(ntoys: int, seed: int, shard_size: int, **args) -> None:
    """Pseudo-experiments of WORKSPACE at its suggested parameters: coverage of the POI's intervals.

    Args:
        ntoys: pseudo-experiments.
        seed: the toys' seed.
        shard_size: toys per job.
        args: the shared options.
    """
    from diffpipe.artifacts import Coverage

    extra = lambda n: {"toys": {n: {"n": ntoys, "seed": seed, "shard_size": shard_size}}}  # noqa: E731
    _, (path,) = run_model("toys", args, lambda n: [f"results/toys/{n}/coverage.json"], extra)
    cov = Coverage.read(path)
    payload = {
        "poi": cov.poi,
        "n_toys": cov.n_toys,
        "n_converged": cov.n_converged,
        "refitted": cov.refitted,
        "n_outside": cov.n_outside,
        "hessian": cov.hessian,
        "profile": cov.profile,
    }
    rows = [
        [kind, _num(c["value"]), _num(c["error"]), c["verdict"]]
        for kind, c in (("Hessian", cov.hessian), ("profile", cov.profile))
    ]
    text = (
        f"{cov.n_toys} toys, {cov.n_converged} converged, {cov.refitted} refitted, {cov.n_outside} outside the domain\n"
        f"coverage of the 68.27% intervals of {cov.poi}:\n{_table(rows, ['interval', 'coverage', '±', 'verdict'])}"
    )
    _emit(payload, text, args["as_json"])


@main.command(help="CLs upper limits of every signal point of a patchset (PATCHSET applied to WORKSPACE).")
@click.argument("workspace")
@click.option("--patchset", required=True, help="the pyhf patchset of the signal points")
@click.option("--patches", default="all", show_default=True, help="all, or patch names separated by commas")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="jobs the grid is split into")
@click.option("--measurement", help="the workspace's measurement (default: its first)")
@click.option("--data", type=click.Choice(["observed", "asimov"]), default="observed", show_default=True)
@click.option("--name", help="the grid's name (default: from the patchset's file name)")
@click.option("--cores", default="all", show_default=True, help="Snakemake's --cores")
@click.option("--profile", help="a Snakemake profile, e.g. profiles/slurm")
@click.option("--json", "as_json", is_flag=True, help="print the limits as JSON")
def grid(workspace, patchset, patches, jobs, measurement, data, name, cores, profile, as_json) -> None:
    """CLs upper limits of every signal point of a patchset (PATCHSET applied to WORKSPACE).

    Args:
        workspace: the background-only workspace.
        patchset: the signal patchset.
        patches: "all" or names separated by commas.
        jobs: jobs the grid is split into.
        measurement: the workspace's measurement (None: its first).
        data: "observed" or "asimov".
        name: the grid's name (None: the patchset's file name).
        cores: Snakemake's --cores.
        profile: a Snakemake profile, or None.
        as_json: print JSON instead of the table.
    """
    from diffpipe.artifacts import SignalGrid

    entry = {
        "workspace": existing_file(workspace, "workspace"),
        "patchset": existing_file(patchset, "--patchset"),
        "data": data,
    }
    if measurement is not None:
        entry["measurement"] = measurement
    selection = "all" if patches == "all" else [p.strip() for p in patches.split(",") if p.strip()]
    if not selection:
        raise Refused("--patches: no patch named")
    entry["patches"] = selection
    name = name or entry_name(Path(patchset).stem)
    count = (
        len(json.loads(Path(entry["patchset"]).read_text()).get("patches", []))
        if selection == "all"
        else len(selection)
    )
    if jobs > 1:
        entry["patches_per_job"] = max(1, -(-count // jobs))
    config = {"inference": {**SETTINGS["inference"], "signal_grids": {name: entry}}}
    path = EXPERIMENTS / f"grid-{name}.yaml"
    checked(config, str(path))
    write_experiment(f"grid-{name}", config)
    target = f"results/signal/{name}/limits.csv"
    snakemake([target], str(path), cores, profile)
    result = SignalGrid.read(target)
    frame = result.table
    from diffpipe.teststat import BAND_COLUMNS, BAND_LABELS

    columns = ["patch", *result.labels, "observed", *BAND_COLUMNS]
    headers = ["patch", *result.labels, "observed", *BAND_LABELS]
    rows = [[str(row[c]) if c == "patch" else _num(float(row[c])) for c in columns] for _, row in frame.iterrows()]
    payload = {
        "poi": result.poi,
        "cl": result.cl,
        "labels": result.labels,
        "points": [
            {
                "patch": row["patch"],
                "values": [float(row[label]) for label in result.labels],
                "obs_limit": _finite(row["observed"]),
                "exp_limits": [_finite(row[c]) for c in columns[-5:]],
                "failure": row["failure"] if isinstance(row["failure"], str) and row["failure"] else None,
            }
            for _, row in frame.iterrows()
        ],
    }
    text = f"{result.n_excluded} of {len(frame)} points excluded at {100 * result.cl:g}% CL\n{_table(rows, headers)}"
    _emit(payload, text, as_json)


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


@main.command(help="The patches of PATCHSET: names and the values of its labels.")
@click.argument("patchset")
@click.option("--json", "as_json", is_flag=True, help="print the patches as JSON")
def patches(patchset, as_json) -> None:
    """The patches of PATCHSET: names and the values of its labels.

    Args:
        patchset: the patchset file.
        as_json: print JSON instead of the table.
    """
    from diffpipe.workspaces import ModelError, pyhf_patchset

    try:
        parsed = pyhf_patchset({"patchset": existing_file(patchset, "patchset")})
    except ModelError as err:
        raise Refused(str(err)) from None
    labels = list(parsed.labels)
    points = [{"name": p.name, "values": list(p.values)} for p in parsed.patches]
    rows = [[p["name"], *map(_num, p["values"])] for p in points]
    _emit({"labels": labels, "patches": points}, _table(rows, ["patch", *labels]), as_json)


@main.command(
    help="Run a whole experiment: a name in config/experiments/, a YAML file's path, or (none) config/config.yaml."
)
@click.argument("experiment", required=False)
@click.option("--cores", default="all", show_default=True, help="Snakemake's --cores")
@click.option("--profile", help="a Snakemake profile, e.g. profiles/slurm")
def run(experiment, cores, profile) -> None:
    """Run a whole experiment: a name in config/experiments/, a YAML file's path, or (none) config/config.yaml.

    Args:
        experiment: the experiment (None: config/config.yaml).
        cores: Snakemake's --cores.
        profile: a Snakemake profile, or None.
    """
    from diffpipe.configcheck import ConfigError
    from diffpipe.configcheck.guards import experiment_file

    try:
        experiment_file(experiment)
    except ConfigError as err:
        raise Refused(str(err)) from None
    snakemake([], experiment, cores, profile)
