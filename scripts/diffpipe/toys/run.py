"""Entry points of the toy rules: coverage shards and their merge, toy CLs, the toy-based limit."""

import logging
import os
import time

log = logging.getLogger("diffpipe")


def run_toys(job, name: str, entry: dict, toys: dict, start: int, stop: int, output: str) -> None:
    """Rule `toys`: sample and fit the toys [start, stop) of one model.

    Args:
        job: the `runtime.Job`.
        name: the model's name.
        entry: its config entry (without `grid`).
        toys: seed and true parameters of its `toys` entry.
        start: first toy index of the shard.
        stop: one past the last.
        output: path of the shard's .npz.
    """
    from diffpipe.artifacts import ToyShard
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job, peak_rss_mb
    from diffpipe.toys.shard import run_shard

    with compute_job(job) as device:
        started = time.perf_counter()
        result = run_shard(name, entry, toys, start, stop)
        elapsed = time.perf_counter() - started
        result["peak_rss_mb"] = peak_rss_mb()
        log.info(
            "%s toys %d-%d: %.0f toys/s (two fits each, compilation included), %d refitted with MINUIT "
            "(the longest %.2g s), peak %.0f MiB",
            name,
            start,
            stop,
            (stop - start) / elapsed,
            result["refitted"],
            result["refit_max_s"],
            result["peak_rss_mb"],
        )
        prov = Provenance.record({"model": entry, "toys": toys, "range": [start, stop]}, device, elapsed)
        ToyShard(model=name, definition=entry, toys=toys, start=start, stop=stop, provenance=prov, **result).write(
            output
        )


def run_toy_coverage(job, name: str, shards: list[str], output: str) -> None:
    """Rule `toy_coverage`: merge a model's shards into coverage and pulls.

    Args:
        job: the `runtime.Job`.
        name: the model's name.
        shards: paths of its shards.
        output: path of coverage.json.
    """
    from diffpipe.artifacts import Coverage, ToyShard
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import Device, logged
    from diffpipe.toys.coverage import coverage

    with logged(job):
        started = time.perf_counter()
        parts = [ToyShard.read(p) for p in shards]
        result = coverage([vars(p) for p in parts])
        first = parts[0]
        prov = Provenance.record(
            {"model": first.definition, "toys": first.toys}, Device("cpu", "cpu"), time.perf_counter() - started
        )
        for kind in ("hessian", "profile"):
            c = result[kind]
            log.info("%s: %s interval coverage %.4f ± %.4f (%s)", name, kind, c["value"], c["error"], c["verdict"])
        Coverage(
            model=name,
            definition=first.definition,
            toys=first.toys,
            shards=len(parts),
            shard_size=max(p.stop - p.start for p in parts),
            peak_rss_mb=max(p.peak_rss_mb for p in parts),
            provenance=prov,
            **result,
        ).write(output)


def run_toy_hypotest(
    job,
    name: str,
    entry: dict,
    settings: dict,
    seed: int,
    cl: float,
    output: str,
    test_statistic: str = "qtilde",
    start: str = "suggested",
) -> None:
    """Rule `toy_hypotest`: toy-based CLs on a POI grid for one model.

    Args:
        job: the `runtime.Job`.
        name: the model's name.
        entry: its config entry (without `grid`).
        settings: its `toys.cls` entry (mu, n).
        seed: the root seed.
        cl: confidence level (`inference.cl`).
        output: path of cls.json.
        test_statistic: `inference.test_statistic`.
        start: `toys.<model>.start` (where the toys' free fits start).
    """
    from diffpipe.artifacts import ToyHypotest
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job
    from diffpipe.toys.hypotest import toy_cls

    with compute_job(job) as device:
        started = time.perf_counter()
        result = toy_cls(name, entry, settings["mu"], settings["n"], seed, cl, test_statistic, start)
        log.info(
            "%s: toy-based CLs limit %s (expected %s)", name, result["observed_limit"], result["expected_limits"][2]
        )
        prov = Provenance.record(
            {
                "model": entry,
                "settings": settings,
                "seed": seed,
                "cl": cl,
                "test_statistic": test_statistic,
                "start": start,
            },
            device,
            time.perf_counter() - started,
        )
        poi = entry.get("poi") or _poi_name(entry)
        ToyHypotest(model=name, definition=entry, settings=settings, cl=cl, poi=poi, provenance=prov, **result).write(
            output
        )


def _poi_name(entry: dict) -> str:
    from diffpipe.workspaces import model_poi

    return model_poi(entry)[0]


def run_toy_limit_points(
    job, name: str, entry: dict, settings: dict, limits: str, output: str, test_statistic: str = "qtilde"
) -> None:
    """Rule `toy_limit_points`: the toy-based limit's μ points and what their toys are drawn at.

    At each point the data's q̃μ and the parameters of its s+b toys; those of the b toys.

    Args:
        job: the `runtime.Job`.
        name: the model's name.
        entry: its config entry (without `grid`).
        settings: {"points": how many}.
        limits: path of the model's asymptotic limits.json.
        output: path of points.json.
        test_statistic: `inference.test_statistic`.
    """
    from diffpipe.artifacts import Limits, ToyLimitPoints
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job
    from diffpipe.toys.limit import limit_points
    from diffpipe.toys.limit_fits import LimitFits

    with compute_job(job) as device:
        started = time.perf_counter()
        asymptotic = Limits.read(limits)
        around = {"observed": asymptotic.observed, "expected": asymptotic.expected}
        try:
            mu, failure = limit_points(asymptotic.observed, asymptotic.expected, settings["points"]), None
        except ValueError as err:
            mu, failure = [], str(err)
            log.error("%s: no toy-based limit: %s", name, failure)
        fits = LimitFits(name, entry, max(mu, default=1.0), test_statistic)
        where = fits.points(mu)
        for value, q in zip(where["mu"], where["qmu_observed"], strict=True):
            log.info("%s: μ point %.4g, q̃μ of the data %.4g", name, value, q)
        prov = Provenance.record(
            {"model": entry, "settings": settings, "asymptotic": around, "test_statistic": test_statistic},
            device,
            time.perf_counter() - started,
        )
        ToyLimitPoints(
            model=name,
            definition=entry,
            settings=settings,
            poi=asymptotic.poi,
            asymptotic=around,
            parameters=list(fits.model.config.par_names),
            failure=failure,
            provenance=prov,
            **where,
        ).write(output)


def run_toy_limit_part(
    job,
    name: str,
    entry: dict,
    seed: int,
    size: int,
    point: int,
    part: int,
    points: str,
    output: str,
    test_statistic: str = "qtilde",
    start: str = "suggested",
) -> None:
    """Rule `toy_limit_part`: part `part` of point `point`'s toys, s+b and b, each fitted twice.

    Args:
        job: the `runtime.Job`.
        name: the model's name.
        entry: its config entry (without `grid`).
        seed: the root seed (`toys.<model>.seed`).
        size: toys per part (`toys_per_round`).
        point: the μ point's index.
        part: the part's index (toys [part size, (part + 1) size)).
        points: path of points.json.
        output: path of the part's .npz.
        test_statistic: `inference.test_statistic`.
        start: `toys.<model>.start` (where the toys' free fits start).
    """
    from diffpipe.artifacts import ToyLimitPart, ToyLimitPoints
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job
    from diffpipe.toys.limit_fits import LimitFits

    with compute_job(job) as device:
        started = time.perf_counter()
        where = ToyLimitPoints.read(points)
        fits = LimitFits(name, entry, max(where.mu), test_statistic, start)
        result = fits.part(seed, vars(where), point, part, size)
        elapsed = time.perf_counter() - started
        log.info(
            "%s: μ = %.4g, toys %d-%d under s+b and b: %.0f toys/s (two fits each, compilation included), "
            "%d fits refitted with MINUIT, %d toys outside the likelihood's domain",
            name,
            result["mu"],
            result["start"],
            result["stop"],
            2 * size / elapsed,
            result["refitted"],
            result["outside"],
        )
        prov = Provenance.record(
            {
                "model": entry,
                "seed": seed,
                "mu": result["mu"],
                "range": [result["start"], result["stop"]],
                "start": start,
            },
            device,
            elapsed,
        )
        ToyLimitPart(model=name, seed=seed, provenance=prov, **result).write(output)


def _read_parts(paths: list[str]) -> list:
    from diffpipe.artifacts import ToyLimitPart

    return [ToyLimitPart.read(p) for p in paths]


def run_toy_limit_plan(
    job,
    name: str,
    settings: dict,
    cl: float,
    round_: int,
    points: str,
    parts: list[str],
    output: str,
    next_plan: str,
    merged: str,
) -> None:
    """Checkpoint `toy_limit_plan`: the parts round `round_` adds (`toys.limit.next_parts`).

    A plan that adds parts where no next round exists yet removes the merge's output, now stale:
    Snakemake (9.27) does not schedule the jobs behind a checkpoint's new dependents while the
    merge's output exists, so without this a tighter target would leave the merge as it was.

    Args:
        job: the `runtime.Job`.
        name: the model's name.
        settings: cls_accuracy, min_toys, max_toys, toys_per_round.
        cl: confidence level.
        round_: the round.
        points: path of points.json.
        parts: paths of the parts of the rounds before.
        output: path of the round's plan.
        next_plan: path of the next round's plan.
        merged: path of the merge's output (limit.json).
    """
    from diffpipe.artifacts import ToyLimitPlan, ToyLimitPoints
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import Device, logged
    from diffpipe.toys.limit import curves, next_parts

    with logged(job):
        started = time.perf_counter()
        where = vars(ToyLimitPoints.read(points))
        made = [vars(p) for p in _read_parts(parts)]
        todo = next_parts(where, made, settings, cl)
        state = curves(where, made)
        log.info(
            "%s: round %d adds %d part(s) of %d toys (points %s); toys per point so far %s, CLs errors %s",
            name,
            round_,
            len(todo),
            settings["toys_per_round"],
            [p["point"] for p in todo],
            state["n"],
            ", ".join(f"{e:.2g}" for e in state["cls_error"]),
        )
        prov = Provenance.record(
            {"settings": settings, "cl": cl, "round": round_}, Device("cpu", "cpu"), time.perf_counter() - started
        )
        ToyLimitPlan(
            model=name,
            settings=settings,
            cl=cl,
            round=round_,
            parts=todo,
            made=[{"point": p["point"], "part": p["part"]} for p in made],
            n=state["n"],
            cls_error=state["cls_error"],
            provenance=prov,
        ).write(output)
        if todo and not os.path.exists(next_plan) and os.path.exists(merged):
            os.remove(merged)
            log.info("%s: removed %s: it is merged from fewer rounds than this target needs", name, merged)


def run_toy_limit(
    job, name: str, settings: dict, cl: float, points: str, parts: list[str], rounds: int, output: str
) -> None:
    """Rule `toy_limit`: the toy-based limits with their Monte Carlo errors, from every part.

    Args:
        job: the `runtime.Job`.
        name: the model's name.
        settings: its `toys.limit` entry.
        cl: confidence level.
        points: path of points.json.
        parts: paths of every part.
        rounds: rounds of toys made.
        output: path of limit.json.
    """
    from diffpipe.artifacts import ToyLimit, ToyLimitPoints
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import Device, logged
    from diffpipe.toys.limit import toy_limits

    with logged(job):
        started = time.perf_counter()
        where = ToyLimitPoints.read(points)
        made = _read_parts(parts)
        result = toy_limits(vars(where), [vars(p) for p in made], cl, settings["cls_accuracy"])
        if where.failure:  # no points: every curve fails for the points' reason
            result["failures"] = {curve: where.failure for curve in result["failures"]}
        for label, value, error in (
            ("observed", result["observed_limit"], result["observed_error"]),
            ("expected", result["expected_limits"][2], result["expected_errors"][2]),
        ):
            shown = "none" if value is None else f"{value:.4g} ± {error:.2g}"
            log.info("%s: toy-based %s limit %s (%d toys)", name, label, shown, result["toys"])
        for label, reached in result["accuracy"].items():
            if not reached["met"]:
                log.warning(
                    "%s: the %s CLs error at the crossing, %s, is above the target %.3g (max_toys %d)",
                    name,
                    label,
                    "n/a (no crossing)" if reached["cls_error"] is None else f"{reached['cls_error']:.3g}",
                    settings["cls_accuracy"],
                    settings["max_toys"],
                )
        prov = Provenance.record(
            {"settings": settings, "cl": cl, "points": where.mu}, Device("cpu", "cpu"), time.perf_counter() - started
        )
        ToyLimit(
            model=name,
            definition=where.definition,
            settings=settings,
            poi=where.poi,
            cl=cl,
            rounds=rounds,
            asymptotic=where.asymptotic,
            refitted=sum(p.refitted for p in made),
            outside=sum(p.outside for p in made),
            part_time={"parts": len(made), "elapsed_s": sum(p.provenance.elapsed_s for p in made)},
            provenance=prov,
            **{k: result[k] for k in _LIMIT_FIELDS},
        ).write(output)


_LIMIT_FIELDS = (
    "mu",
    "n",
    "cls",
    "cls_error",
    "clsb",
    "clb",
    "expected",
    "expected_error",
    "observed_limit",
    "observed_error",
    "expected_limits",
    "expected_errors",
    "accuracy",
    "failures",
    "toys",
)
