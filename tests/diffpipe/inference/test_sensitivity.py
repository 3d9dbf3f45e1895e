"""The systematics budget of a model: what the gradients promise is what a refit gives."""

import numpy as np
import pytest

from diffpipe.inference.analysis import prepare
from diffpipe.inference.sensitivity import sensitivity
from diffpipe.models import build_model

SPEC = {
    "workspace": "resources/pyhf/example_bkgonly.json",
    "patchset": "resources/pyhf/example_patchset.json",
    "patch": "patch_channel1_signal_syst1",
    "measurement": "GaussExample",
    "data": "observed",
}


@pytest.fixture(scope="module")
def budget():
    return sensitivity(prepare(*build_model(SPEC)), SPEC, cl=0.95, halve_top=2)


def test_halving_the_largest_systematics_moves_the_limit_as_the_gradient_predicts(budget):
    """The linear prediction carries most of the change a refit at half the systematic gives."""
    assert [h["modifier"] for h in budget["halving"]] == [
        r["modifier"] for r in sorted(budget["modifiers"], key=lambda r: -abs(r["dln_expected_limit"]))[:2]
    ]
    for h in budget["halving"]:
        change = h["refit_at_half"] - h["expected_limit"]
        assert change < 0  # a smaller systematic, a stronger limit
        assert abs(h["predicted_at_half"] - h["refit_at_half"]) < 0.5 * abs(change)


def test_the_signal_normalisation_divides_the_limit_and_the_bins_add_up_to_it(budget):
    """With observed data, scaling the signal (normalisation modifiers only) by k divides the
    limit by k; the per-event bin gradients times the yields add up to that."""
    assert budget["signal_sample"] == "signal"
    signal = next(s for s in budget["samples"] if s["sample"] == "signal")
    assert signal["dln_expected_limit"] == pytest.approx(-1.0, rel=1e-7)
    assert signal["dln_observed_limit"] == pytest.approx(-1.0, rel=1e-7)
    per_bin = sum(b["d_expected_limit_per_event"] * b["signal_yield"] for b in budget["signal_bins"])
    assert per_bin == pytest.approx(-budget["limits"]["expected_median"], rel=1e-7)
    assert not budget["failures"]
    assert all(np.isfinite(r["d_expected_z"]) for r in budget["modifiers"])


def test_a_model_without_a_poi_has_no_budget():
    spec = {"workspace": "resources/pyhf/example_bkgonly.json", "measurement": "GaussExample", "data": "observed"}
    analysis = prepare(*build_model({**spec, "poi": None}))
    with pytest.raises(ValueError, match="no POI"):
        sensitivity(analysis, spec)


def test_a_fit_that_does_not_converge_is_a_recorded_failure_not_a_number(monkeypatch):
    from diffpipe.implicit import Differentiable

    spec = {"simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]}, "data": "asimov"}

    def fails(*args, **kwargs):
        raise ValueError("a fit did not converge")

    monkeypatch.setattr(Differentiable, "fit_point", fails)
    budget = sensitivity(prepare(*build_model(spec)), spec, halve_top=1)
    assert budget["failures"]["gradients"] == "a fit did not converge"
    assert all(r["dln_expected_limit"] is None and r["d_expected_z"] is None for r in budget["modifiers"])
    assert budget["halving"] == [] and budget["limits"]["expected_median"] > 0  # the limit itself stands
