"""diffpipe's side of the toy benchmark (run in a fresh process by diffpipe.benchmark.inference).

python -m diffpipe.toys.timing ours_toys '<argument as JSON>' prints the timing as JSON.
"""

import json
import sys
import time


def ours_toys(arg: dict) -> dict:
    """Three shards of n toys of a model in one fresh process.

    1. cold: a shard job's first run: imports, model building, XLA compilation (into an empty
       persistent compilation cache, which the pipeline's jobs share), sampling and fitting.
    2. warm: the next n toys with the model built again and the compiled programs loaded from
       that cache: what every further shard job of a run pays after its imports.
    3. steady: the next n toys with the compiled sampler and solver of step 2: throughput of
       sampling and fitting, the scope of pyhf's rate (its model built, toys sampled and fitted).

    Args:
        arg: {"entry": a model entry, "n": toys per shard}.

    Returns:
        cold_s, warm_s, steady_s, toys, toys_per_s (n / steady_s), refitted, refit_max_s (the
        longest MINUIT refit's seconds), outside (toys whose
        fit left the likelihood's domain, over the three shards), steps_per_fit (Newton steps per
        fit, mean over both fits of every toy), peak_rss_mb.
    """
    started = time.perf_counter()
    import tempfile

    from diffpipe.runtime import enable_compilation_cache, enable_float64, peak_rss_mb
    from diffpipe.toys.shard import ShardRunner

    n, entry, toys = arg["n"], arg["entry"], {"seed": 1}
    with tempfile.TemporaryDirectory() as cache:
        enable_compilation_cache(cache)
        enable_float64()
        shards = [ShardRunner("bench", entry, toys).run(0, n)]
        cold_s = time.perf_counter() - started
        second = time.perf_counter()
        runner = ShardRunner("bench", entry, toys)
        shards.append(runner.run(n, 2 * n))
        third = time.perf_counter()
        shards.append(runner.run(2 * n, 3 * n))
        done = time.perf_counter()
    return {
        "cold_s": cold_s,
        "warm_s": third - second,
        "steady_s": done - third,
        "toys": n,
        "toys_per_s": n / (done - third),
        "refitted": sum(s["refitted"] for s in shards),
        "refit_max_s": max(s["refit_max_s"] for s in shards),
        "outside": int(sum(s["outside"].sum() for s in shards)),
        "steps_per_fit": float(sum(s["steps"].sum() for s in shards) / (2 * 3 * n)),
        "peak_rss_mb": peak_rss_mb(),
    }


TASKS = {"ours_toys": ours_toys}

if __name__ == "__main__":
    print(json.dumps(TASKS[sys.argv[1]](json.loads(sys.argv[2]))))
