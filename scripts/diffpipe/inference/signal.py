"""Limits for every patch of a signal grid (a background-only workspace plus a patchset).

Patches of a published signal grid usually differ only in the yields of the signal sample. When
that holds (checked on the specification: every difference is a sample's `data`, and those
samples carry only yield-independent modifiers: normfactor, normsys, lumi, shapefactor), all
patches share one compiled likelihood with the nominal rates as an input, and each patch costs
its fits only. The sharing is verified numerically on the second patch (-ln L and its gradient
at a random point against the patch's own model). Otherwise each patch compiles its own.
"""

import copy
import json
import logging
import time
from pathlib import Path

import numpy as np

from diffpipe.inference.analysis import prepare
from diffpipe.inference.limits import CLsScan, upper_limits
from diffpipe.models import build_model, read_json, select_patches

log = logging.getLogger("diffpipe")
SCALING_MODIFIERS = {"normfactor", "normsys", "lumi", "shapefactor"}
EXPECTED_COLUMNS = ("expected_p2", "expected_p1", "expected", "expected_m1", "expected_m2")


def _patched_specs(grid: dict, patches: list[dict]) -> list[dict]:
    import pyhf

    workspace = pyhf.Workspace(read_json(grid["workspace"], "workspace"))
    patchset = pyhf.PatchSet(read_json(grid["patchset"], "patchset"))
    return [json.loads(json.dumps(patchset.apply(workspace, p["name"]))) for p in patches]


def yields_only_difference(specs: list[dict]) -> str:
    """Why patched workspaces cannot share one compiled likelihood ("" when they can).

    Args:
        specs: the patched workspace specifications.

    Returns:
        The reason, or "".
    """

    def skeleton(spec: dict) -> dict:
        spec = copy.deepcopy(spec)
        for channel in spec["channels"]:
            for sample in channel["samples"]:
                sample["data"] = len(sample["data"])
        return spec

    first = skeleton(specs[0])
    for spec in specs[1:]:
        if skeleton(spec) != first:
            return "patches differ in more than sample yields (structure or modifier data)"
    for channel in specs[0]["channels"]:
        for s, sample in enumerate(channel["samples"]):
            varies = any(
                next(c for c in spec["channels"] if c["name"] == channel["name"])["samples"][s]["data"]
                != sample["data"]
                for spec in specs[1:]
            )
            kinds = {m["type"] for m in sample["modifiers"]}
            if varies and not kinds <= SCALING_MODIFIERS:
                return f"sample {sample['name']!r} varies and has yield-dependent modifiers {sorted(kinds - SCALING_MODIFIERS)}"
    return ""


def grid_limits(name: str, grid: dict, settings: dict) -> tuple[list[dict], dict, str]:
    """CLs limits for the selected patches of one signal grid.

    Args:
        name: the grid's name.
        grid: its config entry (workspace, patchset, measurement, patches, data, bounds).
        settings: the `inference` keys (cl, curve_points).

    Returns:
        (rows per patch, shared-compilation record {shared, reason}, the POI's name).
    """
    import jax.numpy as jnp

    patchset = read_json(grid["patchset"], "patchset")
    labels = patchset["metadata"]["labels"]
    patches = select_patches(patchset, grid.get("patches", "all"))
    specs = _patched_specs(grid, patches)
    reason = yields_only_difference(specs) if len(specs) > 1 else "a single patch"
    shared = {"shared": not reason, "reason": reason or "patches differ only in yields of scaling-only samples"}
    solver, rows, poi_name = None, [], None
    for k, patch in enumerate(patches):
        started = time.perf_counter()
        entry = {key: grid[key] for key in ("workspace", "patchset", "measurement", "data", "bounds") if key in grid}
        model, data = build_model({**entry, "patch": patch["name"]})
        poi_name = model.config.poi_name
        rates = jnp.asarray(model.main_model.nominal_rates) if shared["shared"] else None
        if shared["shared"] and k == 1:
            _verify_sharing(solver, model, data, rates)
        analysis = prepare(model, data, grid.get("bounds"), extra=rates, solver=solver if shared["shared"] else None)
        solver = analysis.solver
        result = upper_limits(CLsScan(analysis), settings["cl"], curve_points=2)
        row = {"patch": patch["name"], **{label: float(v) for label, v in zip(labels, patch["values"], strict=False)}}
        row["observed"] = result["observed"]
        row.update({col: value for col, value in zip(EXPECTED_COLUMNS, result["expected"], strict=True)})
        row["failure"] = "; ".join(f"{k}: {v}" for k, v in result["failures"].items())
        row["fits"] = result["n_fits"] + analysis.refits
        row["seconds"] = time.perf_counter() - started
        log.info(
            "%s %s: observed %.4g, expected %.4g (%.2f s)",
            name,
            patch["name"],
            row["observed"],
            row["expected"],
            row["seconds"],
        )
        rows.append(row)
    return rows, shared, poi_name


def _verify_sharing(solver, model, data, rates) -> None:
    """-ln L and its gradient of the shared compiled function equal the patch's own model's."""
    import jax

    from diffpipe.models import make_nll

    rng = np.random.default_rng(0)
    lo, hi = solver.bounds.T
    point = lo + (hi - lo) * rng.uniform(0.3, 0.7, len(lo))
    value, grad = jax.jit(jax.value_and_grad(make_nll(model)))(point, data)
    expected = (float(value), np.asarray(grad))
    got = (float(solver.nll(point, data, rates)), np.asarray(solver.grad(point, data, rates)))
    if not (np.isclose(got[0], expected[0], rtol=1e-12) and np.allclose(got[1], expected[1], rtol=1e-10, atol=1e-12)):
        raise RuntimeError("shared compiled likelihood disagrees with the patch's own model")


def grid_paths(grid: dict) -> list[str]:
    """Files a signal grid reads.

    Args:
        grid: its config entry.

    Returns:
        The workspace and patchset paths.
    """
    return [str(Path(grid["workspace"])), str(Path(grid["patchset"]))]
