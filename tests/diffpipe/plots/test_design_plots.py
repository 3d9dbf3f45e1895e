"""The analysis design figure draws what its artifact holds (a small synthetic artifact)."""

import numpy as np
from design_artifact import design

from diffpipe.plots import design as plot_design

STYLE = {"dpi": 40, "colormap": "viridis", "width": 3.0, "height": 2.0}


def test_design_figure_draws_the_loss_and_the_stacked_yields_before_and_after():
    fig = plot_design.plot_design(design(True), STYLE)
    loss, before, after = fig.axes[:3]
    np.testing.assert_allclose(loss.lines[0].get_ydata(), [1.5, 0.8, 0.4])
    # three stacked samples per panel; the top of the stack is the total per bin
    tops = [np.asarray(p.get_path().vertices[:, 1]).max() for p in after.patches]
    assert len(before.patches) == 3 and max(tops) == 1.0 + 20.0 + 3.0
    assert "pyhf expected limit 0.4" in after.get_title() and "x₂ > 0.6" in after.get_title()


def test_design_figure_says_why_there_is_no_trained_design():
    fig = plot_design.plot_design(design(False), STYLE)
    texts = [t.get_text() for t in fig.axes[2].texts]
    assert texts and "did not converge" in texts[0]
