"""The pre- and post-fit yields figures draw what yields.csv holds, over the config's binning."""

import numpy as np
import pandas as pd
import pytest

from diffpipe import artifacts
from diffpipe.plots import yields as plot_yields

STYLE = {"dpi": 40, "width": 3.0, "height": 2.0}
LABEL = {"experiment": "diffpipe", "luminosity_ifb": 139.0, "energy_tev": 13.0}
BINNING = {"SR": {"observable": "m_T [GeV]", "edges": [100.0, 150.0, 300.0]}}


def yields_artifact(samples: dict, data=(12.0, 6.0), shift: float = 1.0) -> artifacts.Yields:
    """Yields of one two-bin channel SR: post-fit = pre-fit times `shift`."""
    rows = []
    for stage, factor in (("prefit", 1.0), ("postfit", shift)):
        total = np.sum(list(samples.values()), axis=0) * factor
        for sample, values in [*samples.items(), ("total", total)]:
            for b, value in enumerate(np.asarray(values) * (1.0 if sample == "total" else factor)):
                rows.append(
                    {"stage": stage, "scope": "bin", "channel": "SR", "sample": sample, "bin": b, "yield": value}
                    | {"stdev": 1.0, "data": data[b] if sample == "total" else np.nan}
                )
    return artifacts.Yields(
        model="m",
        definition={},
        origin={},
        table=pd.DataFrame(rows),
        channels=["SR"],
        samples=list(samples),
        bins={"SR": 2},
    )


def stacked_tops(ax, n: int) -> list[float]:
    """The highest point of each of the first n filled stack layers."""
    return [float(patch.get_path().vertices[:, 1].max()) for patch in ax.patches[:n]]


@pytest.mark.parametrize("stage, shift", [("prefit", 1.0), ("postfit", 1.5)])
def test_each_stage_stacks_its_own_samples_to_its_total(stage, shift):
    yields = yields_artifact({"sig": [1.0, 2.0], "bkg": [10.0, 5.0]}, shift=1.5)
    fig = plot_yields.plot_yields(yields, stage, STYLE, {}, LABEL)
    top = fig.axes[0]
    assert top.get_title() == "SR"
    # the legend lists the stack as it is drawn, top layer first
    assert [t.get_text() for t in top.get_legend().get_texts()][:2] == ["bkg", "sig"]
    assert max(stacked_tops(top, 2)) == pytest.approx(11.0 * shift)  # the two samples stack to bin 0's total
    assert top.get_yscale() == "linear"


def test_the_binning_sets_the_edges_and_the_observable_and_the_bin_index_stands_in_without_it():
    yields = yields_artifact({"sig": [1.0, 2.0], "bkg": [10.0, 5.0]})
    fig = plot_yields.plot_yields(yields, "postfit", STYLE, BINNING, LABEL)
    top, ratio = fig.axes[0], fig.axes[1]
    assert ratio.get_xlabel() == "m_T [GeV]" and ratio.get_xlim() == (100.0, 300.0)
    xs = np.concatenate([patch.get_path().vertices[:, 0] for patch in top.patches[:2]])
    assert set(np.round(xs, 9)) <= {100.0, 150.0, 300.0}
    plain = plot_yields.plot_yields(yields, "postfit", STYLE, {}, LABEL)
    assert plain.axes[1].get_xlabel() == "bin" and plain.axes[1].get_xlim() == (0.0, 2.0)


def test_a_stack_over_many_decades_is_drawn_on_a_log_axis():
    assert not plot_yields.wants_log(np.array([[1.0, 2.0], [10.0, 5.0]]))
    assert plot_yields.wants_log(np.array([[0.05, 0.02], [900.0, 40.0]]))
    yields = yields_artifact({"sig": [0.05, 0.02], "bkg": [900.0, 40.0]}, data=(880.0, 45.0))
    assert plot_yields.plot_yields(yields, "prefit", STYLE, {}, LABEL).axes[0].get_yscale() == "log"


def test_the_label_is_neutral_with_the_configured_luminosity_and_energy():
    yields = yields_artifact({"sig": [1.0, 2.0], "bkg": [10.0, 5.0]})
    texts = " ".join(t.get_text() for t in plot_yields.plot_yields(yields, "prefit", STYLE, {}, LABEL).axes[0].texts)
    assert "diffpipe" in texts and "139" in texts and "13 TeV" in texts
    bare = {"experiment": "diffpipe", "luminosity_ifb": None, "energy_tev": None}
    texts = " ".join(t.get_text() for t in plot_yields.plot_yields(yields, "prefit", STYLE, {}, bare).axes[0].texts)
    assert "diffpipe" in texts and "fb" not in texts and "TeV" not in texts


def test_a_sample_keeps_its_colour_in_both_figures():
    yields = yields_artifact({"sig": [1.0, 2.0], "bkg": [10.0, 5.0]}, shift=1.2)
    colours = [
        [
            tuple(p.get_facecolor())[:3]
            for p in plot_yields.plot_yields(yields, stage, STYLE, {}, LABEL).axes[0].patches[:2]
        ]
        for stage in ("prefit", "postfit")
    ]
    assert colours[0] == colours[1] and colours[0][0] != colours[0][1]
