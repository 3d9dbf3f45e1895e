"""Pseudo-experiments on a GPU (a device machine; not part of `make test`: CI has no GPU).

Times the batched toy fits (sampling + free fit + POI-held fit per toy, compilation included) on
the GPU, and checks that a shard fitted on the GPU equals the same shard fitted on the CPU within
1e-9 (float64). Prints one JSON record and writes it to OUT.json.

Usage (repository root, a JAX with CUDA and pyhf installed): python3 tests/gpu/toys_gpu.py OUT.json
"""

import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from diffpipe.models import use_jax_backend  # noqa: E402
from diffpipe.toys.shard import run_shard  # noqa: E402

MODELS = {
    "notebook_counting": {
        "simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]},
        "data": "asimov",
    },
    "multichannel": {"workspace": "resources/pyhf/multichan_coupledhistosys_histfactory.json", "data": "observed"},
    "generated_sig_800_200": {
        "workspace": "resources/generated/bkgonly.json",
        "patchset": "resources/generated/patchset.json",
        "patch": "sig_800_200",
        "data": "observed",
    },
}
SIZES = {"notebook_counting": [100_000, 1_000_000], "multichannel": [100_000], "generated_sig_800_200": [2_000]}


def shard_arrays(name, n):
    out = run_shard(name, MODELS[name], {"seed": 1}, 0, n)
    return {k: np.asarray(out[k]).tolist() for k in ("bestfit", "twice_nll")}


def main(path):
    import jax

    use_jax_backend()
    record = {"jax": jax.__version__, "devices": [str(d) for d in jax.devices()]}
    smi = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"], capture_output=True, text=True
    )
    record["gpu"] = smi.stdout.strip()
    timings = []
    for name, sizes in SIZES.items():
        for n in sizes:
            started = time.perf_counter()
            out = run_shard(name, MODELS[name], {"seed": 1}, 0, n)
            elapsed = time.perf_counter() - started
            timings.append(
                {
                    "model": name,
                    "toys": n,
                    "seconds": elapsed,
                    "toys_per_s": n / elapsed,
                    "refitted": out["refitted"],
                    "converged": float(np.mean(out["converged"])),
                }
            )
            print(json.dumps(timings[-1]), flush=True)
    record["timings"] = timings
    checks = []
    for name in ("notebook_counting", "multichannel"):
        gpu = shard_arrays(name, 2000)
        env = dict(os.environ, JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="")
        code = f"import sys, json; sys.argv=['x']; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); import toys_gpu as t; t.use_jax_backend(); print(json.dumps(t.shard_arrays({name!r}, 2000)))"
        cpu = json.loads(
            subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT
            ).stdout.splitlines()[-1]
        )
        diffs = {k: float(np.max(np.abs(np.asarray(gpu[k]) - np.asarray(cpu[k])))) for k in gpu}
        checks.append(
            {"model": name, "toys": 2000, "max_abs_diff": diffs, "within_1e-9": all(v <= 1e-9 for v in diffs.values())}
        )
        print(json.dumps(checks[-1]), flush=True)
    record["cpu_vs_gpu"] = checks
    with open(path, "w") as handle:
        json.dump(record, handle, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
