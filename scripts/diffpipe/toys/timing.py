"""diffpipe's side of the toy benchmark (run in a fresh process by diffpipe.benchmark.inference).

python -m diffpipe.toys.timing ours_toys '<argument as JSON>' prints the timing as JSON.
"""

import json
import sys
import time


def ours_toys(arg: dict) -> dict:
    """One shard of toys of a model, compilation included.

    Args:
        arg: {"spec": a model entry, "n": toys}.

    Returns:
        total_s, toys, toys_per_s, refitted.
    """
    from diffpipe.models import use_jax_backend
    from diffpipe.toys.shard import run_shard

    started = time.perf_counter()
    use_jax_backend()
    result = run_shard("bench", arg["spec"], {"seed": 1}, 0, arg["n"])
    total = time.perf_counter() - started
    return {"total_s": total, "toys": arg["n"], "toys_per_s": arg["n"] / total, "refitted": result["refitted"]}


TASKS = {"ours_toys": ours_toys}

if __name__ == "__main__":
    print(json.dumps(TASKS[sys.argv[1]](json.loads(sys.argv[2]))))
