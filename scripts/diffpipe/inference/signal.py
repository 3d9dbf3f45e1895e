"""Limits for every patch of a signal grid (a background-only workspace plus a patchset).

Patches of a signal grid often share one structure (channels, samples, modifiers) and differ
in their numbers (the signal's yields and systematic variations); the two published ATLAS grids
do not (their signal systematics and MC-stat shapesys names differ from point to point). The likelihood is the
HistFactory kernel (`diffpipe.histfactory`), whose numbers are an input, so when the patched
specifications have one structure (`models.shared_structure`: equal once the samples' numbers
are removed) all patches share one model and one compiled likelihood: the first patch's model is
built, and every other patch only lays its numbers out for it (no pyhf model built, validated
or converted per patch: that took about as long as the patch's fits). The sharing is verified
on the second patch against its own model, built in full: equal data, and equal -ln L and
gradient at a random point. Otherwise each patch builds and compiles its own.
"""

import json
import logging
import time
from pathlib import Path

import numpy as np

from diffpipe.inference.analysis import prepare
from diffpipe.inference.limits import CLsScan, shown, upper_limits
from diffpipe.models import (
    ModelError,
    build_model,
    kernel,
    patch_numbers,
    read_json,
    select_patches,
    shared_structure,
)

log = logging.getLogger("diffpipe")
EXPECTED_COLUMNS = ("expected_p2", "expected_p1", "expected", "expected_m1", "expected_m2")


def _patched_workspaces(signal_grid: dict, patches: list[dict]) -> list[dict]:
    import pyhf

    workspace = pyhf.Workspace(read_json(signal_grid["workspace"], "workspace"))
    patchset = pyhf.PatchSet(read_json(signal_grid["patchset"], "patchset"))
    return [json.loads(json.dumps(patchset.apply(workspace, p["name"]))) for p in patches]


def structure_difference(workspaces: list[dict]) -> str:
    """Why patched workspaces cannot share one compiled likelihood ("" when they can).

    Args:
        workspaces: the patched workspace specifications.

    Returns:
        The reason, or "".
    """
    first = shared_structure(workspaces[0])
    if any(shared_structure(workspace) != first for workspace in workspaces[1:]):
        return "patches differ in structure (channels, samples, modifiers, measurements or observations)"
    return ""


def grid_limits(name: str, signal_grid: dict, settings: dict) -> tuple[list[dict], dict, str]:
    """CLs limits for the selected patches of one signal grid.

    Args:
        name: the signal grid's name.
        signal_grid: its config entry (workspace, patchset, measurement, patches, data, bounds).
        settings: the `inference` keys (cl; poi_bound_max, default: no widening).

    Returns:
        (rows per patch, shared-compilation record {shared, reason}, the POI's name).
    """
    patchset = read_json(signal_grid["patchset"], "patchset")
    labels = patchset["metadata"]["labels"]
    patches = select_patches(patchset, signal_grid.get("patches", "all"))
    workspaces = _patched_workspaces(signal_grid, patches)
    reason = structure_difference(workspaces) if len(workspaces) > 1 else "a single patch"
    shared = {"shared": not reason, "reason": reason or "patches share one structure (they differ in numbers only)"}
    rows, poi_name, first = [], None, None
    entry = {
        key: signal_grid[key]
        for key in ("workspace", "patchset", "measurement", "data", "bounds")
        if key in signal_grid
    }
    began = time.perf_counter()
    for k, patch in enumerate(patches):
        started = time.perf_counter()
        if first is None or not shared["shared"]:
            model, data = build_model({**entry, "patch": patch["name"]})
            numbers = kernel(model).default() if shared["shared"] else None
            analysis = prepare(model, data, signal_grid.get("bounds"), numbers=numbers)
            first = analysis
        else:
            numbers = patch_numbers(first.model, workspaces[k])
            if k == 1:
                _verify_sharing(first, {**entry, "patch": patch["name"]}, numbers)
            analysis = prepare(first.model, first.data, signal_grid.get("bounds"), numbers=numbers, like=first)
            _check_finite(analysis, patch["name"])
        poi_name = analysis.model.config.poi_name
        result = upper_limits(CLsScan(analysis), settings["cl"], 0, settings.get("poi_bound_max"))
        row = {"patch": patch["name"], **{label: float(v) for label, v in zip(labels, patch["values"], strict=False)}}
        row["observed"] = result["observed"]
        row.update({col: value for col, value in zip(EXPECTED_COLUMNS, result["expected"], strict=True)})
        row["failure"] = "; ".join(f"{k}: {v}" for k, v in result["failures"].items())
        row["fits"] = result["n_fits"] + analysis.refits
        row["seconds"] = time.perf_counter() - started
        rate = (k + 1) / (time.perf_counter() - began)
        log.info(
            "%s %s: observed %s, expected %s (%.2f s)%s; %d of %d patches, %.2g patches/s, ~%.0f s left",
            name,
            patch["name"],
            shown(row["observed"]),
            shown(row["expected"]),
            row["seconds"],
            f"; {row['failure']}" if row["failure"] else "",
            k + 1,
            len(patches),
            rate,
            (len(patches) - k - 1) / rate,
        )
        rows.append(row)
    return rows, shared, poi_name


def _verify_sharing(first, entry: dict, numbers: dict) -> None:
    """Check that sharing gives a patch what its own model, built in full, would.

    The patch's data as the shared model sees them, and its -ln L and gradient under the shared
    compiled function, must equal those of its own model.

    Args:
        first: the `Analysis` of the grid's first patch (whose model and compiled fit are shared).
        entry: the patch's model entry.
        numbers: its kernel numbers laid out for the shared model.

    Raises:
        RuntimeError: any of them differs.
    """
    import jax

    from diffpipe.models import build_model, make_nll

    model, data = build_model(entry)
    if not np.array_equal(data, first.data):
        raise RuntimeError(f"{entry['patch']}: the shared model's data differ from the patch's own model")
    solver = first.solver
    rng = np.random.default_rng(0)
    lo, hi = solver.bounds.T
    point = lo + (hi - lo) * rng.uniform(0.3, 0.7, len(lo))
    value, grad = jax.jit(jax.value_and_grad(make_nll(model)))(point, data)
    expected = (float(value), np.asarray(grad))
    got = (float(solver.nll(point, data, numbers)), np.asarray(solver.grad(point, data, numbers)))
    if not (np.isclose(got[0], expected[0], rtol=1e-12) and np.allclose(got[1], expected[1], rtol=1e-10, atol=1e-12)):
        raise RuntimeError("shared compiled likelihood disagrees with the patch's own model")


def _check_finite(analysis, patch: str) -> None:
    """The patch's -ln L at the suggested start is finite (what building its model would check).

    Args:
        analysis: the patch's `Analysis` (shared model, the patch's rates as `solver.numbers`).
        patch: the patch's name, for the message.

    Raises:
        ModelError: it is not (a negative or zero yield where data is observed).
    """
    value = float(analysis.solver.nll(analysis.init, analysis.data, analysis.solver.numbers))
    if not np.isfinite(value):
        raise ModelError("patchset", f"patch {patch!r}: the log-likelihood at the suggested start is {value}")


def grid_paths(grid: dict) -> list[str]:
    """Files a signal grid reads.

    Args:
        grid: its config entry.

    Returns:
        The workspace and patchset paths.
    """
    return [str(Path(grid["workspace"])), str(Path(grid["patchset"]))]


def merge_blocks(blocks: list) -> tuple[list[dict], dict]:
    """The rows of a signal grid computed in blocks of patches, in block order, and how they shared compilation.

    Args:
        blocks: the `artifacts.SignalGridBlock`s, in block order.

    Returns:
        (rows per patch, shared-compilation record {shared, reason, blocks}: shared when every
        block ran its patches on one compiled likelihood; each block compiles its own).
    """
    indices = [b.block for b in blocks]
    if indices != list(range(len(blocks))):
        raise ValueError(f"signal grid blocks {indices} are not 0..{len(blocks) - 1} in order")
    rows = [row for b in blocks for row in b.table.to_dict("records")]
    names = [row["patch"] for row in rows]
    if len(set(names)) != len(names):
        raise ValueError("a patch appears in more than one block")
    unshared = [
        f"block {b.block}: {b.shared_compilation['reason']}" for b in blocks if not b.shared_compilation["shared"]
    ]
    shared = {
        "shared": not unshared,
        "reason": "; ".join(unshared) or blocks[0].shared_compilation["reason"],
        "blocks": len(blocks),
    }
    return rows, shared
