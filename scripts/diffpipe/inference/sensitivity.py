"""The sensitivity of a model's limits and significance to its specification: the systematics budget.

For each systematic (a scale on its magnitude, `diffpipe.scales`), each sample's normalisation
and the signal yield of every bin: the gradient of the observed and expected upper limits and of
the expected discovery significance (`inference.gradients`), as elasticities
d ln(limit) / d ln(scale). The systematics that move the expected limit most are then checked
by what the gradient promises: the linear prediction for halving each one beside the limit of
the model actually rebuilt from the specification with that scale at 0.5 and fitted again.
"""

import math
import time

import numpy as np

from diffpipe.inference.analysis import Analysis, prepare
from diffpipe.inference.limits import CLsScan, significance, upper_limits
from diffpipe.teststat import BAND
from diffpipe.workspaces import specification


def refit(
    entry: dict,
    like: Analysis,
    modifiers: dict | None = None,
    yields: dict | None = None,
    cl: float = 0.95,
    poi_bound_max: float | None = None,
    test_statistic: str = "qtilde",
):
    """The non-differentiated pipeline on a scaled specification: pyhf rebuilds the model, the fits run again.

    Args:
        entry: the model's config entry.
        like: the model's `Analysis` (its compiled fit is reused: the structure is the same).
        modifiers: {modifier name: scale}.
        yields: {(channel, sample): scale or per-bin scales}.
        cl: confidence level.
        poi_bound_max: the largest POI upper bound a limit is searched to (`upper_limits`).
        test_statistic: "qtilde" or "q" (`teststat.statistic_bounds`).

    Returns:
        (upper_limits' result, significance's result) of the rebuilt model.
    """
    import jax.numpy as jnp

    from diffpipe.compiled import kernel
    from diffpipe.models import build_model
    from diffpipe.scales import scaled_entry

    model, data = build_model(scaled_entry(entry, modifiers, yields))
    derived = {k: jnp.asarray(v) for k, v in kernel(model).default().items()}
    analysis = prepare(model, data, entry, derived=derived, like=like)
    scan = CLsScan(analysis, test_statistic=test_statistic)
    return upper_limits(scan, cl, 0, poi_bound_max), significance(analysis, test_statistic)


def differentiable(analysis: Analysis, entry: dict, test_statistic: str = "qtilde"):
    """The model as a function of its specification scales.

    Args:
        analysis: the prepared model.
        entry: its config entry.
        test_statistic: "qtilde" or "q" (`teststat.statistic_bounds`).

    Returns:
        The `implicit.Differentiable`.
    """
    from diffpipe.compiled import kernel
    from diffpipe.implicit import Differentiable
    from diffpipe.scales import Scales, lumi_modifiers

    workspace, _ = specification(entry)
    scales = Scales(kernel(analysis.model), lumi_modifiers(workspace))
    asimov = entry.get("data", "asimov") != "observed"
    return Differentiable(
        analysis,
        scales,
        "asimov" if asimov else "observed",
        _asimov_pars(analysis, entry) if asimov else None,
        test_statistic,
    )


def _asimov_pars(analysis: Analysis, entry: dict) -> np.ndarray:
    """The parameters a model entry's Asimov data are generated at (`models.build_model`).

    The suggested init (not the held values of `fixed`) with the entry's `asimov_parameters`.
    """
    pars = np.asarray(analysis.model.config.suggested_init(), float)
    for name, value in entry.get("asimov_parameters", {}).items():
        pars[analysis.names.index(name)] = value
    return pars


def sensitivity(
    analysis: Analysis,
    entry: dict,
    cl: float = 0.95,
    halve_top: int = 3,
    poi_bound_max: float | None = None,
    test_statistic: str = "qtilde",
) -> dict:
    """The systematics budget of one model with a POI.

    Args:
        analysis: the prepared model.
        entry: its config entry.
        cl: confidence level of the limits.
        halve_top: how many of the systematics with the largest expected-limit elasticity to
            refit at scale 0.5.
        poi_bound_max: the largest POI upper bound a limit is searched to (`upper_limits`).
        test_statistic: "qtilde" or "q" (`teststat.statistic_bounds`).

    Returns:
        {"limits": {observed, expected_median}, "expected_z", "modifiers": rows, "samples": rows,
        "signal_bins": rows, "halving": rows, "failures", "timing": {limit_s, gradient_s,
        halving_s}}; a quantity that cannot be computed is None in its rows with the reason in
        `failures`.
    """
    from diffpipe.inference.gradients import InferenceGradients

    started = time.perf_counter()
    scan = CLsScan(analysis, test_statistic=test_statistic)
    limits = upper_limits(scan, cl, 0, poi_bound_max)
    z = significance(analysis, test_statistic)
    limit_s = time.perf_counter() - started
    model = differentiable(analysis, entry, test_statistic)
    model.bounds[model.poi, 1] = scan.bounds[scan.poi, 1]  # as widened for a limit above the declared bound
    failures = {k: v for k, v in limits["failures"].items()}
    try:
        grads = InferenceGradients(model, cl)
        limit_grads = grads.limits(limits, scan)
        z_grads = grads.significance()
    except ValueError as err:  # a fit the gradients start from did not converge
        failures["gradients"] = str(err)
        limit_grads, z_grads = {}, {}
    gradient_s = time.perf_counter() - started - limit_s
    values = {"observed": limits["observed"], "expected_median": limits["expected"][BAND.index(0)]}
    keys = {"observed": "observed", "expected_median": "expected_+0sigma"}
    for what, key in keys.items():
        if key not in limit_grads:
            failures.setdefault(f"{what}_gradient", f"no {what} limit, so no gradient")
    if "expected_z" not in z_grads:
        failures["expected_z_gradient"] = "the expected significance is 0: no gradient"

    def elasticity(what: str, part: str, i) -> float | None:
        grad, value = limit_grads.get(keys[what]), values[what]
        if grad is None or not math.isfinite(value) or value == 0:
            return None
        return float(np.sum(grad[part][i]) / value)

    def z_slope(part: str, i) -> float | None:
        grad = z_grads.get("expected_z")
        return None if grad is None else float(np.sum(grad[part][i]))

    scales = model.scales
    modifiers = [
        {
            "modifier": m.name,
            "kinds": "+".join(m.kinds),
            "dln_expected_limit": elasticity("expected_median", "modifiers", i),
            "dln_observed_limit": elasticity("observed", "modifiers", i),
            "d_expected_z": z_slope("modifiers", i),
        }
        for i, m in enumerate(scales.modifiers)
    ]
    samples = [
        {
            "sample": name,
            "dln_expected_limit": elasticity("expected_median", "yields", s),
            "dln_observed_limit": elasticity("observed", "yields", s),
            "d_expected_z": z_slope("yields", s),
        }
        for s, name in enumerate(scales.samples)
    ]
    signal = scales.signal_sample(specification(entry)[0], analysis.names[analysis.poi])
    signal_bins = []
    if signal is not None:
        nominal = model.hf.numbers["nominal"][signal]
        for channel, first, n in model.hf.structure.channels:
            for b in range(first, first + n):
                y = float(nominal[b])
                per_event = {}
                for what in keys:
                    grad = limit_grads.get(keys[what])
                    per_event[what] = None if grad is None or y <= 0 else float(grad["yields"][signal, b] / y)
                zg = z_grads.get("expected_z")
                signal_bins.append(
                    {
                        "channel": channel,
                        "bin": b - first,
                        "signal_yield": y,
                        "d_expected_limit_per_event": per_event["expected_median"],
                        "d_observed_limit_per_event": per_event["observed"],
                        "d_expected_z_per_event": None if zg is None or y <= 0 else float(zg["yields"][signal, b] / y),
                    }
                )
    halving, halving_started = [], time.perf_counter()
    ranked = sorted(
        (r for r in modifiers if r["dln_expected_limit"] is not None), key=lambda r: -abs(r["dln_expected_limit"])
    )
    for row in ranked[:halve_top]:
        predicted = values["expected_median"] * (1.0 - 0.5 * row["dln_expected_limit"])
        try:
            refitted, _ = refit(
                entry,
                analysis,
                {row["modifier"]: 0.5},
                cl=cl,
                poi_bound_max=poi_bound_max,
                test_statistic=test_statistic,
            )
            actual, why = refitted["expected"][BAND.index(0)], refitted["failures"].get("expected_+0sigma", "")
        except ValueError as err:  # the scaled specification cannot be built or fitted
            actual, why = math.nan, str(err)
        halving.append(
            {
                "modifier": row["modifier"],
                "expected_limit": values["expected_median"],
                "predicted_at_half": predicted,
                "refit_at_half": actual if math.isfinite(actual) else None,
                "refit_failure": why or ("" if math.isfinite(actual) else "no limit at half the systematic"),
            }
        )
    return {
        "limits": {k: v if math.isfinite(v) else None for k, v in values.items()},
        "expected_z": z["expected_z"],
        "modifiers": modifiers,
        "samples": samples,
        "signal_sample": None if signal is None else scales.samples[signal],
        "signal_bins": signal_bins,
        "halving": halving,
        "failures": failures,
        "timing": {"limit_s": limit_s, "gradient_s": gradient_s, "halving_s": time.perf_counter() - halving_started},
    }
