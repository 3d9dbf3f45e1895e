"""Entry points of the toy rules: toys (one shard) and coverage (merge the shards)."""

import logging
import time

log = logging.getLogger("diffpipe")


def run_toys(job, name: str, spec: dict, toys: dict, start: int, stop: int, output: str) -> None:
    """Rule `toys`: sample and fit the toys [start, stop) of one model.

    Args:
        job: the `runtime.Job`.
        name: the model's name.
        spec: its config entry (without `grid`).
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
        result = run_shard(name, spec, toys, start, stop)
        elapsed = time.perf_counter() - started
        result["peak_rss_mb"] = peak_rss_mb()
        log.info(
            "%s toys %d-%d: %.0f toys/s (two fits each, compilation included), %d refitted with MINUIT, peak %.0f MiB",
            name,
            start,
            stop,
            (stop - start) / elapsed,
            result["refitted"],
            result["peak_rss_mb"],
        )
        prov = Provenance.record({"model": spec, "toys": toys, "range": [start, stop]}, device, elapsed)
        ToyShard(model=name, definition=spec, toys=toys, start=start, stop=stop, provenance=prov, **result).write(
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


def run_toy_hypotest(job, name: str, spec: dict, settings: dict, seed: int, cl: float, output: str) -> None:
    """Rule `toy_hypotest`: toy-based CLs on a POI grid for one model.

    Args:
        job: the `runtime.Job`.
        name: the model's name.
        spec: its config entry (without `grid`).
        settings: its `toys.cls` entry (mu, n).
        seed: the root seed.
        cl: confidence level (`inference.cl`).
        output: path of cls.json.
    """
    from diffpipe.artifacts import ToyHypotest
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job
    from diffpipe.toys.hypotest import toy_cls

    with compute_job(job) as device:
        started = time.perf_counter()
        result = toy_cls(name, spec, settings["mu"], settings["n"], seed, cl)
        log.info(
            "%s: toy-based CLs limit %s (expected %s)", name, result["observed_limit"], result["expected_limits"][2]
        )
        prov = Provenance.record(
            {"model": spec, "settings": settings, "seed": seed, "cl": cl}, device, time.perf_counter() - started
        )
        poi = spec.get("poi") or _poi_name(spec)
        ToyHypotest(model=name, definition=spec, settings=settings, cl=cl, poi=poi, provenance=prov, **result).write(
            output
        )


def _poi_name(spec: dict) -> str:
    from diffpipe.models import model_poi

    return model_poi(spec)[0]
