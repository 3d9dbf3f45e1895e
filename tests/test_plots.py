"""The plot modules draw what their artifacts hold (figures built from small synthetic data)."""

import numpy as np
import pandas as pd

import plot_fractals
import plot_gradients
import plot_likelihood
import plot_optimizers

STYLE = {"format": "png", "dpi": 40, "colormap": "viridis", "width": 3.0, "height": 2.0}


def test_controlflow_plot_has_f_and_both_derivatives():
    x = np.linspace(-2, 5, 20)
    fig = plot_gradients.plot_controlflow(pd.DataFrame({"x": x, "f": x, "df_jax_vmap": x, "df_analytic": x}), STYLE)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["f(x)", "f'(x), jax.vmap(grad)", "f'(x), analytic"]


def test_optimizer_plots_draw_one_panel_per_method_and_mark_missing_bars():
    traces = {"problem": "p", "runs": [
        {"method": m, "gradient_mode": g, "start": "[1]", "evaluations": [1, 2, 3], "f_gap": [1.0, 0.1, 0.0]}
        for m in ("BFGS", "CG") for g in ("none", "jax")
    ]}
    fig = plot_optimizers.plot_convergence(traces, STYLE)
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["BFGS", "CG"]
    table = pd.DataFrame({"method": ["BFGS", "BFGS"], "gradient_mode": ["none", "jax"], "evals_to_target": [10, -1]})
    fig = plot_optimizers.plot_evaluations(table, STYLE)
    assert any(t.get_text() == "x" for t in fig.axes[0].texts)  # jax never reached the target


def test_likelihood_grid_plot_marks_the_best_fit():
    grid = {"x": np.linspace(0, 1, 5), "y": np.linspace(0, 1, 4), "lnl": -np.arange(20.0).reshape(4, 5),
            "arrow_x": np.zeros((2, 2)), "arrow_y": np.zeros((2, 2)), "arrow_dx": np.ones((2, 2)),
            "arrow_dy": np.ones((2, 2)), "bestfit": np.array([0.5, 0.5]), "names": np.array(["mu", "g"])}
    fig = plot_likelihood.plot_grid(grid, STYLE)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("mu", "g")
    assert ax.collections[-1].get_offsets().tolist() == [[0.5, 0.5]]


def test_fractal_image_uses_the_corrected_shading():
    spec = {"kind": "julia", "c": [-0.7, 0.2], "viewport": [-1, 1, -1, 1], "iterations": 10}
    counts = np.array([[0, 10], [5, 1]])
    fig = plot_fractals.plot_single(counts, spec, "j", STYLE)
    data = fig.axes[0].images[0].get_array()
    assert np.isfinite(data).all() and data.max() == 0.0
