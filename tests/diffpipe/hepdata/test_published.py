"""The 1Lbb published signal grid, published: its contour figure with the ±1σ band, and its
limits and contours in a valid HEPData record, through the signal-grid, figure and record rules'
own functions (the workflow tests run the same rules under Snakemake on the small experiment)."""

import json

import matplotlib.pyplot as plt
import pytest
import yaml
from conftest import ROOT

from diffpipe.artifacts import SignalContours, SignalGrid
from diffpipe.hepdata.record import run_hepdata
from diffpipe.inference.run import run_signal_grid, run_signal_grid_block
from diffpipe.plots.inference import plot_signal_grid, run_plot_signal_grid
from diffpipe.runtime import Job
from diffpipe.teststat import BAND_COLUMNS

FOLDER = ROOT / "resources" / "published" / "ATLAS-SUSY-2019-08_1Lbb"
# five points around the exclusion line with pyhf's limits stored (tests/data/published_limits.json):
# the observed, expected and both ±1σ edges each cross 1 between them. The first, 275_75, is the
# one whose likelihood pyhf cannot evaluate across its bounds: the grid's check of its model
# against the patch's own (patches.verify_patch) draws near the suggested values.
PATCHES = [
    "C1N2_Wh_hbb_275_75",
    "C1N2_Wh_hbb_450_150",
    "C1N2_Wh_hbb_800_200",
    "C1N2_Wh_hbb_900_50",
    "C1N2_Wh_hbb_1000_0",
]
CHECKED = ["C1N2_Wh_hbb_800_200", "C1N2_Wh_hbb_900_50"]  # two points against pyhf, in the record
UNITS = {"m1": "GeV", "m2": "GeV"}
STYLE = {"dpi": 40, "colormap": "viridis", "width": 3.0, "height": 2.0}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The grid's limits.csv, contours.csv, figure and HEPData record, each written by its rule's function."""
    out = tmp_path_factory.mktemp("published")
    entry = {
        "workspace": str(FOLDER / "BkgOnly.json"),
        "patchset": str(FOLDER / "patchset.json"),
        "data": "observed",
        "patches": PATCHES,
    }
    settings = {"cl": 0.95, "poi_bound_max": 1000.0, "test_statistic": "qtilde"}
    block = out / "block0.csv"
    run_signal_grid_block(Job("signal_grid_block"), "atlas_1lbb", 0, entry, settings, str(block))
    limits, contours = out / "limits.csv", out / "contours.csv"
    run_signal_grid(Job("signal_grid"), "atlas_1lbb", entry, [str(block)], str(limits), str(contours))
    figure = out / "atlas_1lbb.png"
    run_plot_signal_grid(Job("plot_signal_grid"), str(limits), str(contours), STYLE, UNITS, str(figure))
    inputs = {"grids": [str(limits)], "contours": [str(contours)], "yields": [], "limits": [], "impacts": []}
    record = out / "hepdata"
    settings = {"abstract": "", "units": UNITS, "ranking_top": 5, "binning": {}}
    run_hepdata(Job("hepdata"), inputs | {"sensitivity": []}, settings, str(record), str(out / "hepdata.tar.gz"))
    return {"limits": limits, "contours": contours, "figure": figure, "record": record}


def test_the_contour_figure_draws_the_observed_and_expected_lines_and_the_1_sigma_band(published):
    grid, contours = SignalGrid.read(published["limits"]), SignalContours.read(published["contours"])
    assert not {"observed", "expected", "expected_p1", "expected_m1"} & set(contours.curves_without_contour)
    assert published["figure"].stat().st_size > 0
    fig = plot_signal_grid(grid, contours, STYLE, UNITS)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "observed exclusion (limit = 1)" in legend and "expected exclusion (limit = 1)" in legend
    assert "expected ±1σ" in legend
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("m1 [GeV]", "m2 [GeV]")
    plt.close(fig)


def test_the_record_holds_the_grid_s_limits_equal_to_pyhf_and_its_contours(published):
    import pyhf

    stored = json.loads((ROOT / "tests" / "data" / "published_limits.json").read_text())
    assert stored["pyhf"] == pyhf.__version__
    reference = stored["grids"]["atlas_1lbb"]["patches"]
    record = published["record"]
    described = {d["name"]: d for d in yaml.safe_load_all((record / "submission.yaml").read_text()) if "name" in d}
    for curve in ("Observed", "Expected"):
        assert f"{curve} exclusion contour atlas_1lbb" in described
    table = yaml.safe_load((record / described["Limits atlas_1lbb"]["data_file"]).read_text())
    m1, m2 = table["independent_variables"]
    assert m1["header"] == {"name": "m1", "units": "GeV"} and m2["header"] == {"name": "m2", "units": "GeV"}
    points = [(v1["value"], v2["value"]) for v1, v2 in zip(m1["values"], m2["values"])]
    observed, expected = table["dependent_variables"]
    grid = SignalGrid.read(published["limits"])
    for patch in CHECKED:
        row = grid.table.set_index("patch").loc[patch]
        i = points.index((row["m1"], row["m2"]))
        ref = reference[patch]
        assert observed["values"][i]["value"] == pytest.approx(ref["observed"], rel=1e-3), patch
        value = expected["values"][i]
        assert value["value"] == pytest.approx(ref["expected"][2], rel=1e-3), patch
        band = {e["label"]: e["asymerror"] for e in value["errors"]}["expected ±1σ"]
        edges = sorted([value["value"] + band["minus"], value["value"] + band["plus"]])
        assert edges == pytest.approx(sorted([ref["expected"][1], ref["expected"][3]]), rel=1e-3), patch
        assert [row[c] for c in BAND_COLUMNS] == pytest.approx(ref["expected"], rel=1e-3), patch
    line = yaml.safe_load((record / described["Observed exclusion contour atlas_1lbb"]["data_file"]).read_text())
    contours = SignalContours.read(published["contours"]).table
    drawn = contours[contours["curve"] == "observed"].sort_values(["segment", "point"])
    xs = [v["value"] for v in line["independent_variables"][0]["values"]]
    assert xs == pytest.approx(drawn["m1"].tolist(), rel=1e-4)  # the record keeps 5 significant digits
