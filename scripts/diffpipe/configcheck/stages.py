"""The checks the schema cannot express, stage by stage.

Names exist, ranges are ordered, numbers are not degenerate, starts have the model's dimension;
the models, workspaces and signal grids a config names are `configcheck.likelihoods`'.
"""

from collections.abc import Mapping
from pathlib import Path

from diffpipe.configcheck.cache import NO_CACHE, CheckCache, user_module_file
from diffpipe.configcheck.errors import ConfigError, ordered
from diffpipe.configcheck.likelihoods import check_model, check_signal_grid
from diffpipe.configcheck.probes import probe_function
from diffpipe.workspaces import entry_files


def check_gradients(cfg: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """Every gradient function resolves and gives a finite value and gradient at its points.

    Args:
        cfg: the `gradients` section.
        cache: cache of passed checks.
    """
    for name, entry in cfg["functions"].items():
        ref, points, where = entry["function"], entry["points"], f"gradients.functions.{name}.function"
        cache.run(
            ["probe", ref, points],
            user_module_file(ref),
            lambda ref=ref, points=points, where=where: probe_function(ref, points, where),
        )


def check_controlflow(cfg: Mapping) -> None:
    """The control-flow interval is ordered.

    Args:
        cfg: the `controlflow` section.
    """
    ordered(cfg["interval"], "controlflow.interval")


def check_fractals(fractals: Mapping) -> None:
    """Viewports are ordered; Julia sets have a constant, Mandelbrot sets none.

    Args:
        fractals: the `fractals` section.
    """
    for name, entry in fractals.items():
        where = f"fractals.{name}"
        xmin, xmax, ymin, ymax = entry["viewport"]
        ordered((xmin, xmax), f"{where}.viewport (xmin, xmax)")
        ordered((ymin, ymax), f"{where}.viewport (ymin, ymax)")
        if entry["kind"] == "julia" and "c" not in entry:
            raise ConfigError(f"config key '{where}.c': a julia fractal needs its constant c = [re, im]")
        if entry["kind"] == "mandelbrot" and "c" in entry:
            raise ConfigError(f"config key '{where}.c': only julia fractals take a constant c")


def check_optimizers(cfg: Mapping, likelihood_models: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """Start dimensions agree, likelihood problems name a model, functions resolve.

    Args:
        cfg: the `optimizers` section.
        likelihood_models: the `likelihood.models` section.
        cache: cache of passed checks.
    """
    from diffpipe.starts import INIT, expand_starts

    for name, entry in cfg["problems"].items():
        where = f"optimizers.problems.{name}"
        likelihood = "likelihood_model" in entry
        explicit = {"starts": [s for s in entry["starts"] if s != INIT]}
        if INIT in entry["starts"] and not likelihood:
            raise ConfigError(f"config key '{where}.starts': 'init' starts need a likelihood_model problem")
        try:
            starts = expand_starts(explicit, where)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        dims = {len(start) for start in starts}
        if len(dims) > 1:
            raise ConfigError(f"config key '{where}.starts': all start points need one dimension, got {sorted(dims)}")
        if likelihood:
            if "fstar" in entry:
                raise ConfigError(f"config key '{where}.fstar': a likelihood problem's f* comes from its model's fit")
            if entry["likelihood_model"] not in likelihood_models:
                raise ConfigError(
                    f"config key '{where}.likelihood_model': unknown model {entry['likelihood_model']!r}; "
                    f"valid: {sorted(likelihood_models)}"
                )
            if not dims:
                continue  # only "init" starts: the model's own parameters
            model = likelihood_models[entry["likelihood_model"]]
            files = entry_files(model)
            dim = dims.pop()
            cache.run(
                ["problem_dimension", model, dim],
                files,
                lambda model=model, dim=dim, where=f"{where}.starts": _check_dimension(model, dim, where),
            )
        elif entry["function"] != "ill_conditioned_quadratic":
            ref = entry["function"]
            cache.run(
                ["probe", ref, starts],
                user_module_file(ref),
                lambda ref=ref, starts=starts, where=f"{where}.function": probe_function(ref, starts, where),
            )


def _check_dimension(model_entry: Mapping, dim: int, where: str) -> None:
    from diffpipe.models import build_model

    model, _ = build_model(model_entry)
    free = [n for n, fixed in zip(model.config.par_names, model.config.suggested_fixed()) if not fixed]
    if len(free) != dim:
        raise ConfigError(
            f"config key '{where}': starts have {dim} components; the model has {len(free)} free parameters {free}"
        )


def check_conditions(cfg: Mapping) -> None:
    """Only ill_conditioned_quadratic problems take `condition` (checked before defaults fill it in).

    Args:
        cfg: the raw config.
    """
    problems = (cfg.get("optimizers") or {}).get("problems") or {}
    for name, entry in problems.items():
        if isinstance(entry, Mapping) and "condition" in entry and entry.get("function") != "ill_conditioned_quadratic":
            raise ConfigError(
                f"config key 'optimizers.problems.{name}.condition': only ill_conditioned_quadratic takes it"
            )


def check_likelihood(cfg: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """Build every model (cached): workspaces, measurements, bounds and grid parameters.

    Args:
        cfg: the `likelihood` section.
        cache: cache of passed checks.
    """
    for name, entry in cfg["models"].items():
        files = entry_files(entry)
        cache.run(["model", entry], files, lambda name=name, entry=entry: check_model(name, entry))


def check_inference(cfg: Mapping, models: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """Every signal grid builds, and the impact groups name parameters of the models (cached).

    A signal grid's patchset belongs to its workspace, the patches it selects exist, and their
    models build with a POI. Each impact-group item names a parameter (or a vector parameter,
    or `kind:<type>` a modifier type) of some likelihood model with a POI.

    Args:
        cfg: the `inference` section.
        models: the `likelihood.models` section.
        cache: cache of passed checks.
    """
    if cfg["impact_groups"] is not None:
        files = [f for entry in models.values() for f in entry_files(entry)]
        cache.run(["impact_groups", cfg["impact_groups"], models], files, lambda: _check_groups(cfg, models))
    for name, signal_grid in cfg["signal_grids"].items():
        files = [signal_grid["workspace"], signal_grid["patchset"]]
        cache.run(
            ["signal_grid", signal_grid],
            files,
            lambda name=name, signal_grid=signal_grid: check_signal_grid(name, signal_grid),
        )


def _check_groups(cfg: Mapping, models: Mapping) -> None:
    from diffpipe.models import build_model, parameter_kinds
    from diffpipe.workspaces import model_poi

    described = []
    for entry in models.values():
        if model_poi(entry)[0] is None:
            continue
        model, _ = build_model(entry)
        kinds = {k for types in parameter_kinds(model).values() for k in types}
        described.append((list(model.config.par_names), list(model.config.par_order), kinds))
    for group, bad in unknown_items(described, cfg["impact_groups"]).items():
        raise ConfigError(
            f"config key 'inference.impact_groups.{group}': {bad} name no parameter or modifier type "
            "of any likelihood model with a POI"
        )


def unknown_items(model_parameters: list[tuple[list[str], list[str], set[str]]], groups: Mapping) -> dict:
    """The group items no model has, for the config check.

    Args:
        model_parameters: per model (parameter names, parameter set names, modifier types).
        groups: `inference.impact_groups`.

    Returns:
        group -> unknown items (only groups with some).
    """
    names = {n for pars, sets, _ in model_parameters for n in (*pars, *sets)}
    kinds = {k for _, _, types in model_parameters for k in types}

    def known(item: str) -> bool:
        return item[5:] in kinds if item.startswith("kind:") else item in names

    return {group: bad for group, items in groups.items() if (bad := [i for i in items if not known(i)])}


def check_toys(cfg: Mapping, models: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """Each toy study names a model with a POI and only its parameters (cached).

    Args:
        cfg: the `toys` section.
        models: the `likelihood.models` section.
        cache: cache of passed checks.
    """
    for name, toys in cfg.items():
        where = f"toys.{name}"
        if name not in models:
            raise ConfigError(f"config key '{where}': no likelihood model {name!r}; valid: {sorted(models)}")
        if "limit" in toys:
            _check_toy_limit(f"{where}.limit", toys["limit"])
        entry = models[name]
        files = entry_files(entry)
        cache.run(
            ["toys", entry, toys],
            files,
            lambda where=where, entry=entry, toys=toys: _check_toy_model(where, entry, toys),
        )


def _check_toy_limit(where: str, limit: Mapping) -> None:
    if limit["min_toys"] > limit["max_toys"]:
        raise ConfigError(f"config key '{where}.min_toys': {limit['min_toys']} is above max_toys ({limit['max_toys']})")
    if limit["toys_per_round"] > limit["max_toys"]:
        raise ConfigError(
            f"config key '{where}.toys_per_round': {limit['toys_per_round']} is above max_toys "
            f"({limit['max_toys']}): not one round would fit"
        )


def _check_toy_model(where: str, entry: Mapping, toys: Mapping) -> None:
    from diffpipe.models import build_model
    from diffpipe.workspaces import model_poi

    if model_poi(entry)[0] is None:
        raise ConfigError(f"config key '{where}': the model has no POI ({model_poi(entry)[1]}); coverage needs one")
    model, _ = build_model(entry)
    for par in toys.get("parameters", {}):
        if par not in model.config.par_names:
            raise ConfigError(
                f"config key '{where}.parameters.{par}': unknown parameter; valid: {list(model.config.par_names)}"
            )


def _check_colormap(name: str) -> None:
    import matplotlib

    if name not in matplotlib.colormaps:
        raise ConfigError(f"config key 'figures.colormap': unknown colormap {name!r}")


def check_figures(cfg: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """The colormap exists in matplotlib (cached).

    Args:
        cfg: the `figures` section.
        cache: cache of passed checks.
    """
    cache.run(["colormap", cfg["colormap"]], [], lambda: _check_colormap(cfg["colormap"]))


def check_resources(config: Mapping) -> None:
    """No job's estimated memory exceeds `compute.max_mem_mb` (diffpipe.resources).

    Args:
        config: the config (defaults filled, models checked).
    """
    from diffpipe.resources import planned_memory

    cap = config["compute"]["max_mem_mb"]
    for key, rule, mem_mb in planned_memory(config):
        if mem_mb > cap:
            raise ConfigError(
                f"config key '{key}': its {rule} job needs about {mem_mb} MB, more than "
                f"compute.max_mem_mb = {cap}; make it smaller or raise compute.max_mem_mb"
            )


def check_designs(designs: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """Ranges are ordered, the bins fit the range, a design's events file is readable in the layout.

    Args:
        designs: the `optimize_analysis` section.
        cache: cache of passed checks.
    """
    for name, entry in designs.items():
        where = f"optimize_analysis.{name}"
        ordered(entry["range"], f"{where}.range")
        ordered(entry["grid"]["cut"], f"{where}.grid.cut")
        if entry["bins"] * entry["min_width"] >= 1.0:
            raise ConfigError(
                f"config key '{where}.min_width': {entry['bins']} bins of at least {entry['min_width']:g} "
                "of the range do not fit in it (bins x min_width must be < 1)"
            )
        if entry["mu_test"] >= entry["mu_max"]:
            raise ConfigError(f"config key '{where}.mu_test': must be below mu_max ({entry['mu_max']:g})")
        path = entry["events"].get("npz")
        if path is not None:
            cache.run(["design-events", path], [path], lambda path=path, where=where: _check_events(path, where))


def _check_events(path: str, where: str) -> None:
    from diffpipe.design.events import EventsError, read_npz

    if not Path(path).is_file():
        raise ConfigError(f"config key '{where}.events.npz': no such file {path!r}")
    try:
        read_npz(path)
    except EventsError as err:
        raise ConfigError(f"config key '{where}.events.npz': {err}") from None


def check_semantics(config: Mapping, cache: CheckCache = NO_CACHE) -> None:
    """Checks JSON Schema cannot express; `config` has its defaults filled.

    Args:
        config: the whole config.
        cache: cache of passed checks.
    """
    check_gradients(config["gradients"], cache)
    if "controlflow" in config:
        check_controlflow(config["controlflow"])
    check_fractals(config["fractals"])
    check_likelihood(config["likelihood"], cache)
    check_inference(config["inference"], config["likelihood"]["models"], cache)
    check_toys(config["toys"], config["likelihood"]["models"], cache)
    check_optimizers(config["optimizers"], config["likelihood"]["models"], cache)
    check_designs(config["optimize_analysis"], cache)
    bench = config["benchmark"]
    if bench["enabled"]:
        timed = bench["inference"]
        for name, entry in timed["models"].items():
            files = entry_files(entry)
            cache.run(
                ["model", entry],
                files,
                lambda name=name, entry=entry: check_model(name, entry, "benchmark.inference.models"),
            )
        if timed["grid"] is not None and timed["grid"] not in config["inference"]["signal_grids"]:
            raise ConfigError(f"config key 'benchmark.inference.grid': unknown signal grid {timed['grid']!r}")
    if bench["enabled"] and bench["grid_model"] not in config["likelihood"]["models"]:
        raise ConfigError(
            f"config key 'benchmark.grid_model': unknown model {bench['grid_model']!r}; "
            f"valid: {sorted(config['likelihood']['models'])}"
        )
    check_figures(config["figures"], cache)
    if config["hepdata"]:
        check_hepdata(config["hepdata"], config["likelihood"]["models"], config["inference"]["signal_grids"])
    check_resources(config)


def check_hepdata(record: Mapping, models: Mapping, grids: Mapping) -> None:
    """Each of `hepdata.descriptions` names a table of a configured grid or model: "<kind> <entry>".

    The record's job checks the kind too (it knows the tables it writes); here the entry is
    checked before any job runs.

    Args:
        record: the `hepdata` section.
        models: the likelihood models.
        grids: the signal grids.

    Raises:
        ConfigError: a name that ends in no grid's or model's name.
    """
    entries = [*grids, *models]
    for name in record.get("descriptions", {}):
        if not any(name.endswith(f" {entry}") for entry in entries):
            raise ConfigError(
                f"config key 'hepdata.descriptions.{name}': no such table; a table is named '<kind> <entry>' "
                f"(e.g. 'Limits <grid>', 'Yields <model>') with an entry of {sorted(entries)}"
            )
