"""Bad configuration: one clear error naming the key (or file), before any job runs."""

import copy
import json
import math

import numpy as np
import pytest
import yaml
from conftest import ROOT, SMALL_CONFIG

from diffpipe.configcheck import ConfigError, check_config

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
WORKSPACE = str(ROOT / "resources" / "pyhf" / "example_bkgonly.json")
PATCHSET = str(ROOT / "resources" / "pyhf" / "example_patchset.json")
GENERATED = str(ROOT / "resources" / "generated" / "bkgonly.json")
GENERATED_PATCHSET = str(ROOT / "resources" / "generated" / "patchset.json")


def base_config():
    cfg = yaml.safe_load(SMALL_CONFIG.read_text())
    cfg["likelihood"]["models"]["ws"] = {"workspace": WORKSPACE, "measurement": "GaussExample", "data": "observed"}
    return cfg


def check(cfg):
    check_config(cfg, SCHEMA)


SHIPPED = ["config.yaml", *(f"experiments/{p.name}" for p in sorted((ROOT / "config" / "experiments").glob("*.yaml")))]


def test_the_base_of_the_bad_cases_is_valid():
    check(base_config())


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_configs_are_valid(name):
    shipped = yaml.safe_load((ROOT / "config" / name).read_text())
    for spec in shipped["likelihood"]["models"].values():
        if "workspace" in spec:
            spec["workspace"] = str(ROOT / spec["workspace"])
    check(shipped)


def edit(path, value):
    def apply(cfg):
        node = cfg
        for key in path[:-1]:
            node = node[key]
        if value is DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value

    return apply


DELETE = object()

BAD = {
    "unknown top-level key": (edit(["colour"], "red"), "<config root>"),
    "unknown nested key": (edit(["fractals", "mandelbrot", "zoom"], 2), "fractals.mandelbrot"),
    "point of wrong type": (
        edit(["gradients", "functions", "notebook_square", "points"], [[1.0], ["x"]]),
        "gradients.functions.notebook_square.points[1][0]",
    ),
    "zero width": (edit(["fractals", "mandelbrot", "width"], 0), "fractals.mandelbrot.width"),
    "negative height": (edit(["fractals", "julia", "height"], -5), "fractals.julia.height"),
    "iterations beyond limit": (
        edit(["fractals", "mandelbrot", "iterations"], 10**8),
        "fractals.mandelbrot.iterations",
    ),
    "NaN": (edit(["controlflow", "interval"], [math.nan, 5.0]), "controlflow.interval[0]"),
    "infinity in a point": (
        edit(["optimizers", "problems", "rosenbrock_2d", "starts"], [[math.inf, 1.0]]),
        "optimizers.problems.rosenbrock_2d.starts[0][0]",
    ),
    "empty method list": (edit(["optimizers", "methods"], []), "optimizers.methods"),
    "init start of a function problem": (
        edit(["optimizers", "problems", "rosenbrock_2d", "starts"], ["init"]),
        "optimizers.problems.rosenbrock_2d.starts",
    ),
    "tile that does not divide the dimension": (
        edit(["optimizers", "problems", "rosenbrock_2d", "starts"], [{"tile": [1.0, 2.0], "dimension": 3}]),
        "optimizers.problems.rosenbrock_2d.starts[0].dimension",
    ),
    "unknown native method": (edit(["optimizers", "native_methods"], ["optax-sgd"]), "optimizers.native_methods[0]"),
    "zero repeats": (
        edit(["optimizers", "problems", "rosenbrock_2d", "repeats"], 0),
        "optimizers.problems.rosenbrock_2d.repeats",
    ),
    "unknown method": (edit(["optimizers", "methods"], ["BFGS", "Magic"]), "optimizers.methods[1]"),
    "julia without c": (edit(["fractals", "julia", "c"], DELETE), "fractals.julia.c"),
    "mandelbrot with c": (edit(["fractals", "mandelbrot", "c"], [0.1, 0.2]), "fractals.mandelbrot.c"),
    "viewport xmin >= xmax": (
        edit(["fractals", "mandelbrot", "viewport"], [1.0, -1.0, -1.0, 1.0]),
        "fractals.mandelbrot.viewport",
    ),
    "interval reversed": (edit(["controlflow", "interval"], [5.0, -2.0]), "controlflow.interval"),
    "too few control-flow points": (edit(["controlflow", "points"], 1), "controlflow.points"),
    "user function does not import": (
        edit(["gradients", "functions", "notebook_square", "function"], "no_such_module_q:f"),
        "gradients.functions.notebook_square.function",
    ),
    "unknown registry function": (
        edit(["optimizers", "problems", "rosenbrock_2d", "function"], "banana"),
        "optimizers.problems.rosenbrock_2d.function",
    ),
    "mixed start dimensions": (
        edit(["optimizers", "problems", "rosenbrock_2d", "starts"], [[1.0, 2.0], [1.0]]),
        "optimizers.problems.rosenbrock_2d.starts",
    ),
    "function and likelihood model": (
        edit(["optimizers", "problems", "rosenbrock_2d", "likelihood_model"], "counting"),
        "optimizers.problems.rosenbrock_2d",
    ),
    "unknown likelihood model": (
        edit(["optimizers", "problems", "nll"], {"likelihood_model": "nope", "starts": [[1.0, 1.0]]}),
        "optimizers.problems.nll.likelihood_model",
    ),
    "likelihood problem start of the wrong dimension": (
        edit(["optimizers", "problems", "nll"], {"likelihood_model": "counting", "starts": [[1.0, 1.0, 1.0]]}),
        "optimizers.problems.nll.starts",
    ),
    "user function that returns a vector": (
        edit(["gradients", "functions", "notebook_square", "function"], "user_functions:vector_valued"),
        "gradients.functions.notebook_square.function",
    ),
    "missing workspace file": (
        edit(["likelihood", "models", "ws", "workspace"], "/nonexistent/ws.json"),
        "likelihood.models.ws.workspace",
    ),
    "workspace failing pyhf's schema": (
        edit(["likelihood", "models", "ws"], {"workspace": str(ROOT / "tests" / "data" / "broken_workspace.json")}),
        "broken_workspace.json",
    ),
    "unknown measurement": (
        edit(["likelihood", "models", "ws", "measurement"], "Nope"),
        "likelihood.models.ws.measurement",
    ),
    "unknown parameter in bounds": (
        edit(["likelihood", "models", "counting", "bounds"], {"nu": [0.0, 1.0]}),
        "likelihood.models.counting.bounds.nu",
    ),
    "unknown held parameter": (
        edit(["likelihood", "models", "counting", "fixed"], {"nu": 1.0}),
        "likelihood.models.counting.fixed.nu",
    ),
    "held value outside its bounds": (
        edit(["likelihood", "models", "counting", "fixed"], {"mu": 20.0}),
        "likelihood.models.counting.fixed.mu",
    ),
    "pruning an unknown channel": (
        edit(["likelihood", "models", "ws", "prune"], {"channels": ["SR"]}),
        "likelihood.models.ws.prune.channels",
    ),
    "pruning an unknown modifier type": (
        edit(["likelihood", "models", "ws", "prune"], {"modifier_types": ["jes"]}),
        "likelihood.models.ws.prune.modifier_types",
    ),
    "pruning a simple model": (
        edit(["likelihood", "models", "counting", "prune"], {"channels": ["singlechannel"]}),
        "likelihood.models.counting",
    ),
    "an unknown test statistic": (edit(["inference", "test_statistic"], "q0"), "inference.test_statistic"),
    "an impact group naming no parameter": (
        edit(["inference", "impact_groups"], {"theory": ["kind:normsys", "JES"]}),
        "inference.impact_groups.theory",
    ),
    "an impact group of an unknown kind": (
        edit(["inference", "impact_groups"], {"theory": ["kind:jes"]}),
        "inference.impact_groups.theory[0]",
    ),
    "unknown grid parameter": (
        edit(["likelihood", "models", "counting", "grid", "y"], "gamma"),
        "likelihood.models.counting.grid.y",
    ),
    "grid over one parameter twice": (
        edit(["likelihood", "models", "counting", "grid", "y"], "mu"),
        "likelihood.models.counting.grid",
    ),
    "model both simple and workspace": (
        edit(["likelihood", "models", "counting", "workspace"], WORKSPACE),
        "likelihood.models.counting",
    ),
    "unequal simple lists": (
        edit(["likelihood", "models", "counting", "simple", "signal"], [5.0, 1.0]),
        "likelihood.models.counting.simple",
    ),
    "patch without patchset": (edit(["likelihood", "models", "ws", "patch"], "p"), "likelihood.models.ws"),
    "unknown patch": (
        edit(["likelihood", "models", "ws"], {"workspace": WORKSPACE, "patchset": PATCHSET, "patch": "nope"}),
        "likelihood.models.ws.patch",
    ),
    "patchset of another workspace": (
        edit(
            ["likelihood", "models", "ws"],
            {"workspace": GENERATED, "patchset": PATCHSET, "patch": "patch_channel1_signal_syst1"},
        ),
        "likelihood.models.ws.patchset",
    ),
    "POI that is not a parameter": (edit(["likelihood", "models", "ws", "poi"], "mu_nope"), "likelihood.models.ws.poi"),
    "signal grid: missing patchset file": (
        edit(["inference", "signal_grids", "example", "patchset"], "/nonexistent/ps.json"),
        "inference.signal_grids.example.patchset",
    ),
    "signal grid: patchset of another workspace": (
        edit(["inference", "signal_grids", "example", "patchset"], GENERATED_PATCHSET),
        "inference.signal_grids.example.patchset",
    ),
    "signal grid: unknown patch name": (
        edit(["inference", "signal_grids", "example", "patches"], ["nope"]),
        "inference.signal_grids.example.patches",
    ),
    "signal grid: unknown patch values": (
        edit(["inference", "signal_grids", "example", "patches"], {"values": [[7.0]]}),
        "inference.signal_grids.example.patches.values",
    ),
    "signal grid: bad confidence level": (edit(["inference", "cl"], 1.5), "inference.cl"),
    "bad figure format": (edit(["figures", "format"], "jpg"), "figures.format"),
    "unknown colormap": (edit(["figures", "colormap"], "rainbow_unicorn"), "figures.colormap"),
    "dpi of wrong type": (edit(["figures", "dpi"], "high"), "figures.dpi"),
    "negative gpu count": (edit(["compute", "gpu"], -1), "compute.gpu"),
    "gpu override for an unknown rule": (edit(["compute", "gpu_overrides"], {"report": 1}), "compute.gpu_overrides"),
    "fractals not a mapping": (edit(["fractals"], ["mandelbrot"]), "fractals"),
    "counting model: zero background": (
        edit(["likelihood", "models", "counting", "simple", "background"], [0.0]),
        "likelihood.models.counting.simple.background[0]",
    ),
    "counting model: zero uncertainty": (
        edit(["likelihood", "models", "counting", "simple", "background_uncertainty"], [0.0]),
        "likelihood.models.counting.simple.background_uncertainty[0]",
    ),
    "counting model: no signal": (
        edit(["likelihood", "models", "counting", "simple", "signal"], [0.0]),
        "likelihood.models.counting.simple.signal",
    ),
    "bad entry name": (edit(["fractals", "9lives"], {"kind": "mandelbrot"}), "fractals"),
    "design: bins wider than the range": (
        edit(["optimize_analysis", "design", "min_width"], 0.4),
        "optimize_analysis.design.min_width",
    ),
    "design: unordered grid": (edit(["optimize_analysis", "design", "grid", "cut"], [0.8, 0.2]), "design.grid.cut"),
    "design: unknown loss": (edit(["optimize_analysis", "design", "loss"], "auc"), "optimize_analysis.design.loss"),
    "design: two event sources": (
        edit(["optimize_analysis", "design", "events", "npz"], "x.npz"),
        "optimize_analysis.design.events",
    ),
    "design: missing events file": (
        edit(["optimize_analysis", "design", "events"], {"npz": "no/such/events.npz"}),
        "optimize_analysis.design.events.npz",
    ),
    "toy limit: min_toys above max_toys": (
        edit(["toys", "counting", "limit", "min_toys"], 5000),
        "toys.counting.limit.min_toys",
    ),
    "toy limit: a round larger than max_toys": (
        edit(["toys", "counting", "limit", "toys_per_round"], 3000),
        "toys.counting.limit.toys_per_round",
    ),
    "toy limit: a target of zero": (
        edit(["toys", "counting", "limit", "cls_accuracy"], 0.0),
        "toys.counting.limit.cls_accuracy",
    ),
    "toy limit: one point": (edit(["toys", "counting", "limit", "points"], 1), "toys.counting.limit.points"),
    "binning of a channel the model lacks": (
        edit(["likelihood", "models", "counting", "binning"], {"SR": {"observable": "m", "edges": [0.0, 1.0]}}),
        "likelihood.models.counting.binning.SR': not a channel of the model",
    ),
    "binning with an edge too many": (
        edit(["likelihood", "models", "counting", "binning", "singlechannel", "edges"], [0.0, 1.0, 2.0]),
        "likelihood.models.counting.binning.singlechannel.edges': 3 edges for 1 bins",
    ),
    "binning with decreasing edges": (
        edit(["likelihood", "models", "counting", "binning", "singlechannel", "edges"], [2.0, 1.0]),
        "likelihood.models.counting.binning.singlechannel.edges': the edges must increase",
    ),
    "binning without its observable": (
        edit(["likelihood", "models", "counting", "binning", "singlechannel", "observable"], DELETE),
        "likelihood.models.counting.binning.singlechannel",
    ),
    "a unit that is not text": (edit(["units"], {"m1": 3}), "units.m1"),
    "a luminosity of zero": (edit(["figures", "luminosity_ifb"], 0), "figures.luminosity_ifb"),
    "a HEPData description of no table": (
        edit(["hepdata"], {"descriptions": {"Limits nowhere": "text"}}),
        "hepdata.descriptions.Limits nowhere': no such table",
    ),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_config_names_the_key(name):
    mutate, key = BAD[name]
    cfg = copy.deepcopy(base_config())
    mutate(cfg)
    with pytest.raises(ConfigError) as err:
        check(cfg)
    assert key in str(err.value), str(err.value)
    assert "\n" not in str(err.value)  # one message, one line


@pytest.mark.parametrize(
    "damage, message",
    [
        ("missing", "background_1_up: missing"),
        ("shape", "signal: shape (30,), not (n, 2)"),
        ("negative", "background_2_weight: weights must be >= 0"),
        ("not npz", "not a readable .npz file"),
    ],
)
def test_a_design_events_file_that_breaks_the_layout_is_refused_naming_file_and_key(tmp_path, damage, message):
    from diffpipe.design.events import generate

    arrays = generate(1, 30).arrays()
    if damage == "missing":
        del arrays["background_1_up"]
    elif damage == "shape":
        arrays["signal"] = arrays["signal"][:, 0]
    elif damage == "negative":
        arrays["background_2_weight"][3] = -1.0
    path = tmp_path / "events.npz"
    if damage == "not npz":
        path.write_text("x,y\n1,2\n")
    else:
        np.savez(path, **arrays)
    cfg = copy.deepcopy(base_config())
    cfg["optimize_analysis"]["design"]["events"] = {"npz": str(path)}
    with pytest.raises(ConfigError) as err:
        check(cfg)
    assert "optimize_analysis.design.events.npz" in str(err.value) and str(path) in str(err.value)
    assert message in str(err.value), str(err.value)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("bounds", [[5.0, 1.0]], "parameters[0].bounds[0] = [5.0, 1.0] needs lo < hi"),
        ("inits", [20.0], "parameters[0].inits[0] = 20.0 lies outside its bounds [0.0, 10.0]"),
        ("sigmas", [0.0], "parameters[0].sigmas[0] = 0.0 must be positive"),
    ],
)
def test_a_workspace_measurement_with_bad_numbers_is_refused_naming_the_file(tmp_path, field, value, message):
    spec = json.loads((ROOT / "resources" / "pyhf" / "example_bkgonly.json").read_text())
    parameter = {"name": "SigXsecOverSM", "bounds": [[0.0, 10.0]], "inits": [1.0], field: value}
    spec["measurements"][0]["config"]["parameters"] = [parameter]
    path = tmp_path / "ws.json"
    path.write_text(json.dumps(spec))
    cfg = copy.deepcopy(base_config())
    cfg["likelihood"]["models"]["ws"] = {"workspace": str(path), "measurement": "GaussExample", "data": "observed"}
    with pytest.raises(ConfigError) as err:
        check(cfg)
    assert str(path) in str(err.value) and "likelihood.models.ws.workspace" in str(err.value)
    assert message in str(err.value) and "'SigXsecOverSM'" in str(err.value)


def test_cli_override_strings_are_read_as_numbers_and_booleans():
    """`snakemake --config 'benchmark={enabled: true}'` delivers 'true' as a string."""
    cfg = base_config()
    cfg["benchmark"] = {"enabled": "true", "repeats": "3", "grid_model": "counting"}
    cfg["controlflow"] = {"points": "20", "interval": ["-1", "1e1"]}
    check(cfg)
    assert cfg["benchmark"]["enabled"] is True and cfg["benchmark"]["repeats"] == 3
    assert cfg["controlflow"] == {"points": 20, "interval": [-1, 10.0]}


def test_a_user_function_that_never_returns_is_refused_in_bounded_time(tmp_path, monkeypatch):
    import time

    from diffpipe.configcheck import probes

    (tmp_path / "slow_mod.py").write_text("import time\n\ndef f(x, xp):\n    time.sleep(60)\n    return xp.sum(x)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(probes, "PROBE_TIMEOUT_S", 1)
    cfg = base_config()
    cfg["gradients"]["functions"]["slow"] = {"function": "slow_mod:f", "points": [[1.0]]}
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"gradients.functions.slow.function': slow_mod:f did not return within 1 s"):
        check(cfg)
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize(
    "text, key",
    [
        (
            "a: &a [x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, n in zip("abcdefgh", "bcdefghi")
            ),
            "expands to more",
        ),
        ("a: &a [1, *a]\n", "nested deeper"),
    ],
)
def test_pathological_yaml_is_refused_quickly(text, key):
    import time

    cfg = base_config()
    cfg.update(yaml.safe_load(text))
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=key):
        check(cfg)
    assert time.perf_counter() - started < 2


def test_resource_estimates_cover_the_outputs_and_the_cap_refuses_big_jobs():
    from diffpipe import resources

    spec = {"kind": "mandelbrot", "width": 20000, "height": 20000, "iterations": 10**6}
    counts_mb = 20000 * 20000 * 4 / 2**20
    assert resources.fractal_job(spec)["mem_mb"] > counts_mb
    assert resources.plot_fractal_job(spec)["mem_mb"] > 3 * counts_mb  # float64 shading of the counts
    assert resources.fractal_job(spec)["runtime"] > 60 * 24
    assert resources.fractal_job({**spec, "width": 64, "height": 48, "iterations": 60})["runtime"] <= 10
    grid = resources.grid_scan_job(4000)
    assert grid["mem_mb"] > 4000 * 4000 * 3 * 8 / 2**20 and grid["runtime"] > 60  # values and gradients
    assert resources.grid_scan_job(21)["runtime"] <= 20
    assert resources.toy_runtime(10, 10**7) > 60 * resources.toy_runtime(2, 200) / 10
    cfg = base_config()
    cfg["compute"]["max_mem_mb"] = 16000
    cfg["fractals"]["big"] = spec
    with pytest.raises(ConfigError, match=r"fractals.big': its \w+ job needs about \d+ MB"):
        check(cfg)
    # a design's soft histograms hold a row per simulated event: their memory follows the events
    design = yaml.safe_load(SMALL_CONFIG.read_text())["optimize_analysis"]["design"]
    small = resources.design_job({**design, "bins": 3, "steps": 8, "grid": {"points": 4}, "bootstrap": {"replicas": 3}})
    assert 1000 < small["mem_mb"] < 2000 and small["runtime"] <= 10
    cfg = base_config()
    cfg["compute"]["max_mem_mb"] = 8000
    cfg["optimize_analysis"]["design"]["events"] = {"generator": {"events_per_sample": 10**7}}
    with pytest.raises(ConfigError, match=r"optimize_analysis.design': its optimize_analysis job needs about \d+ MB"):
        check(cfg)


@pytest.mark.parametrize(
    "stage",
    [
        {"likelihood": {"models": {"mine": {"workspace": WORKSPACE}}}},
        {"inference": {"signal_grids": {"grid": {"workspace": WORKSPACE, "patchset": PATCHSET}}}},
        {"fractals": {"set": {"kind": "mandelbrot", "width": 20, "height": 20}}},
        {"controlflow": {}},
        {},
    ],
    ids=["one model", "one signal grid", "one fractal", "control flow", "nothing"],
)
def test_every_stage_is_optional(stage):
    cfg = copy.deepcopy(stage)
    check(cfg)
    assert cfg["gradients"]["functions"] == {} and cfg["optimizers"]["problems"] == {}
    assert ("controlflow" in cfg) == ("controlflow" in stage)  # absent: the stage is off
    for section, entries in (("likelihood", "models"), ("fractals", None)):
        if section not in stage:
            assert (cfg[section][entries] if entries else cfg[section]) == {}


def test_an_experiment_is_a_name_or_a_yaml_file_anywhere(tmp_path, monkeypatch):
    from diffpipe.configcheck.guards import experiment_file

    monkeypatch.chdir(ROOT)
    assert experiment_file(None) == "config/config.yaml"
    assert experiment_file("small") == "config/experiments/small.yaml"
    assert experiment_file("config/experiments/small.yaml") == "config/experiments/small.yaml"
    assert experiment_file(str(ROOT / "config/experiments/small.yaml")) == "config/experiments/small.yaml"
    mine = tmp_path / "mine.yml"
    mine.write_text("fractals: {}\n")
    assert experiment_file(str(mine)) == str(mine)  # outside the project: absolute
    (tmp_path / "folder.yaml").mkdir()
    for value, named in [
        (str(tmp_path / "folder.yaml"), "is a folder"),
        (str(tmp_path), "is a folder"),
        (str(tmp_path / "absent.yaml"), "absent.yaml: not found"),
        (str(tmp_path / "notes.txt"), "neither a name"),
    ]:
        with pytest.raises(ConfigError, match=named):
            experiment_file(value)
