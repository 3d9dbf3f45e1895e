"""GPU check for a device machine (not part of `make test`: CI has no GPU).

Runs diffpipe's device selection and the JAX escape-count backend on the machine's GPU, checks the
counts against the float64 NumPy reference (same bound as the CPU tests: no pixel under 30
iterations differs, few pixels differ at all), times it, and prints one JSON record.

Usage (repository root, a JAX with CUDA installed): python3 tests/gpu/gpu_check.py OUT.json
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))


from diffpipe.escape import Plane, counts_jax, counts_reference  # noqa: E402
from diffpipe.runtime import choose_device  # noqa: E402


def timed(fn, repeats=5):
    start = time.perf_counter()
    out = fn()
    first = time.perf_counter() - start
    fn()
    best = min(_once(fn) for _ in range(repeats))
    return out, first, best


def _once(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(path):
    record = {}
    smi = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
        capture_output=True,
        text=True,
    )
    record["nvidia_smi"] = smi.stdout.strip()
    import jax

    record["jax"] = jax.__version__
    device = choose_device(1, uses_jax=True)
    record["device"] = device.description
    record["device_warning"] = device.warning
    rows = []
    for size in (500, 2000, 4000):
        plane = Plane("mandelbrot", None, (-1.5, 1.5, -1.5, 1.5), size, size, 1000, 4.0)
        counts, first, best = timed(lambda p=plane: counts_jax(p))
        rows.append({"size": size, "first_call_s": first, "steady_s": best})
        if size == 500:
            ref = counts_reference(plane)
            differ = counts != ref
            record["vs_reference"] = {
                "pixels_differing": int(differ.sum()),
                "fraction": float(differ.mean()),
                "differing_below_30_iterations": int((differ & (ref < 30)).sum()),
            }
    record["mandelbrot_1000_iterations"] = rows
    ok = (
        device.kind == "gpu"
        and record["vs_reference"]["differing_below_30_iterations"] == 0
        and record["vs_reference"]["fraction"] <= 0.003
    )
    record["passed"] = bool(ok)
    text = json.dumps(record, indent=1)
    print(text)
    with open(path, "w") as handle:
        handle.write(text + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
