"""Limits for every patch of a signal grid (a background-only workspace plus a patchset).

The likelihood is the HistFactory kernel (`diffpipe.histfactory`), whose numbers are an input:
the patches are put into one structure, the union of their signals (`patches.GridLayout`: the
two published ATLAS grids need it, their signals' names and systematics differ from point to
point), so one pyhf model is built and one likelihood compiled for the whole grid, and each
patch is only its numbers and data under it. The first patch of a job is checked against its
own model, built in full (`patches.verify_patch`: pyhf's log-pdf of it, up to constants of the
parameters it lacks). Patches that cannot share a structure (the layout says why) each build and compile
their own model.
"""

import logging
import time
from pathlib import Path

import numpy as np

from diffpipe.fitpool import FitPool
from diffpipe.inference.analysis import prepare
from diffpipe.inference.limits import CLsScan, shown, upper_limits
from diffpipe.models import build_model, parameter_setup
from diffpipe.patches import MODEL_KEYS, GridLayout, grid_derived, patch_data, verify_patch
from diffpipe.teststat import BAND_COLUMNS
from diffpipe.workspaces import ModelError, read_json, select_patches

log = logging.getLogger("diffpipe")


class _Patches:
    """Each selected patch's `Analysis`: under the grid's one model when the layout allows, else its own."""

    def __init__(self, signal_grid: dict, names: list[str]):
        self.entry = {key: signal_grid[key] for key in MODEL_KEYS if key in signal_grid}
        self.layout = GridLayout.of(signal_grid, names)
        self.first = None
        if self.layout.reason:
            self.shared = {"shared": False, "reason": self.layout.reason}
            return
        background = {k: v for k, v in self.entry.items() if k not in ("patchset", "prune")}  # the layout prunes
        # the workspace and patchset were validated by the config check: the union built from them is not again
        union = {**background, "workspace": self.layout.model_specification()}
        self.model, self.data = build_model(union, validate=False)
        npars = self.model.config.npars
        self.shared = {
            "shared": True,
            "reason": f"one model for all patches: the union of their signals ({npars} parameters)",
        }

    def analysis(self, name: str):
        """The patch's `Analysis`.

        Args:
            name: the patch.

        Returns:
            The `Analysis` (sharing the compiled fit of the job's first patch when shared).

        Raises:
            ModelError: the patch's likelihood is not finite at the suggested start.
            RuntimeError: the grid's model disagrees with the patch's own (first patch only).
        """
        if not self.shared["shared"]:
            return prepare(*build_model({**self.entry, "patch": name}), self.entry)
        derived = grid_derived(self.model, self.layout, name)
        asimov = {} if self.entry.get("data", "observed") != "observed" else None
        data = patch_data(self.model, self.data, derived, asimov)
        analysis = prepare(self.model, data, self.entry, derived=derived, like=self.first)
        if self.first is None:
            own, own_data = build_model({**self.entry, "patch": name}, validate=False)
            verify_patch(
                lambda pars: analysis.nll(pars, data),
                lambda pars: analysis.grad(pars, data),
                self.model,
                own,
                own_data,
                self.layout.renamed(name),
                parameter_setup(own, self.entry).bounds,
            )
            self.first = analysis
        _check_finite(analysis, name)
        return analysis


def grid_limits(name: str, signal_grid: dict, settings: dict) -> tuple[list[dict], dict, str]:
    """CLs limits for the selected patches of one signal grid.

    Args:
        name: the signal grid's name.
        signal_grid: its config entry (workspace, patchset, measurement, patches, data, bounds).
        settings: the `inference` keys (cl; poi_bound_max, default: no widening; test_statistic,
            default qtilde).

    Returns:
        (rows per patch, shared-compilation record {shared, reason}, the POI's name).
    """
    patchset = read_json(signal_grid["patchset"], "patchset")
    labels = patchset["metadata"]["labels"]
    patches = select_patches(patchset, signal_grid.get("patches", "all"))
    grid = _Patches(signal_grid, [p["name"] for p in patches])
    test_statistic = settings.get("test_statistic", "qtilde")
    began = time.perf_counter()
    done = []

    def limits(analysis) -> dict:
        result = upper_limits(
            CLsScan(analysis, test_statistic=test_statistic), settings["cl"], 0, settings.get("poi_bound_max")
        )
        done.append(analysis)
        rate = len(done) / (time.perf_counter() - began)
        log.info(
            "%s %s: observed %s, expected %s%s; %d of %d patches, %.2g patches/s, ~%.0f s left",
            name,
            names[id(analysis)],
            shown(result["observed"]),
            shown(result["expected"][2]),
            "; " + "; ".join(result["failures"].values()) if result["failures"] else "",
            len(done),
            len(patches),
            rate,
            (len(patches) - len(done)) / rate,
        )
        return result

    analyses = [grid.analysis(patch["name"]) for patch in patches]
    names = {id(analysis): patch["name"] for analysis, patch in zip(analyses, patches, strict=True)}
    if grid.shared["shared"] and len(analyses) > 1:
        # the patches' searches run together, their fits pooled into one queue
        pool = FitPool(analyses)
        outcomes = pool.run(limits)
        seconds = pool.seconds
    else:
        outcomes, seconds = [], []
        for analysis in analyses:
            started = time.perf_counter()
            outcomes.append((limits(analysis), None))
            seconds.append(time.perf_counter() - started)
    rows = []
    for patch, analysis, (result, error), spent in zip(patches, analyses, outcomes, seconds, strict=True):
        if error is not None:
            raise error
        row = {"patch": patch["name"], **{label: float(v) for label, v in zip(labels, patch["values"], strict=False)}}
        row["observed"] = result["observed"]
        row.update({col: value for col, value in zip(BAND_COLUMNS, result["expected"], strict=True)})
        row["failure"] = "; ".join(f"{k}: {v}" for k, v in result["failures"].items())
        row["fits"] = result["n_fits"] + analysis.refits
        row["seconds"] = float(spent)
        rows.append(row)
    return rows, grid.shared, analyses[0].model.config.poi_name


def _check_finite(analysis, patch: str) -> None:
    """The patch's -ln L at the suggested start is finite (what building its model would check).

    Args:
        analysis: the patch's `Analysis` (shared model, the patch's derived numbers).
        patch: the patch's name, for the message.

    Raises:
        ModelError: it is not (a negative or zero yield where data is observed).
    """
    value = analysis.nll(analysis.init, analysis.data)
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
