"""pyhf's upper limits for a sample of the published signal grids' patches, written as JSON.

pyhf's `upper_limit` (toms748 root finding, asymptotic CLs with q̃μ) on its JAX backend, whose
fits get autodiff gradients (on the numpy backend a 1Lbb fit takes minutes of finite
differences). Each patch is run twice, with scipy's SLSQP (pyhf's default) and with MINUIT; a
patch enters the reference only when the two optimizers agree to 1e-4, so a fit that stopped
early in one of them (pyhf's -ln L is not smooth where a shapesys tau is ~1e11: #23) does not
become the reference. Too slow for the test suite (minutes per 1Lbb patch): the test reads the
file this writes, and this script is how it is remade:

    .venv/bin/python tests/diffpipe/inference/published_reference.py [--patches 10] [--jobs 2]

Run from the repository root; it rewrites tests/diffpipe/inference/published_limits.json.
"""

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OUT = Path(__file__).with_name("published_limits.json")
GRIDS = {
    "atlas_1lbb": "resources/published/ATLAS-SUSY-2019-08_1Lbb",
    "atlas_3l": "resources/published/ATLAS-SUSY-2018-06_3L-eRJR",
}
AGREEMENT = 1e-4


def sample(names: list[str], n: int) -> list[str]:
    """n patch names spread evenly over the patchset's order (first and last included).

    Args:
        names: the patchset's patch names, in its order.
        n: how many.

    Returns:
        The names.
    """
    if n >= len(names):
        return list(names)
    return [names[round(k * (len(names) - 1) / (n - 1))] for k in range(n)]


def limits(folder: str, patch: str, optimizer: str) -> dict:
    """pyhf's observed and expected upper limits of one patch, with one optimizer.

    Args:
        folder: the analysis folder (BkgOnly.json, patchset.json).
        patch: the patch's name.
        optimizer: "scipy" or "minuit".

    Returns:
        {observed, expected (+2σ … −2σ, pyhf's order reversed to diffpipe's), seconds}.
    """
    os.environ.setdefault("JAX_ENABLE_X64", "1")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import numpy as np
    import pyhf
    from pyhf.infer.intervals import upper_limits

    chosen = pyhf.optimize.scipy_optimizer() if optimizer == "scipy" else pyhf.optimize.minuit_optimizer()
    pyhf.set_backend("jax", chosen, precision="64b")
    # toms748_scan caches hypotest results by POI value; under the JAX backend they are JAX
    # arrays, the root finder's next POI becomes one and the cache lookup fails (unhashable):
    # hand the scan NumPy floats, the numbers unchanged.
    hypotest = pyhf.infer.hypotest

    def numpy_hypotest(poi, *args, **kwargs):
        observed, expected = hypotest(float(poi), *args, **kwargs)
        return np.float64(observed), [np.float64(e) for e in expected]

    upper_limits.hypotest = numpy_hypotest
    workspace = pyhf.Workspace(json.loads((ROOT / folder / "BkgOnly.json").read_text()))
    patchset = pyhf.PatchSet(json.loads((ROOT / folder / "patchset.json").read_text()))
    patched = patchset.apply(workspace, patch)
    model = patched.model()
    data = patched.data(model)
    started = time.perf_counter()
    observed, expected = upper_limits.upper_limit(data, model, level=0.05)
    return {
        "observed": float(observed),
        "expected": [float(e) for e in expected][::-1],
        "seconds": round(time.perf_counter() - started, 1),
    }


def _agree(a: dict, b: dict) -> bool:
    pairs = [(a["observed"], b["observed"]), *zip(a["expected"], b["expected"], strict=True)]
    return all(abs(x - y) <= AGREEMENT * abs(y) for x, y in pairs)


def main() -> None:
    """Compute the reference and write it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=10, help="patches per grid (default 10)")
    parser.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    args = parser.parse_args()
    import pyhf

    tasks = []
    for grid, folder in GRIDS.items():
        names = [p["metadata"]["name"] for p in json.loads((ROOT / folder / "patchset.json").read_text())["patches"]]
        for patch in sample(names, args.patches):
            tasks += [(grid, folder, patch, optimizer) for optimizer in ("scipy", "minuit")]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(limits, *zip(*[(f, p, o) for _, f, p, o in tasks], strict=True)))
    found = {}
    for (grid, _, patch, optimizer), result in zip(tasks, results, strict=True):
        found.setdefault(grid, {}).setdefault(patch, {})[optimizer] = result
    reference = {grid: {} for grid in GRIDS}
    disagreeing = {grid: {} for grid in GRIDS}
    for grid, patches in found.items():
        for patch, by_optimizer in patches.items():
            target = reference if _agree(by_optimizer["scipy"], by_optimizer["minuit"]) else disagreeing
            target[grid][patch] = by_optimizer
            print(grid, patch, "agree" if target is reference else "DISAGREE", json.dumps(by_optimizer), flush=True)
    out = {
        "what": "pyhf upper_limit (toms748, asymptotic CLs, q̃μ, CL 95%) per patch, with scipy and MINUIT",
        "made_by": "tests/diffpipe/inference/published_reference.py",
        "pyhf": pyhf.__version__,
        "backend": "jax (64b)",
        "agreement": AGREEMENT,
        "made": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
        "reference": reference,
        "optimizers_disagree": disagreeing,
    }
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    tmp.replace(OUT)


if __name__ == "__main__":
    main()
