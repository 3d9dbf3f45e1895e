"""Entry points of the inference rules.

inference: limits, significance, impacts, goodness of fit and yields of a model with a POI;
postfit: goodness of fit and yields of a model without one; signal_grid: limits over a patchset.
One job per model compiles its likelihood once.
"""

import logging
import time

import numpy as np
import pandas as pd

log = logging.getLogger("diffpipe")


def _analysis(entry: dict):
    from diffpipe.inference.analysis import prepare
    from diffpipe.models import build_model
    from diffpipe.runtime import enable_float64
    from diffpipe.workspaces import model_origin

    enable_float64()
    model, data = build_model(entry)
    return prepare(model, data, entry), model_origin(entry)


GOF_SEED = 0  # root seed of the goodness-of-fit toys (their keys also fold in the model's name)


def _postfit(analysis, name: str, gof_toys: int) -> tuple[dict, list[dict]]:
    from diffpipe.inference.gof import goodness_of_fit, toy_p_value
    from diffpipe.inference.yields import yield_table

    gof = goodness_of_fit(analysis)
    # no degrees of freedom: the statistic is 0 up to rounding, and no toy can tell more
    toys = gof_toys if gof["ndof"] > 0 else 0
    gof.update(toy_p_value(analysis, gof["chi2"], toys, GOF_SEED, name))
    return gof, yield_table(analysis)


def _write_postfit(analysis, products, name: str, entry: dict, origin: dict, prov, outputs: dict) -> None:
    from diffpipe.artifacts import GoodnessOfFit, Yields

    gof, rows = products
    config = analysis.model.config
    common = {"model": name, "definition": entry, "origin": origin, "provenance": prov}
    p = gof["p_value"]
    shown_p = f"{p:.4g}" if p is not None and np.isfinite(p) else "n/a (no degrees of freedom)"
    log.info("%s: chi2 = %.4g for %d dof, p = %s", name, gof["chi2"], gof["ndof"], shown_p)
    if gof["toy_p_value"] is not None:
        log.info(
            "%s: from %d toys p = %.4g ± %.2g", name, gof["toys_converged"], gof["toy_p_value"], gof["toy_p_error"]
        )
    GoodnessOfFit(**common, **gof).write(outputs["gof"])
    Yields(
        table=pd.DataFrame(rows),
        channels=list(config.channels),
        samples=list(config.samples),
        bins={ch: int(n) for ch, n in config.channel_nbins.items()},
        **common,
    ).write(outputs["yields"])


def run_postfit(job, name: str, entry: dict, settings: dict, outputs: dict) -> None:
    """Rule `postfit`: goodness of fit and pre/post-fit yields of one model without a POI.

    Args:
        job: the `runtime.Job`.
        name: the model's name.
        entry: its config entry (without `grid`).
        settings: the `inference` keys (gof_toys).
        outputs: paths `gof` and `yields`.
    """
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job

    with compute_job(job) as device:
        started = time.perf_counter()
        analysis, origin = _analysis(entry)
        products = _postfit(analysis, name, settings["gof_toys"])
        prov = Provenance.record({"model": entry, "settings": settings}, device, time.perf_counter() - started)
        _write_postfit(analysis, products, name, entry, origin, prov, outputs)


def run_inference(job, name: str, entry: dict, settings: dict, outputs: dict) -> None:
    """Rule `inference`: CLs limits, significance, impacts, goodness of fit and yields of one model with a POI.

    Args:
        job: the `runtime.Job`.
        name: the model's name.
        entry: its config entry (without `grid`).
        settings: the `inference` keys (cl, curve_points, poi_bound_max, gof_toys, test_statistic,
            impact_groups).
        outputs: paths `limits`, `significance`, `impacts`, `impact_groups`, `gof` and `yields`.
    """
    from diffpipe.artifacts import ImpactGroups, Impacts, Limits, Significance
    from diffpipe.inference.groups import STAT, TOTAL, grouped_impacts, quadrature_sum, resolve_groups
    from diffpipe.inference.impacts import impacts, ranked
    from diffpipe.inference.limits import CLsScan, shown, significance, upper_limits
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job

    with compute_job(job) as device:
        started = time.perf_counter()
        analysis, origin = _analysis(entry)
        if analysis.poi is None:
            raise ValueError(f"model {name} has no POI ({origin['poi_reason']}): nothing to test")
        poi = analysis.names[analysis.poi]
        statistic = settings["test_statistic"]
        scan = CLsScan(analysis, test_statistic=statistic)
        limits = upper_limits(scan, settings["cl"], settings["curve_points"], settings["poi_bound_max"])
        sig = significance(analysis, statistic)
        rows = ranked(impacts(analysis))
        configured = settings["impact_groups"]
        groups = resolve_groups(analysis.model, configured)
        group_rows = grouped_impacts(analysis, groups)
        best, cov = analysis.best_fit().x[0], analysis.covariance()
        products = _postfit(analysis, name, settings["gof_toys"])
        prov = Provenance.record({"model": entry, "settings": settings}, device, time.perf_counter() - started)
        common = {"model": name, "definition": entry, "origin": origin, "poi": poi, "provenance": prov}
        log.info(
            "%s: CLs limit %s < %s (expected %s); Z = %.3g",
            name,
            poi,
            shown(limits["observed"]),
            shown(limits["expected"][2]),
            sig["observed_z"],
        )
        if analysis.refits:
            log.warning("%s: %d fits were refitted with MINUIT", name, analysis.refits)
        Limits(**common, **limits).write(outputs["limits"])
        Significance(**common, **sig).write(outputs["significance"])
        Impacts(
            table=pd.DataFrame(rows),
            poi_bestfit=float(best[analysis.poi]),
            poi_uncertainty=float(cov[analysis.poi, analysis.poi] ** 0.5),
            **common,
        ).write(outputs["impacts"])
        members = {TOTAL: [], **groups, STAT: [n for i, n in enumerate(analysis.names) if i != analysis.poi]}
        for row in group_rows:
            row["members"] = " ".join(n for n in members[row["group"]] if not analysis.fixed[analysis.names.index(n)])
        ImpactGroups(
            table=pd.DataFrame(group_rows),
            sigma_total=group_rows[0]["sigma"],
            quadrature_sum=quadrature_sum(group_rows, "impact"),
            quadrature_sum_covariance=quadrature_sum(group_rows, "impact_covariance"),
            groups_source="config" if configured else "modifier types",
            **common,
        ).write(outputs["impact_groups"])
        _write_postfit(analysis, products, name, entry, origin, prov, outputs)


def run_signal_grid_block(job, name: str, block: int, signal_grid: dict, settings: dict, output: str) -> None:
    """Rule `signal_grid_block`: CLs limits for one block of a signal grid's patches.

    Args:
        job: the `runtime.Job`.
        name: the signal grid's name.
        block: the block's index.
        signal_grid: the block's entry (the grid's, `patches` = the block's patch names).
        settings: the `inference` keys (cl, poi_bound_max, test_statistic).
        output: path of the block's CSV.
    """
    from diffpipe.artifacts import SignalGridBlock
    from diffpipe.inference.signal import grid_limits
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job
    from diffpipe.workspaces import read_json

    with compute_job(job) as device:
        started = time.perf_counter()
        rows, shared, poi = grid_limits(name, signal_grid, settings)
        labels = read_json(signal_grid["patchset"], "patchset")["metadata"]["labels"]
        prov = Provenance.record(
            {"signal_grid": signal_grid, "settings": settings}, device, time.perf_counter() - started
        )
        SignalGridBlock(
            table=pd.DataFrame(rows),
            grid=name,
            block=block,
            definition=signal_grid,
            labels=labels,
            cl=settings["cl"],
            poi=poi,
            shared_compilation=shared,
            provenance=prov,
        ).write(output)


def run_signal_grid(job, name: str, signal_grid: dict, blocks: list[str], output: str, contours: str) -> None:
    """Rule `signal_grid`: a signal grid's table from its blocks of patches, and its contours.

    Args:
        job: the `runtime.Job`.
        name: the signal grid's name.
        signal_grid: its config entry.
        blocks: paths of its blocks' CSVs, in block order.
        output: path of limits.csv.
        contours: path of contours.csv (`inference.contours`).
    """
    from diffpipe.artifacts import SignalContours, SignalGrid, SignalGridBlock
    from diffpipe.inference.contours import CURVES, grid_contours
    from diffpipe.inference.signal import merge_blocks
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import Device, logged

    with logged(job):
        started = time.perf_counter()
        parts = [SignalGridBlock.read(p) for p in blocks]
        rows, shared = merge_blocks(parts)
        first = parts[0]
        prov = Provenance.record(
            {"signal_grid": signal_grid, "cl": first.cl}, Device("cpu", "cpu"), time.perf_counter() - started
        )
        table = pd.DataFrame(rows)
        # The signal hypothesis is excluded where the observed limit on its strength is below 1
        # (a failed patch, with no limit, is not).
        table["excluded"] = table["observed"].fillna(np.inf) < 1.0
        log.info(
            "%s: %d patches from %d blocks, %d excluded", name, len(table), len(parts), int(table["excluded"].sum())
        )
        lines = grid_contours(table, first.labels)
        drawn = set(lines["curve"])
        log.info("%s: contours of %s", name, ", ".join(f"{c} ({(lines['curve'] == c).sum()} points)" for c in CURVES))
        SignalContours(
            table=lines,
            grid=name,
            labels=list(first.labels[:2]),
            interpolation="linear in log10(limit) on the Delaunay triangulation of the points, each label scaled to [0, 1]"
            if len(first.labels) > 1
            else "linear in log10(limit) between neighbouring points",
            curves_without_contour=[c for c in CURVES if c not in drawn],
            provenance=prov,
        ).write(contours)
        SignalGrid(
            table=table,
            n_excluded=int(table["excluded"].sum()),
            grid=name,
            definition=signal_grid,
            labels=first.labels,
            cl=first.cl,
            poi=first.poi,
            shared_compilation=shared,
            provenance=prov,
        ).write(output)


def run_sensitivity(job, name: str, entry: dict, settings: dict, output: str) -> None:
    """Rule `sensitivity`: the systematics budget of one model with a POI.

    Args:
        job: the `runtime.Job`.
        name: the model's name.
        entry: its config entry (without `grid`).
        settings: {cl, test_statistic, poi_bound_max (the `inference` keys), halve_top
            (`inference.sensitivity`)}.
        output: path of sensitivity.json.
    """
    from diffpipe.artifacts import Sensitivity
    from diffpipe.inference.sensitivity import sensitivity
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job

    with compute_job(job) as device:
        started = time.perf_counter()
        analysis, origin = _analysis(entry)
        if analysis.poi is None:
            raise ValueError(f"model {name} has no POI ({origin['poi_reason']}): no limit to differentiate")
        budget = sensitivity(
            analysis,
            entry,
            settings["cl"],
            settings["halve_top"],
            settings["poi_bound_max"],
            settings["test_statistic"],
        )
        prov = Provenance.record({"model": entry, "settings": settings}, device, time.perf_counter() - started)
        top = budget["halving"][0] if budget["halving"] else None
        log.info(
            "%s: gradients of the limits with respect to %d systematics and %d samples in %.3g s (limit: %.3g s)%s",
            name,
            len(budget["modifiers"]),
            len(budget["samples"]),
            budget["timing"]["gradient_s"],
            budget["timing"]["limit_s"],
            f"; largest: {top['modifier']}" if top else "",
        )
        for what, why in budget["failures"].items():
            log.warning("%s: %s: %s", name, what, why)
        Sensitivity(
            model=name,
            definition=entry,
            origin=origin,
            poi=analysis.names[analysis.poi],
            cl=settings["cl"],
            provenance=prov,
            **budget,
        ).write(output)
