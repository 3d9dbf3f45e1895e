"""The inference and benchmark figures draw what their artifacts hold (small synthetic artifacts)."""

import numpy as np
import pandas as pd

from diffpipe import artifacts
from diffpipe.inference.contours import grid_contours
from diffpipe.plots import benchmark as plot_benchmark
from diffpipe.plots import inference as plot_inference

STYLE = {"dpi": 40, "colormap": "viridis", "width": 3.0, "height": 2.0}
COMMON = {"model": "m", "definition": {}, "origin": {}}


def test_cls_figure_draws_the_observed_curve_the_band_and_the_limit():
    mu = np.linspace(0, 3, 7)
    observed = np.exp(-mu)
    expected = [np.exp(-mu * k) for k in (0.6, 0.8, 1.0, 1.2, 1.4)]
    limits = artifacts.Limits(
        **COMMON,
        poi="mu",
        cl=0.95,
        observed=2.1,
        expected=[1.0, 1.3, 1.6, 2.0, 2.5],
        band_sigma=[-2, -1, 0, 1, 2],
        failures={},
        curves={"mu": mu.tolist(), "observed": observed.tolist(), "expected": [e.tolist() for e in expected]},
        poi_bounds=[0.0, 10.0],
        declared_poi_upper=10.0,
        n_fits=10,
        free_fit_restarts=0,
    )
    ax = plot_inference.plot_cls(limits, STYLE).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["observed"].get_ydata(), observed)
    np.testing.assert_allclose(lines["expected"].get_ydata(), expected[2])
    assert "limit 2.1" in ax.get_title() and "expected 1.6" in ax.get_title()
    assert any(np.allclose(line.get_xdata(), 2.1) for line in ax.get_lines())  # the observed limit marked


def test_ranking_figure_shows_the_top_parameters_in_order_or_says_there_are_none():
    table = pd.DataFrame(
        {
            "parameter": ["a", "b", "c"],
            "postfit_up": [0.3, 0.2, 0.1],
            "postfit_down": [-0.3, -0.2, -0.1],
            "prefit_up": [0.4, 0.3, 0.2],
            "prefit_down": [-0.4, -0.3, -0.2],
            "linear_postfit": [0.3, 0.2, 0.1],
            "bestfit": [0.1, -0.2, 1.0],
            "uncertainty": [0.9, 0.8, 0.1],
            "prior_width": [1.0, 1.0, 0.2],
        }
    )
    impacts = artifacts.Impacts(**COMMON, table=table, poi="mu", poi_bestfit=1.0, poi_uncertainty=0.5)
    ax = plot_inference.plot_ranking(impacts, 2, STYLE).axes[0]
    position = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    assert set(position) == {"a", "b"} and position["a"] > position["b"]  # the top two, the largest on top
    empty = artifacts.Impacts(**COMMON, table=table.head(0), poi="mu", poi_bestfit=1.0, poi_uncertainty=0.5)
    texts = [t.get_text() for t in plot_inference.plot_ranking(empty, 5, STYLE).axes[0].texts]
    assert texts == ["no floating nuisance parameters"]


def test_signal_grid_figure_is_a_line_for_one_label_and_contours_for_two():
    def grid(labels, values):
        table = pd.DataFrame({"patch": [f"p{i}" for i in range(len(values))]})
        for k, label in enumerate(labels):
            table[label] = [v[k] for v in values]
        observed = np.linspace(0.5, 2.0, len(values))
        for column, factor in (("observed", 1.0), ("expected", 1.1), ("expected_p1", 1.5), ("expected_m1", 0.8)):
            table[column] = observed * factor
        table["expected_p2"], table["expected_m2"] = observed * 2.0, observed * 0.6
        table["excluded"] = observed < 1
        signal_grid = artifacts.SignalGrid(
            table=table, grid="g", definition={}, labels=labels, cl=0.95, poi="mu", shared_compilation={}, n_excluded=1
        )
        contours = artifacts.SignalContours(
            table=grid_contours(table, labels), grid="g", labels=labels, interpolation="", curves_without_contour=[]
        )
        return signal_grid, contours

    ax = plot_inference.plot_signal_grid(*grid(["m"], [[100.0], [200.0], [300.0]]), STYLE).axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "m"
    values = [[x, y] for x in (100.0, 200.0, 300.0) for y in (10.0, 50.0)]
    signal_grid, contours = grid(["m1", "m2"], values)
    fig = plot_inference.plot_signal_grid(signal_grid, contours, STYLE)
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "m1"  # the scatter and its colorbar
    observed = contours.table[contours.table["curve"] == "observed"][["m1", "m2"]].to_numpy()
    drawn = [line.get_xydata() for line in fig.axes[0].lines if len(line.get_xydata())]
    assert any(d.shape == observed.shape and np.allclose(d, observed) for d in drawn)  # the artifact's contour


def test_benchmark_figure_has_a_bar_per_backend_and_size_and_the_grid_curve():
    fractals = pd.DataFrame(
        {
            "backend": ["numba", "numba", "jax", "jax"],
            "size": [500, 2000, 500, 2000],
            "steady_s": [0.01, 0.1, 0.02, 0.3],
            "iterations": [1000] * 4,
        }
    )
    grid = pd.DataFrame({"points": [101, 1000], "steady_s": [0.001, 0.03]})
    fig = plot_benchmark.plot_benchmark(fractals, grid, STYLE)
    bars = sorted(round(p.get_height(), 6) for p in fig.axes[0].patches)
    assert bars == [10.0, 20.0, 100.0, 300.0]  # milliseconds
    np.testing.assert_allclose(fig.axes[1].get_lines()[0].get_ydata(), [1.0, 30.0])


def test_budget_figure_ranks_the_systematics_by_their_expected_limit_gradient():
    rows = [
        {"modifier": name, "kinds": "normsys", "dln_expected_limit": v, "dln_observed_limit": w, "d_expected_z": None}
        for name, v, w in (("small", 0.01, 0.0), ("large", -0.4, -0.2), ("medium", 0.2, 0.1), ("none", None, None))
    ]
    budget = artifacts.Sensitivity(
        **COMMON,
        poi="mu",
        cl=0.95,
        limits={"observed": 1.0, "expected_median": 0.9},
        expected_z=1.5,
        modifiers=rows,
        samples=[],
        signal_sample=None,
        signal_bins=[],
        halving=[],
        failures={},
        timing={"limit_s": 1.0, "gradient_s": 0.5, "halving_s": 0.1},
    )
    ax = plot_inference.plot_sensitivity(budget, 2, STYLE).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["medium (normsys)", "large (normsys)"]  # the two largest |gradient|, largest on top
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == [-0.4, -0.2, 0.1, 0.2]
