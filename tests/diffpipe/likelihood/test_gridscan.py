from types import SimpleNamespace

import numpy as np
import pytest

from diffpipe.likelihood import gridscan
from diffpipe.models import build_model

MODEL = {"simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]}, "data": "asimov"}
GRID = {"x": "mu", "y": "uncorr_bkguncrt[0]", "x_range": [0.5, 1.5], "y_range": [0.6, 1.4], "points": 7, "arrows": 3}


@pytest.fixture(scope="module")
def scan():
    model, data = build_model(MODEL)
    return model, data, gridscan.scan(model, data, np.array([1.0, 1.0]), ["mu", "uncorr_bkguncrt[0]"], GRID)


def test_grid_values_equal_pointwise_logpdf_with_x_along_columns(scan):
    model, data, result = scan
    for i, y in enumerate(result["y"]):
        for j, x in enumerate(result["x"]):
            assert result["lnl"][i, j] == pytest.approx(float(model.logpdf(np.array([x, y]), data)[0]), rel=1e-12)


def test_gradient_field_matches_finite_differences(scan):
    model, data, result = scan
    h = 1e-6
    for i in range(3):
        for j in range(3):
            x, y = result["arrow_x"][i, j], result["arrow_y"][i, j]
            f = lambda a, b: float(model.logpdf(np.array([a, b]), data)[0])  # noqa: E731
            assert result["arrow_dx"][i, j] == pytest.approx((f(x + h, y) - f(x - h, y)) / (2 * h), rel=1e-6, abs=1e-7)
            assert result["arrow_dy"][i, j] == pytest.approx((f(x, y + h) - f(x, y - h)) / (2 * h), rel=1e-6, abs=1e-7)


def test_maximum_of_the_grid_is_at_the_asimov_point(scan):
    _, _, result = scan
    i, j = np.unravel_index(np.argmax(result["lnl"]), result["lnl"].shape)
    assert result["x"][j] == pytest.approx(1.0, abs=0.17) and result["y"][i] == pytest.approx(1.0, abs=0.14)


def test_default_axes_are_poi_and_first_nuisance_within_three_sigma():
    fit = SimpleNamespace(
        parameters=["mu", "g"],
        poi="mu",
        bounds=[[-1, 10], [0, 10]],
        bestfit=[1.0, 1.0],
        sigma_autodiff=[0.5, 0.1],
    )
    grid = gridscan.grid_axes({"points": 5, "arrows": 3}, fit)
    assert (grid["x"], grid["y"]) == ("mu", "g")
    assert grid["x_range"] == pytest.approx([-0.5, 2.5]) and grid["y_range"] == pytest.approx([0.7, 1.3])
