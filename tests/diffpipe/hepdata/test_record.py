"""The HEPData record: hepdata-validator accepts it, and its tables hold the artifacts' numbers."""

import numpy as np
import pandas as pd
import pytest
import yaml

from diffpipe import artifacts
from diffpipe.hepdata.record import build_record, validate
from diffpipe.inference.contours import CURVES, grid_contours

COMMON = {"model": "m", "definition": {}, "origin": {}}


def signal_grid():
    x, y = np.meshgrid([400.0, 600.0, 800.0, 1000.0], [0.0, 100.0, 200.0])
    x, y = x.ravel(), y.ravel()
    observed = 10 ** ((x - 700.0) / 300.0 + y / 400.0)
    table = pd.DataFrame({"patch": [f"p{i}" for i in range(len(x))], "m1": x, "m2": y})
    for curve, factor in zip(CURVES, (1.0, 1.1, 0.8, 1.4, 0.6, 1.9)):
        table[curve] = observed * factor
    table.loc[3, "observed"] = np.nan  # a failed point
    table["failure"] = ["" if i != 3 else "no fit" for i in range(len(x))]
    table["excluded"] = table["observed"].fillna(np.inf) < 1
    grid = artifacts.SignalGrid(
        table=table, grid="g", definition={}, labels=["m1", "m2"], cl=0.95, poi="mu", shared_compilation={},
        n_excluded=int(table["excluded"].sum()),
    )  # fmt: skip
    contours = artifacts.SignalContours(
        table=grid_contours(table, ["m1", "m2"]),
        grid="g",
        labels=["m1", "m2"],
        interpolation="linear",
        curves_without_contour=[],
    )
    return grid, contours


def model_artifacts():
    rows = [
        {"stage": stage, "channel": "SR", "scope": "bin", "bin": b, "sample": "total", "yield": 10.0 + b + s,
         "stdev": 1.5, "data": 12.0 + b}
        for s, stage in enumerate(("prefit", "postfit")) for b in range(2)
    ]  # fmt: skip
    yields = artifacts.Yields(**COMMON, table=pd.DataFrame(rows), channels=["SR"], samples=["bkg"], bins={"SR": 2})
    mu = np.linspace(0, 3, 4)
    limits = artifacts.Limits(
        **COMMON, poi="mu", cl=0.95, observed=1.2, expected=[0.5, 0.7, 1.0, 1.4, 1.9], band_sigma=[2, 1, 0, -1, -2],
        failures={}, curves={"mu": mu.tolist(), "observed": np.exp(-mu).tolist(),
                             "expected": [np.exp(-k * mu).tolist() for k in (1, 2, 3, 4, 5)]},
        poi_bounds=[0, 10], declared_poi_upper=10, n_fits=1, free_fit_restarts=0,
    )  # fmt: skip
    impacts = artifacts.Impacts(
        **COMMON, poi="mu", poi_bestfit=0.3, poi_uncertainty=0.2,
        table=pd.DataFrame([{"parameter": f"s{k}", "bestfit": 0.1 * k, "uncertainty": 0.9, "postfit_up": 0.05,
                             "postfit_down": -0.04, "prefit_up": 0.06, "prefit_down": -0.05} for k in range(3)]),
    )  # fmt: skip
    return yields, limits, impacts


def documents(path):
    return {doc["name"]: doc for doc in yaml.safe_load_all((path / "submission.yaml").read_text()) if "name" in doc}


def test_the_record_is_valid_and_holds_the_limits_contours_yields_scan_and_ranking(tmp_path):
    grid, contours = signal_grid()
    yields, limits, impacts = model_artifacts()
    inputs = {"grids": [(grid, contours)], "yields": [yields], "limits": [limits], "impacts": [impacts]}
    out = tmp_path / "hepdata"
    names = build_record(inputs, {"abstract": "A test.", "units": {"m1": "GeV"}, "ranking_top": 2}, str(out))
    validate(out)  # hepdata-validator, again
    described = documents(out)
    assert set(names) == set(described) and "Observed exclusion contour g" in names
    table = yaml.safe_load((out / described["Limits g"]["data_file"]).read_text())
    m1, m2 = table["independent_variables"]
    assert (
        m1["header"] == {"name": "m1", "units": "GeV"}
        and [v["value"] for v in m2["values"]] == grid.table["m2"].tolist()
    )
    observed, expected = table["dependent_variables"]
    assert observed["values"][3]["value"] == "-"  # the failed point: no number
    first = expected["values"][0]
    low, high = grid.table.loc[0, "expected_p1"], grid.table.loc[0, "expected_m1"]
    errors = {e["label"]: e["asymerror"] for e in first["errors"]}
    centre = grid.table.loc[0, "expected"]
    assert first["value"] == pytest.approx(centre, rel=1e-4)
    assert errors["expected ±1σ"]["minus"] == pytest.approx(low - centre, rel=1e-3)
    assert errors["expected ±1σ"]["plus"] == pytest.approx(high - centre, rel=1e-3)
    line = yaml.safe_load((out / described["Observed exclusion contour g"]["data_file"]).read_text())
    points = contours.table[contours.table["curve"] == "observed"].sort_values(["segment", "point"])
    xs = [v["value"] for v in line["independent_variables"][0]["values"]]
    assert xs == pytest.approx(points["m1"].tolist(), rel=1e-4)
    ranking = yaml.safe_load((out / described["Ranking m"]["data_file"]).read_text())
    assert [v["value"] for v in ranking["independent_variables"][0]["values"]] == ["s0", "s1"]  # the top 2
    scan = yaml.safe_load((out / described["CLs scan m"]["data_file"]).read_text())
    assert len(scan["dependent_variables"]) == 6
    submission = next(yaml.safe_load_all((out / "submission.yaml").read_text()))
    assert submission["comment"] == "A test."


def test_an_invalid_record_is_an_error_naming_the_file(tmp_path):
    grid, contours = signal_grid()
    out = tmp_path / "hepdata"
    build_record({"grids": [(grid, contours)], "yields": [], "limits": [], "impacts": []},
                 {"abstract": "", "units": {}, "ranking_top": 5}, str(out))  # fmt: skip
    data_file = next(p for p in out.glob("*.yaml") if p.name != "submission.yaml")
    broken = yaml.safe_load(data_file.read_text())
    broken["independent_variables"][0]["values"] = broken["independent_variables"][0]["values"][:-1]  # one short
    data_file.write_text(yaml.safe_dump(broken))
    with pytest.raises(ValueError, match=f"not valid: {data_file.name}"):
        validate(out)


def test_the_upload_archive_holds_the_record_alone_and_the_same_record_gives_the_same_bytes(tmp_path):
    import tarfile

    grid, contours = signal_grid()
    inputs = {"grids": [(grid, contours)], "yields": [], "limits": [], "impacts": []}
    settings = {"abstract": "", "units": {}, "ranking_top": 5}
    digests = []
    for k in range(2):
        out, archive = tmp_path / f"hepdata{k}", tmp_path / f"hepdata{k}.tar.gz"
        build_record(inputs, settings, str(out), str(archive))
        (out / ".snakemake_timestamp").touch()  # what Snakemake adds to a directory output: not packed
        with tarfile.open(archive) as packed:
            members = packed.getmembers()
            assert sorted(m.name for m in members) == sorted(p.name for p in out.iterdir() if p.name[0] != ".")
            assert all(packed.extractfile(m).read() == (out / m.name).read_bytes() for m in members)
        digests.append(archive.read_bytes())
        assert not list(tmp_path.glob("*.partial"))
    assert digests[0] == digests[1]


def budget_artifact():
    def row(**values):
        return {"dln_expected_limit": None, "dln_observed_limit": None, "d_expected_z": None} | values

    return artifacts.Sensitivity(
        **COMMON, poi="mu", cl=0.95, limits={"observed": 1.2, "expected_median": 1.0}, expected_z=2.0,
        modifiers=[row(modifier="small", kinds="normsys", dln_expected_limit=0.01, dln_observed_limit=0.02,
                       d_expected_z=-0.01),
                   row(modifier="large", kinds="histosys", dln_expected_limit=-0.3, dln_observed_limit=-0.2,
                       d_expected_z=0.4),
                   row(modifier="failed", kinds="normsys")],
        samples=[row(sample="bkg", dln_expected_limit=0.1, dln_observed_limit=0.12, d_expected_z=-0.1)],
        signal_sample="sig", signal_bins=[], halving=[], failures={"failed": "no gradient"}, timing={},
    )  # fmt: skip


def test_the_budget_ranks_the_systematics_and_the_binning_names_the_yields_bins(tmp_path):
    yields, _, _ = model_artifacts()
    inputs = {"grids": [], "yields": [yields], "limits": [], "impacts": [], "sensitivity": [budget_artifact()]}
    binning = {"m": {"SR": {"observable": "m_T [GeV]", "edges": [100.0, 150.0, 300.0]}}}
    out = tmp_path / "hepdata"
    build_record(inputs, {"abstract": "", "units": {}, "ranking_top": 5, "binning": binning}, str(out))
    described = documents(out)
    budget = yaml.safe_load((out / described["Systematics budget m"]["data_file"]).read_text())
    names = [v["value"] for v in budget["independent_variables"][0]["values"]]
    assert names == ["large", "normalisation of bkg", "small", "failed"]  # by |d ln(expected limit)|
    expected_limit, observed_limit, z = budget["dependent_variables"]
    assert [v["value"] for v in expected_limit["values"]] == [-0.3, 0.1, 0.01, "-"]
    assert [v["value"] for v in z["values"]][:3] == [0.4, -0.1, -0.01]
    table = yaml.safe_load((out / described["Yields m"]["data_file"]).read_text())
    bins = [v["value"] for v in table["independent_variables"][0]["values"]]
    assert bins == ["SR: m_T [GeV] 100-150", "SR: m_T [GeV] 150-300"]


def test_the_config_s_keywords_reach_every_table_and_its_descriptions_replace_diffpipe_s(tmp_path):
    grid, contours = signal_grid()
    yields, _, _ = model_artifacts()
    inputs = {"grids": [(grid, contours)], "yields": [yields], "limits": [], "impacts": []}
    settings = {"abstract": "", "units": {}, "ranking_top": 5,
                "keywords": {"cmenergies": [13000.0], "reactions": ["P P --> CHARGINO NEUTRALINO X"]},
                "descriptions": {"Yields m": "Event yields in the signal region."}}  # fmt: skip
    out = tmp_path / "hepdata"
    build_record(inputs, settings, str(out))
    described = documents(out)
    assert described["Yields m"]["description"] == "Event yields in the signal region."
    assert described["Limits g"]["description"].startswith("95% CL CLs upper limits")
    for doc in described.values():
        keywords = {k["name"]: k["values"] for k in doc["keywords"]}
        assert keywords["cmenergies"] == [13000.0] and keywords["reactions"] == ["P P --> CHARGINO NEUTRALINO X"]
    assert {k["name"]: k["values"] for k in described["Limits g"]["keywords"]}["observables"] == ["CLs upper limit"]
    with pytest.raises(ValueError, match="no table named 'Yields other'"):
        build_record(inputs, {**settings, "descriptions": {"Yields other": "x"}}, str(tmp_path / "again"))
