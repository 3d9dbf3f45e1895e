"""The analysis design: events, soft histograms, the loss against pyhf, its gradient against finite differences."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from diffpipe.design.design_model import workspace
from diffpipe.design.events import EventsError, generate, read_npz, write_npz
from diffpipe.design.objective import LOSSES, Objective
from diffpipe.design.soft import Binning, edges, hard_histograms, soft_histograms, start_parameters
from diffpipe.design.train import train
from diffpipe.design.validate import pyhf_expected_limit

BINNING = Binning(bins=3, low=0.0, high=1.0, bandwidth=0.03, min_width=0.1)


@pytest.fixture(scope="module")
def events():
    return generate(1, 1000)


@pytest.fixture(scope="module")
def objective(events):
    """One compiled objective; its loss is switched per test (the compiled functions do not depend on it)."""
    start = start_parameters(BINNING, 0.2)
    template = {k: np.asarray(v) for k, v in soft_histograms(start, events, BINNING).items()}
    return Objective(events, BINNING, template, "limit", 0.95, 1.0, 10.0)


def test_the_generator_is_seeded_and_its_npz_reads_back(events, tmp_path):
    again, other = generate(1, 1000), generate(2, 1000)
    assert all(np.array_equal(a, b) for a, b in zip(events.arrays().values(), again.arrays().values()))
    assert not np.array_equal(events.x["signal"], other.x["signal"])
    write_npz(events, tmp_path / "e.npz")
    back = read_npz(tmp_path / "e.npz")
    assert all(np.array_equal(a, b) for a, b in zip(events.arrays().values(), back.arrays().values()))
    assert back.source["npz"].endswith("e.npz") and len(back.source["sha256"]) == 64
    np.savez(tmp_path / "bad.npz", **{k: v for k, v in events.arrays().items() if k != "signal_weight"})
    with pytest.raises(EventsError, match="signal_weight: missing"):
        read_npz(tmp_path / "bad.npz")


def test_edges_increase_and_keep_the_smallest_bin(events):
    params = {"cut": np.asarray(0.5), "logits": np.array([30.0, -30.0, 0.0])}
    e = edges(params, BINNING)
    assert e[0] == 0.0 and e[-1] == 1.0 and np.all(np.diff(e) >= BINNING.min_width - 1e-12)
    np.testing.assert_allclose(edges(start_parameters(BINNING, 0.2), BINNING), [0, 1 / 3, 2 / 3, 1])


def test_soft_histograms_become_the_hard_ones_as_the_bandwidth_shrinks(events):
    params = {"cut": np.asarray(0.41), "logits": np.array([0.3, -0.2, 0.1])}
    sharp = Binning(bins=3, low=0.0, high=1.0, bandwidth=1e-9, min_width=0.1)
    soft, hard = soft_histograms(params, events, sharp), hard_histograms(params, events, sharp)
    for key in hard:
        np.testing.assert_allclose(np.asarray(soft[key]), hard[key], rtol=1e-9, atol=1e-9, err_msg=key)
    w = events.w["signal"]
    x = events.x["signal"]
    e = edges(params, sharp)
    expected = np.histogram(x[x[:, 1] > 0.41, 0], bins=e, weights=w[x[:, 1] > 0.41])[0]
    np.testing.assert_allclose(hard["nominal"][0], expected)


@pytest.fixture(scope="module")
def pyhf_reference(events):
    """pyhf (numpy backend) on the start's hard analysis: its model and the two Asimov datasets."""
    import pyhf

    hists = hard_histograms(start_parameters(BINNING, 0.2), events, BINNING)
    pyhf.set_backend("numpy")
    model = pyhf.Workspace(workspace(hists, 10.0)).model()
    pars = np.asarray(model.config.suggested_init(), float)
    asimov = {}
    for mu in (0.0, 1.0):
        pars[model.config.poi_index] = mu
        asimov[mu] = model.expected_data(pars)
    return hists, model, asimov


def test_each_loss_equals_pyhf_on_a_hard_analysis(objective, pyhf_reference):
    import pyhf

    hists, model, asimov = pyhf_reference
    objective.loss = "cls"
    cls = pyhf.infer.hypotest(1.0, asimov[0.0], model, test_stat="qtilde")
    np.testing.assert_allclose(objective.solve(hists)["value"], float(cls), rtol=1e-6)
    objective.loss = "inverse_significance"
    p0 = pyhf.infer.hypotest(0.0, asimov[1.0], model, test_stat="q0")
    np.testing.assert_allclose(objective.solve(hists)["value"], 1.0 / float(norm.isf(float(p0))), rtol=1e-6)
    objective.loss = "limit"
    limit = objective.solve(hists)["value"]
    assert limit == pytest.approx(objective.expected_limit(hists), rel=1e-9)
    # pyhf interpolates CLs linearly between 11 scan points within +-10%: ~1e-4 of the limit
    np.testing.assert_allclose(pyhf_expected_limit(hists, 10.0, 0.95, limit), limit, rtol=1e-3)


@pytest.mark.parametrize("loss", LOSSES)
def test_the_gradient_equals_central_differences(objective, loss):
    objective.loss = loss
    params = {"cut": np.asarray(0.35), "logits": np.array([0.2, -0.1, 0.05])}
    _, grad = objective.value_and_grad(params)
    step = 1e-5
    for key, index in (("cut", ()), ("logits", (0,)), ("logits", (2,))):
        values = []
        for sign in (1.0, -1.0):
            moved = {k: np.array(v, float) for k, v in params.items()}
            moved[key][index] += sign * step
            values.append(objective.solve(objective._soft(moved))["value"])
        fd = (values[0] - values[1]) / (2 * step)
        got = float(np.asarray(grad[key])[index])
        assert abs(got - fd) <= 1e-4 * abs(fd) + 1e-6, (loss, key, index, got, fd)


def test_training_lowers_the_loss_and_keeps_the_lowest(objective):
    objective.loss = "limit"
    start = start_parameters(BINNING, 0.2)
    result = train(objective, start, 6, 0.1)
    losses = [h["loss"] for h in result["history"]]
    assert len(losses) == 7 and min(losses) < 0.8 * losses[0]
    assert result["history"][result["best_step"]]["loss"] == min(losses)
    assert math.isclose(objective.solve(objective._soft(result["best"]))["value"], min(losses), rel_tol=1e-9)
