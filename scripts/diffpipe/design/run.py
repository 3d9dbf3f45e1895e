"""Stage `optimize_analysis`: train one design, check it with hard cuts, write its artifact."""

import logging
import time

import numpy as np

from diffpipe.design.events import SAMPLES, load
from diffpipe.design.objective import DesignError, Objective
from diffpipe.design.soft import Binning, edges, hard_histograms, soft_histograms, start_parameters
from diffpipe.design.train import snapshot, train
from diffpipe.design.validate import validate

log = logging.getLogger("diffpipe")


def binning_of(entry: dict) -> Binning:
    """The `Binning` an `optimize_analysis` entry gives.

    Args:
        entry: the entry.

    Returns:
        The `Binning`.
    """
    low, high = entry["range"]
    return Binning(
        bins=int(entry["bins"]),
        low=float(low),
        high=float(high),
        bandwidth=float(entry["bandwidth"]),
        min_width=float(entry["min_width"]),
    )


def _histograms(params: dict, events, binning: Binning) -> dict:
    """Hard and soft yields per sample at the parameters, with the edges."""
    out = {"edges": [float(e) for e in edges(params, binning)]}
    for kind, hists in (
        ("hard", hard_histograms(params, events, binning)),
        ("soft", soft_histograms(params, events, binning)),
    ):
        nominal = np.asarray(hists["nominal"], float)
        out[kind] = {s: [float(v) for v in row] for s, row in zip(SAMPLES, nominal)}
    return out


def optimize_analysis(entry: dict, cl: float) -> dict:
    """Train a design and validate it.

    Args:
        entry: the `optimize_analysis` entry.
        cl: confidence level of the limits.

    Returns:
        The `AnalysisDesign` fields the stage computes (events, loss, start, trained,
        best_step, history, histograms, validation, failures, timing).
    """
    started = time.perf_counter()
    events = load(entry["events"])
    binning = binning_of(entry)
    start = start_parameters(binning, entry["start_cut"])
    template = {k: np.asarray(v, float) for k, v in soft_histograms(start, events, binning).items()}
    objective = Objective(events, binning, template, entry["loss"], cl, entry["mu_test"], entry["mu_max"])
    out = {
        "events": {**events.source, "simulated": {s: len(events.w[s]) for s in SAMPLES}},
        "loss": entry["loss"],
        "start": snapshot(start, binning),
        "trained": None,
        "best_step": None,
        "history": [],
        "histograms": {"start": _histograms(start, events, binning)},
        "validation": None,
        "failures": {},
    }
    timing = {"compile_s": None, "train_s": None, "validate_s": None}
    try:
        first = time.perf_counter()
        objective.value_and_grad(start)  # compiles the soft histograms, the fit and the gradient
        trained_at = time.perf_counter()
        timing["compile_s"] = trained_at - started
        result = train(objective, start, int(entry["steps"]), float(entry["learning_rate"]))
        timing["train_s"] = time.perf_counter() - trained_at
        log.info("%d steps in %.3g s (compiling: %.3g s)", entry["steps"], timing["train_s"], trained_at - first)
    except DesignError as err:
        out["failures"]["training"] = str(err)
        out["timing"] = timing
        return out
    best = result["best"]
    out.update(
        trained=snapshot(best, binning),
        best_step=result["best_step"],
        history=result["history"],
    )
    out["histograms"]["trained"] = _histograms(best, events, binning)
    validated_at = time.perf_counter()
    try:
        out["validation"] = validate(objective, start, best, entry["grid"], entry["bootstrap"], cl)
    except DesignError as err:
        out["failures"]["validation"] = str(err)
    timing["validate_s"] = time.perf_counter() - validated_at
    out["timing"] = timing
    return out


def run_optimize_analysis(job, name: str, entry: dict, cl: float, output: str) -> None:
    """Rule `optimize_analysis`: one design trained and checked.

    Args:
        job: the `runtime.Job`.
        name: the design's name.
        entry: its config entry.
        cl: the limits' confidence level (`inference.cl`).
        output: path of the design's JSON.
    """
    from diffpipe.artifacts import AnalysisDesign
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job

    with compute_job(job) as device:
        started = time.perf_counter()
        fields = optimize_analysis(entry, cl)
        prov = Provenance.record({"design": entry, "cl": cl}, device, time.perf_counter() - started)
        check = fields["validation"]
        if check is not None:
            log.info(
                "%s: expected limit (pyhf, hard cuts) %.4g trained, %.4g start, %.4g grid-best (MC error %.2g)",
                name,
                check["trained"]["pyhf_expected_limit"],
                check["start"]["pyhf_expected_limit"],
                check["grid_best"]["pyhf_expected_limit"],
                check["mc_error"],
            )
        for what, why in fields["failures"].items():
            log.warning("%s: %s: %s", name, what, why)
        AnalysisDesign(design=name, definition=entry, cl=cl, provenance=prov, **fields).write(output)
