"""The plot modules draw what their artifacts hold (figures built from small synthetic artifacts)."""

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib import ticker
from scipy.stats import norm

from diffpipe import artifacts, figstyle
from diffpipe.plots import fractals as plot_fractals
from diffpipe.plots import gradients as plot_gradients
from diffpipe.plots import likelihood as plot_likelihood
from diffpipe.plots import optimizers as plot_optimizers
from diffpipe.plots import toys as plot_toys

STYLE = {"format": "png", "dpi": 40, "colormap": "viridis", "width": 3.0, "height": 2.0}


def test_controlflow_plot_has_f_and_both_derivatives_and_the_branch_from_the_artifact():
    x = np.linspace(-2, 5, 20)
    flow = artifacts.ControlFlowTable(
        table=pd.DataFrame({"x": x, "f": x, "df_jax_vmap": x, "df_analytic": x}),
        threshold=1.5,
        steps=7,
        interval=[-2, 5],
        max_rel_diff={"df_jax_vmap": 0.0},
    )
    fig = plot_gradients.plot_controlflow(flow, STYLE)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["f(x)", "f'(x), jax.vmap(grad)", "f'(x), analytic"]
    assert "x>1.5" in fig.axes[0].get_title() and "7 times" in fig.axes[0].get_title()
    assert any(list(line.get_xdata()) == [1.5, 1.5] for line in fig.axes[0].get_lines())


def optimizer_traces():
    runs = [
        {
            "family": "scipy",
            "method": m,
            "gradient_mode": g,
            "start": s,
            "evaluations": [1, 2, 3],
            "f_gap": [gap, 0.1, None],
            "gradient_evaluations": [0, 0, 0] if g == "none" else [1, 2, 3],
            "time_median": [0.001, 0.002, 0.003],
            "time_q05": [0.0009, 0.0018, 0.0027],
            "time_q95": [0.0012, 0.0025, 0.0036],
        }
        for m in ("BFGS", "CG")
        for g in ("none", "jax")
        for s, gap in (("[1]", 1.0), ("[9]", 80.0))
    ]
    stats = {"median": 0.01, "q05": 0.005, "q95": 0.02}
    summary = [
        {
            "family": "scipy",
            "method": "BFGS",
            "gradient_mode": "jax",
            "time_to_target_s": stats,
            "evals_to_target": stats,
            "rank_time": 1,
        },
        {
            "family": "optax",
            "method": "optax-adam",
            "gradient_mode": "jax",
            "time_to_target_s": None,
            "evals_to_target": None,
            "rank_time": None,
        },
    ]
    return artifacts.OptimizerTraces(problem={"name": "p"}, runs=runs, summary=summary)


def test_optimizer_convergence_draws_three_axes_for_scipy_beside_the_native_methods():
    traces = optimizer_traces()
    native = {**traces.runs[-1], "family": "optimistix", "method": "optimistix-BFGS", "gradient_mode": "jax"}
    traces.runs.append(native)
    assert plot_optimizers.farthest_start(traces.runs) == "[9]"
    fig = plot_optimizers.plot_convergence(traces, STYLE)
    axes = np.asarray(fig.axes).reshape(3, 2)
    assert [ax.get_title() for ax in axes[0]] == ["scipy", "JAX-native (optimistix, optax)"]
    assert [ax.get_xlabel() for ax in axes[:, 0]] == ["evaluations of f", "exact gradient evaluations", "wall time [s]"]
    assert "[9]" in fig._suptitle.get_text()
    # from the far start only: two methods x two modes in scipy's panel; the native one beside it
    assert len(axes[0, 0].get_lines()) == 4 and len(axes[0, 1].get_lines()) == 1
    assert [t.get_text() for t in axes[0, 0].get_legend().get_texts()] == ["BFGS", "CG"]
    # finite differences evaluate no exact gradient: only the jax lines are drawn there
    assert len(axes[1, 0].get_lines()) == 2
    assert len(axes[2, 0].collections) == 4  # a 5-95% time band per drawn run
    np.testing.assert_allclose(axes[2, 0].get_lines()[0].get_xdata(), [0.001, 0.002, 0.003])


def test_optimizer_ranking_marks_methods_that_never_reached_the_target():
    fig = plot_optimizers.plot_ranking(optimizer_traces(), STYLE)
    assert any(t.get_text() == "x" for t in fig.axes[0].texts)  # adam never reached the target
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["BFGS (jax)", "optax-adam (jax)"]


def test_likelihood_grid_plot_marks_the_best_fit():
    grid = artifacts.GridScan(
        x=np.linspace(0, 1, 5),
        y=np.linspace(0, 1, 4),
        lnl=-np.arange(20.0).reshape(4, 5),
        arrow_x=np.zeros((2, 2)),
        arrow_y=np.zeros((2, 2)),
        arrow_dx=np.ones((2, 2)),
        arrow_dy=np.ones((2, 2)),
        arrow_lnl=np.zeros((2, 2)),
        names=["mu", "g"],
        bestfit=[0.5, 0.5],
        model="m",
    )
    fig = plot_likelihood.plot_grid(grid, STYLE)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("mu", "g")
    assert ax.collections[-1].get_offsets().tolist() == [[0.5, 0.5]]


def test_fractal_image_uses_the_corrected_shading_and_the_artifacts_coordinates():
    fractal = artifacts.FractalCounts(
        counts=np.array([[0, 10], [5, 1]], dtype=np.int32),
        name="j",
        kind="julia",
        c=[-0.7, 0.2],
        viewport=[-1, 2, -1, 1],
        width=2,
        height=2,
        iterations=10,
        threshold=4.0,
        backend="numba",
    )
    fig = plot_fractals.plot_single(fractal, STYLE)
    image = fig.axes[0].images[0]
    data = image.get_array()
    assert np.isfinite(data).all() and data.max() == 0.0
    assert list(image.get_extent()) == [-1, 2, -1, 1]
    assert fig.axes[0].get_title() == "j: Julia c = -0.7+0.2i"


def test_figures_get_plain_text_log_labels_and_no_minor_ticks_over_many_decades(tmp_path):
    assert [figstyle.log_tick_label(v) for v in (1e-16, 1e-3, 1.0, 10.0, 2e5, 0.5, 0.0)] == [
        "10\u207b\u00b9\u2076",
        "10\u207b\u00b3",
        "1",
        "10\u00b9",
        "200000",
        "0.5",
        "",
    ]
    fig, axes = figstyle.new_figure(STYLE, ncols=2)
    wide, narrow = axes[0]
    wide.loglog([1, 10], [1e-12, 1.0])  # 12 decades on y, 1 on x
    narrow.semilogy([0, 1], [1.0, 50.0])  # under 2 decades
    path = tmp_path / "f.png"
    figstyle.save(fig, str(path), STYLE)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert isinstance(wide.yaxis.get_minor_locator(), ticker.NullLocator)
    assert not isinstance(wide.xaxis.get_minor_locator(), ticker.NullLocator)
    assert not isinstance(narrow.yaxis.get_minor_locator(), ticker.NullLocator)
    assert wide.yaxis.get_major_formatter()(1e-6) == "10\u207b\u2076"
    assert not isinstance(narrow.xaxis.get_major_formatter(), ticker.FuncFormatter)  # linear axis untouched


def test_coverage_plot_draws_the_unit_normal_density():
    x = np.linspace(-6.0, 6.0, 121)
    np.testing.assert_allclose(plot_toys.normal_pdf(x), norm.pdf(x), rtol=1e-14, atol=0.0)


def _block_correlation(n: int, block: int) -> np.ndarray:
    """n parameters; the first `block` correlated with each other by 0.5, the rest uncorrelated."""
    corr = np.eye(n)
    corr[:block, :block] = 0.5
    np.fill_diagonal(corr, 1.0)
    return corr


def test_correlation_of_many_parameters_shows_only_the_correlated_ones():
    corr = _block_correlation(40, 6)
    corr[30, 39] = corr[39, 30] = -0.25
    assert plot_likelihood.correlated_subset(corr).tolist() == [0, 1, 2, 3, 4, 5, 30, 39]
    fit = SimpleNamespace(correlation=corr, parameters=[f"p{i}" for i in range(40)])
    ax = plot_likelihood.plot_correlation(fit, STYLE).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["p0", "p1", "p2", "p3", "p4", "p5", "p30", "p39"]
    assert ax.get_title().startswith("8 of 40 parameters")
    # a few parameters: all of them, each value printed
    few = SimpleNamespace(correlation=_block_correlation(4, 2), parameters=list("abcd"))
    ax = plot_likelihood.plot_correlation(few, STYLE).axes[0]
    assert len(ax.get_yticklabels()) == 4 and len(ax.texts) == 16 and ax.get_title() == ""


def test_pulls_of_many_parameters_get_a_taller_figure():
    def pulls(n):
        return SimpleNamespace(pulls=[{"parameter": f"p{i}", "pull": 0.1, "constraint": 0.9} for i in range(n)])

    assert plot_likelihood.plot_pulls(pulls(5), {**STYLE, "height": 4.5}).get_size_inches()[1] == 4.5
    tall = plot_likelihood.plot_pulls(pulls(60), STYLE).get_size_inches()[1]
    assert tall == pytest.approx(plot_likelihood.ROW_INCHES * 60 + 1.5)


def test_toy_limit_plot_draws_the_errors_the_limits_and_the_toys_per_point_from_the_artifact():
    mu = [1.0, 2.0, 3.0]
    toy = SimpleNamespace(
        model="m",
        poi="mu",
        cl=0.95,
        mu=mu,
        n=[200, 600, 400],
        cls=[0.6, 0.08, 0.01],
        cls_error=[0.02, 0.01, 0.004],
        expected=[[0.5, 0.05, 0.005]] * 5,
        observed_limit=2.2,
        observed_error=0.1,
        expected_limits=[None, None, None, None, None],
        expected_errors=[None] * 5,
        rounds=3,
        settings={"cls_accuracy": 0.01},
    )
    limits = SimpleNamespace(observed=2.0, curves={"mu": mu, "observed": [0.5, 0.1, 0.02], "expected": [[0.5] * 3] * 5})
    fig = plot_toys.plot_toy_limit(toy, limits, STYLE)
    ax, right = fig.axes
    bars = [c for c in ax.containers if hasattr(c, "has_yerr") and c.has_yerr]
    np.testing.assert_allclose(np.asarray(bars[0].lines[0].get_ydata(), float), toy.cls)
    # the observed limit ± its error as a band (the expected median has none: no band)
    spans = [(p.get_x(), p.get_x() + p.get_width()) for p in ax.patches]
    assert spans == [pytest.approx((2.1, 2.3))]
    assert "2.2 ± 0.1" in ax.get_title() and "2 (asymptotic)" in ax.get_title()
    assert [b.get_height() for b in right.patches] == toy.n
    plt.close(fig)
    toy.observed_limit = toy.observed_error = None
    fig = plot_toys.plot_toy_limit(toy, limits, STYLE)
    assert "limit none" in fig.axes[0].get_title()
    plt.close(fig)
