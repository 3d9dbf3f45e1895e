"""pyhf's upper limits for a sample of patches of each published ATLAS grid, stored as test data.

pyhf takes ~40 s per 3L and ~75-220 s per 1Lbb patch on this machine kind, too long to run in the
test suite, so its numbers are computed once by this script and stored with how they were made:

    .venv/bin/python tests/diffpipe/inference/published_reference.py [PATCHES_PER_GRID [GRID ...]]

updates tests/data/published_limits.json (the named grids; default all). Each sampled patch (evenly
spaced through the patchset) is fitted as pyhf's docs do it: `Workspace.model(patches=[patch])`,
its observed data, `upper_limit` with the toms748 scan (q̃μ, asymptotic CLs), JAX backend, scipy's
optimizer, and the POI's upper bound widened to POI_BOUND_MAX as pyhf users do when a limit lies
above it (the scan doubles its bracket past the bound; diffpipe widens up to
`inference.poi_bound_max`, the same 1000). pyhf 0.7.6's toms748_scan keys its cache by the POI
value, which under the JAX backend is an unhashable array: hypotest is wrapped to take and return
plain floats (the numbers are unchanged).

A shapesys γ whose Poisson constraint has τ above FIXED_TAU is held at its nominal 1 in pyhf's
fits (`fixed_params`). The 3L eRJR grid has two, with τ ~ 1e11 (a relative width of ~3e-6): there
pyhf's Poisson terms lose ~1e-4 absolute to cancellation and its fits do not move (on
ERJR_140p0_50p0 the free fit stays at the start μ = 1 with -ln L = 184.63, while the best fit,
μ̂ = 0.27, has pyhf's own -ln L = 136.43; MINUIT reports "estimated distance to minimum too
large"). Held, they change the limits by ~1e-6 relative; diffpipe fits them free. 1Lbb has no
shapesys.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import pyhf

ROOT = Path(__file__).resolve().parents[3]
PUBLISHED = ROOT / "resources" / "published"
GRIDS = {"atlas_1lbb": "ATLAS-SUSY-2019-08_1Lbb", "atlas_3l": "ATLAS-SUSY-2018-06_3L-eRJR"}
OUT = ROOT / "tests" / "data" / "published_limits.json"
RTOL = 1e-6
POI_BOUND_MAX = 1000.0
FIXED_TAU = 1e6


def _float_hypotest():
    """Make toms748_scan's cache keys hashable under the JAX backend (see the module docstring)."""
    from pyhf.infer.intervals import upper_limits

    original = pyhf.infer.hypotest

    def hypotest(poi, *args, **kwargs):
        cls, expected = original(float(poi), *args, **kwargs)
        return np.float64(cls), [np.float64(e) for e in expected]

    upper_limits.hypotest = hypotest


def sample(names: list[str], n: int) -> list[str]:
    """`n` patch names evenly spaced through the patchset (all when it has fewer)."""
    indices = np.unique(np.linspace(0, len(names) - 1, min(n, len(names))).round().astype(int))
    return [names[i] for i in indices]


def held_fixed(model) -> list[bool]:
    """pyhf's `fixed_params` for a model: its own, plus each shapesys γ with τ above FIXED_TAU."""
    fixed = list(model.config.suggested_fixed())
    for name in model.config.par_order:
        par = model.config.param_set(name)
        if getattr(par, "pdf_type", None) != "poisson":
            continue
        for index, tau in zip(
            range(model.config.par_slice(name).start, model.config.par_slice(name).stop), par.factors
        ):
            fixed[index] = fixed[index] or tau > FIXED_TAU
    return fixed


def main(per_grid: int, grids: list[str]) -> dict:
    """Compute the named grids' reference limits, keeping the stored ones of the others.

    Args:
        per_grid: patches sampled per grid.
        grids: names in GRIDS.

    Returns:
        The whole reference (what OUT holds).
    """
    pyhf.set_backend("jax")
    _float_hypotest()
    out = json.loads(OUT.read_text()) if OUT.exists() else {"grids": {}}
    out.update(
        {
            "made_by": "tests/diffpipe/inference/published_reference.py",
            "pyhf": pyhf.__version__,
            "backend": "jax, scipy optimizer",
            "method": f"pyhf.infer.intervals.upper_limits.upper_limit(data, model, rtol={RTOL}, par_bounds=..., "
            f"fixed_params=...) (toms748 scan), the POI's upper bound {POI_BOUND_MAX}, shapesys with tau > "
            f"{FIXED_TAU:g} held at 1",
        }
    )
    for grid in grids:
        folder = GRIDS[grid]
        workspace = pyhf.Workspace(json.loads((PUBLISHED / folder / "BkgOnly.json").read_text()))
        patchset = pyhf.PatchSet(json.loads((PUBLISHED / folder / "patchset.json").read_text()))
        rows = {}
        for name in sample([p.name for p in patchset.patches], per_grid):
            started = time.perf_counter()
            model = workspace.model(patches=[patchset[name]])
            data = workspace.data(model)
            fixed = held_fixed(model)
            try:
                bounds = model.config.suggested_bounds()
                bounds[model.config.poi_index] = (bounds[model.config.poi_index][0], POI_BOUND_MAX)
                observed, expected = pyhf.infer.intervals.upper_limits.upper_limit(
                    data, model, rtol=RTOL, par_bounds=bounds, fixed_params=fixed
                )
                rows[name] = {"observed": float(observed), "expected": [float(e) for e in expected]}
            except Exception as err:  # recorded: the test then expects a named failure of ours too
                rows[name] = {"failure": f"{type(err).__name__}: {err}"}
            rows[name]["held_fixed"] = int(sum(fixed) - sum(model.config.suggested_fixed()))
            rows[name]["seconds"] = round(time.perf_counter() - started, 2)
            print(grid, name, rows[name], flush=True)
        out["grids"][grid] = {"workspace": f"resources/published/{folder}/BkgOnly.json", "patches": rows}
    return out


if __name__ == "__main__":
    per = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    result = main(per, sys.argv[2:] or list(GRIDS))
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {OUT}")
