"""Hostile input: every bad value stops the real pipeline before any job, with one message.

Each case is parsed by Snakemake on the finished small run (pipeline_run): in this process for
most (the same Snakefile, config checks and error as the command line, without a 2 s start-up
each), and with the `snakemake` command for one case of each class (END_TO_END). It must fail
with one message naming the config key or file (and, on the command line, exit non-zero and
print no traceback; Snakemake's own command-line errors, the last cases, are the documented
exceptions), and leave results/ byte-for-byte and mtime-for-mtime unchanged. The README's table
of bad inputs lists these cases.
"""

import copy
import hashlib
import importlib
import json
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ROOT, parsed_workflow, snakemake

WORKSPACE = json.loads((ROOT / "resources" / "pyhf" / "example_bkgonly.json").read_text())


def results_state(folder: Path) -> dict:
    """Content hash, size and mtime of every file under a folder."""
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def workspace(mutate) -> str:
    spec = copy.deepcopy(WORKSPACE)
    mutate(spec)
    return json.dumps(spec)


def set_at(path: list, value):
    def mutate(spec):
        node = spec
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def short_staterror(spec):
    for sample in spec["channels"][0]["samples"]:
        for modifier in sample["modifiers"]:
            if modifier["type"] == "staterror":
                modifier["data"] = modifier["data"][:-1]


def zero_yields(spec):
    for sample in spec["channels"][0]["samples"]:
        sample["data"] = [0.0] * len(sample["data"])
        sample["modifiers"] = [m for m in sample["modifiers"] if m["type"] not in ("staterror", "shapesys")]


def ws_model(path="hostile/ws.json"):
    return {"likelihood": {"models": {"ws": {"workspace": path, "measurement": "GaussExample", "data": "observed"}}}}


def gradient_fn(ref, points=((1.0, 2.0),)):
    return {"gradients": {"functions": {"bad": {"function": ref, "points": [list(p) for p in points]}}}}


def user_module(body: str) -> dict:
    return {"hostile/usermod.py": body}


ALIAS_BOMB = "\n".join(
    [
        'a: &a ["x","x","x","x","x","x","x","x","x"]',
        *(f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi")),
    ]
)

# id -> (config overlay: dict or YAML text or None, files to create, extra args, text the message holds)
CASES = {
    # -- config values the schema or the semantic checks refuse
    "unknown top-level key": ({"colour": "red"}, {}, [], "config key '<config root>'"),
    "width of wrong type": ({"fractals": {"mandelbrot": {"width": "big"}}}, {}, [], "fractals.mandelbrot.width"),
    "negative toy count": ({"toys": {"counting": {"n": -5}}}, {}, [], "toys.counting.n"),
    "reversed bounds": (
        {"likelihood": {"models": {"counting": {"bounds": {"mu": [5.0, 1.0]}}}}},
        {},
        [],
        "likelihood.models.counting.bounds.mu",
    ),
    "zero grid points": (
        {"likelihood": {"models": {"counting": {"grid": {"points": 0}}}}},
        {},
        [],
        "likelihood.models.counting.grid.points",
    ),
    "empty point": (
        {"gradients": {"functions": {"notebook_square": {"function": "shifted_square", "points": [[]]}}}},
        {},
        [],
        "gradients.functions.notebook_square.points[0]",
    ),
    "toys for a model without POI": ({"toys": {"no_poi": {"n": 10}}}, {}, [], "toys.no_poi"),
    "fstar on a likelihood problem": (
        {"optimizers": {"problems": {"nll": {"likelihood_model": "counting", "starts": [[1.0, 1.0]], "fstar": 0.0}}}},
        {},
        [],
        "optimizers.problems.nll.fstar",
    ),
    "function reference too long": (gradient_fn("m" * 250 + ":f"), {}, [], "gradients.functions.bad.function"),
    "gpu override for a plot rule": ({"compute": {"gpu_overrides": {"report": 1}}}, {}, [], "compute.gpu_overrides"),
    "experiment outside config/experiments": (None, {}, ["--config", "experiment=../../etc/x"], "'experiment'"),
    "experiment that does not exist": (None, {}, ["--config", "experiment=nope"], "config/experiments/nope.yaml"),
    # -- names Snakemake or the file system cannot take
    "name Snakemake reads as a runaway wildcard": (
        {"fractals": {"ab" * 20: {"kind": "mandelbrot", "width": 8, "height": 8, "iterations": 5}}},
        {},
        [],
        f"fractals.{'ab' * 20}",
    ),
    "name of 70 characters": (
        {"fractals": {"f" + "x1" * 35: {"kind": "mandelbrot", "width": 8, "height": 8, "iterations": 5}}},
        {},
        [],
        "config key 'fractals'",
    ),
    "name longer than a file name may be": (
        {"fractals": {"f" + "y2" * 150: {"kind": "mandelbrot", "width": 8, "height": 8, "iterations": 5}}},
        {},
        [],
        "config key 'fractals'",
    ),
    "name with a path in it": (
        {"fractals": {"../evil": {"kind": "mandelbrot", "width": 8, "height": 8, "iterations": 5}}},
        {},
        [],
        "config key 'fractals'",
    ),
    # -- resource exhaustion
    "YAML alias bomb": (ALIAS_BOMB, {}, [], "expands to more than"),
    "recursive YAML alias": ("a: &a [1, *a]\n", {}, [], "nested deeper than"),
    "nesting 40 levels deep": ("colour: " + "[" * 40 + "]" * 40 + "\n", {}, [], "nested deeper than"),
    "render over the memory cap": (
        {
            "compute": {"max_mem_mb": 16000},
            "fractals": {"big": {"kind": "mandelbrot", "width": 20000, "height": 20000, "iterations": 1000000}},
        },
        {},
        [],
        "fractals.big",
    ),
    "toy shard over the memory cap": (
        {"compute": {"max_mem_mb": 4000}, "toys": {"counting": {"shard_size": 10000000, "n": 10000000}}},
        {},
        [],
        "toys.counting.shard_size",
    ),
    "experiment file that is not YAML": (
        None,
        {"config/experiments/hostile_bad.yaml": "fractals: [1, 2\n  x: : y\n"},
        ["--config", "experiment=hostile_bad"],
        "config/experiments/hostile_bad.yaml: line 2",
    ),
    "experiment file that is a list": (
        None,
        {"config/experiments/hostile_list.yaml": "- 1\n- 2\n"},
        ["--config", "experiment=hostile_list"],
        "config/experiments/hostile_list.yaml: must be a mapping",
    ),
    # -- workspaces
    "observations with one bin too many": (
        ws_model(),
        {"hostile/ws.json": workspace(set_at(["observations", 0, "data"], [1.0, 2.0, 3.0]))},
        [],
        "likelihood.models.ws.workspace",
    ),
    "observations with one bin too few": (
        ws_model(),
        {"hostile/ws.json": workspace(set_at(["observations", 0, "data"], [1.0]))},
        [],
        "likelihood.models.ws.workspace",
    ),
    "sample data longer than its channel": (
        ws_model(),
        {"hostile/ws.json": workspace(set_at(["channels", 0, "samples", 0, "data"], [1.0, 2.0, 3.0]))},
        [],
        "likelihood.models.ws.workspace",
    ),
    "staterror shorter than its sample": (
        ws_model(),
        {"hostile/ws.json": workspace(short_staterror)},
        [],
        "likelihood.models.ws.workspace",
    ),
    "negative observed count": (
        ws_model(),
        {"hostile/ws.json": workspace(set_at(["observations", 0, "data", 0], -5.0))},
        [],
        "likelihood.models.ws.workspace",
    ),
    "Infinity in a workspace": (
        ws_model(),
        {"hostile/ws.json": workspace(set_at(["observations", 0, "data", 0], float("inf")))},
        [],
        "likelihood.models.ws.workspace",
    ),
    "zero expected yield under observed counts": (
        ws_model(),
        {"hostile/ws.json": workspace(zero_yields)},
        [],
        "likelihood.models.ws",
    ),
    "workspace that is not JSON": (
        ws_model(),
        {"hostile/ws.json": "{channels: oops"},
        [],
        "hostile/ws.json",
    ),
    "workspace that is not UTF-8": (ws_model(), {"hostile/ws.json": b"\xff\xfe\x00{"}, [], "hostile/ws.json"),
    "workspace path that is a folder": (ws_model("hostile"), {"hostile/x": ""}, [], "likelihood.models.ws.workspace"),
    "patchset that is not JSON": (
        {"inference": {"signal_grids": {"example": {"patchset": "hostile/ps.json"}}}},
        {"hostile/ps.json": "not json"},
        [],
        "inference.signal_grids.example.patchset",
    ),
    "patchset that is a list": (
        {"inference": {"signal_grids": {"example": {"patchset": "hostile/ps.json"}}}},
        {"hostile/ps.json": "[1, 2]"},
        [],
        "inference.signal_grids.example.patchset",
    ),
    # -- user functions
    "user function of the wrong signature": (
        gradient_fn("hostile.usermod:f"),
        user_module("def f(x):\n    return x[0] ** 2\n"),
        [],
        "gradients.functions.bad.function",
    ),
    "user function returning a vector": (
        gradient_fn("hostile.usermod:f"),
        user_module("def f(x, xp):\n    return x * 2.0\n"),
        [],
        "not a scalar",
    ),
    "user function that raises": (
        gradient_fn("hostile.usermod:f"),
        user_module("def f(x, xp):\n    raise RuntimeError('broken on purpose')\n"),
        [],
        "broken on purpose",
    ),
    "user function returning NaN": (
        gradient_fn("hostile.usermod:f"),
        user_module("def f(x, xp):\n    return xp.sum(xp.log(-xp.exp(x)))\n"),
        [],
        "not a finite number",
    ),
    "user function with a NaN gradient": (
        gradient_fn("hostile.usermod:f", points=[(0.0, 0.0)]),
        user_module("def f(x, xp):\n    return xp.sum(xp.sqrt(x**2))\n"),
        [],
        "gradient of hostile.usermod:f",
    ),
    "user module that raises on import": (
        gradient_fn("hostile.usermod:f"),
        user_module("raise ImportError('half-installed dependency')\n"),
        [],
        "half-installed dependency",
    ),
    "user module that exits on import": (
        gradient_fn("hostile.usermod:f"),
        user_module("import sys\nsys.exit(3)\n"),
        [],
        "raised SystemExit",
    ),
    "user attribute that is not callable": (
        gradient_fn("hostile.usermod:f"),
        user_module("f = 3.0\n"),
        [],
        "gradients.functions.bad.function",
    ),
    "optimizer start of the wrong dimension": (
        {"optimizers": {"problems": {"bad": {"function": "hostile.usermod:f", "starts": [[1.0, 2.0]]}}}},
        user_module("def f(x, xp):\n    return xp.sum(x * xp.asarray([1.0, 2.0, 3.0]))\n"),
        [],
        "optimizers.problems.bad.function",
    ),
}

# Snakemake's own command-line errors, before the workflow is read: exit non-zero, results/
# untouched, Snakemake's message (the file is named where Snakemake names it).
SNAKEMAKE_OWN = {
    "--configfile that does not exist": (["--configfile", "hostile/missing.yaml"], "hostile/missing.yaml"),
    "--configfile that is not YAML": (["--configfile", "hostile/bad.yaml"], "Config file is not valid JSON or YAML"),
}


def write_files(workdir: Path, files: dict) -> None:
    for name, content in files.items():
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


@pytest.fixture(scope="module")
def hostile_dir(pipeline_run):
    yield pipeline_run
    for name in ("hostile", "config/experiments/hostile_bad.yaml", "config/experiments/hostile_list.yaml"):
        path = pipeline_run / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def test_there_are_at_least_forty_hostile_inputs():
    assert len(CASES) + len(SNAKEMAKE_OWN) >= 40 and END_TO_END <= set(CASES)


def forget_user_modules() -> None:
    """Drop the cases' user modules from this process's import cache."""
    importlib.invalidate_caches()
    for name in [n for n in sys.modules if n == "hostile" or n.startswith("hostile.")]:
        del sys.modules[name]


# One case of each class goes through the `snakemake` command itself.
END_TO_END = {
    "reversed bounds",
    "name with a path in it",
    "YAML alias bomb",
    "experiment that does not exist",
    "workspace that is not JSON",
    "user module that exits on import",
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_stops_before_any_job_with_one_message(hostile_dir, case):
    overlay, files, args, expected = CASES[case]
    work = hostile_dir
    shutil.rmtree(work / "hostile", ignore_errors=True)
    write_files(work, files)
    configfiles = []
    if overlay is not None:
        config = work / "hostile" / "config.yaml"
        config.parent.mkdir(exist_ok=True)
        config.write_text(overlay if isinstance(overlay, str) else json.dumps(overlay))
        configfiles = ["hostile/config.yaml"]
    before = results_state(work / "results")
    if case in END_TO_END:
        result = snakemake(
            work, *[a for f in configfiles for a in ("--configfile", f)], *args, check=False, timeout=120
        )
        output = result.stdout + result.stderr
        assert result.returncode != 0, output[-3000:]
        assert "Traceback" not in output, output[-3000:]
    else:
        assert not args or (len(args) == 2 and args[0] == "--config")
        command_line = dict([args[1].split("=", 1)]) if args else {}
        forget_user_modules()  # each case writes its own hostile/usermod.py
        with pytest.raises(Exception) as err:
            with parsed_workflow(work, configfiles, command_line):
                pass
        output = str(err.value)
    messages = [line for line in output.splitlines() if "Invalid configuration:" in line]
    assert len(messages) == 1, output[-3000:]
    assert expected in messages[0], messages[0]
    assert results_state(work / "results") == before


@pytest.mark.parametrize("case", list(SNAKEMAKE_OWN))
def test_snakemake_own_config_file_errors_leave_results_untouched(hostile_dir, case):
    args, expected = SNAKEMAKE_OWN[case]
    write_files(hostile_dir, {"hostile/bad.yaml": "fractals: [1, 2\n  x: : y\n"})
    before = results_state(hostile_dir / "results")
    result = snakemake(hostile_dir, *args, check=False, timeout=120)
    assert result.returncode != 0 and expected in result.stdout + result.stderr
    assert results_state(hostile_dir / "results") == before
