"""Every artifact kind round-trips through its container, with its provenance in the same file."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from diffpipe import artifacts
from diffpipe.provenance import Provenance

PROV = Provenance.record({"a": 1}, "cpu", 0.5)


def test_table_artifact_round_trips_float64_and_metadata(tmp_path):
    table = pd.DataFrame({"x": [0.1, 1 / 3, np.nan], "message": ["a # b", "c,d", ""], "ok": [True, False, True]})
    art = artifacts.ControlFlowTable(
        table=table, threshold=2.0, steps=10, interval=[-2.0, 5.0], max_rel_diff={"df_jax_vmap": 0.0}, provenance=PROV
    )
    art.write(tmp_path / "t.csv")
    back = artifacts.ControlFlowTable.read(tmp_path / "t.csv")
    assert back.threshold == 2.0 and back.steps == 10 and back.interval == [-2.0, 5.0]
    assert back.provenance == PROV
    assert back.table["x"].iloc[1] == 1 / 3 and np.isnan(back.table["x"].iloc[2])
    assert back.table["message"].iloc[0] == "a # b"
    first = (tmp_path / "t.csv").read_text().splitlines()[0]
    assert (
        first.startswith(artifacts.TABLE_PREFIX)
        and json.loads(first[len(artifacts.TABLE_PREFIX) :])["artifact"] == "controlflow"
    )


def test_array_artifact_round_trips_without_pickle(tmp_path):
    counts = np.arange(12, dtype=np.int32).reshape(3, 4)
    art = artifacts.FractalCounts(
        counts=counts,
        name="m",
        kind="mandelbrot",
        c=None,
        viewport=[-1, 1, -1, 1],
        width=4,
        height=3,
        iterations=10,
        threshold=4.0,
        backend="numba",
        provenance=PROV,
    )
    art.write(tmp_path / "c.npz")
    back = artifacts.read_any(tmp_path / "c.npz")
    assert isinstance(back, artifacts.FractalCounts) and back.kind == "mandelbrot" and back.c is None
    assert back.counts.dtype == np.int32 and (back.counts == counts).all() and back.provenance == PROV


def test_json_artifact_round_trips_and_is_strict(tmp_path):
    art = artifacts.OptimizerTraces(
        problem={"name": "p"}, runs=[{"f_gap": [1.0, float("inf")]}], summary=[], provenance=PROV
    )
    art.write(tmp_path / "t.json")
    text = (tmp_path / "t.json").read_text()
    assert "Infinity" not in text
    back = artifacts.OptimizerTraces.read(tmp_path / "t.json")
    assert back.runs[0]["f_gap"] == [1.0, None] and back.provenance == PROV
    assert json.loads(text)["non_finite"]["paths"] == ["runs[0].f_gap[1]"]


def test_reading_the_wrong_kind_is_a_clear_error(tmp_path):
    artifacts.OptimizerTraces(problem={}, runs=[], summary=[], provenance=PROV).write(tmp_path / "t.json")
    with pytest.raises(artifacts.ArtifactError, match="expected a 'fit' artifact, found 'optimizer_traces'"):
        artifacts.FitResult.read(tmp_path / "t.json")


def test_every_kind_is_documented_with_its_fields():
    page = (ROOT / "docs" / "artifacts.md").read_text()
    for kind, cls in artifacts.KINDS.items():
        assert f"`{kind}`" in page, kind
        for field in dataclasses.fields(cls):
            if field.name not in ("provenance", "table"):
                assert f"`{field.name}`" in page, f"{kind}.{field.name} undocumented"


def fit_result() -> artifacts.FitResult:
    two = [[1.0, 0.0], [0.0, 1.0]]
    return artifacts.FitResult(
        model="m",
        definition={"simple": {}},
        parameters=["mu", "b"],
        all_parameters=["mu", "b"],
        bestfit=[1.0, 0.5],
        bestfit_all=[1.0, 0.5],
        bounds=[[0.0, 10.0], [0.0, 2.0]],
        poi="mu",
        twice_nll=float("nan"),
        sigma_autodiff=[0.3, 0.1],
        covariance=two,
        correlation=two,
        covariance_hesse=two,
        crosscheck=[],
        profile=None,
        pulls=[],
        convergence={"converged": True},
        closed_form=None,
        data=[10.0],
        provenance=PROV,
    )


def write_every_format(folder):
    """One artifact of each storage format, as a results folder holds them."""
    fit_result().write(folder / "likelihood" / "m" / "fit.json")
    table = pd.DataFrame({"x": [0.5, 1.5]})
    artifacts.ControlFlowTable(
        table=table, threshold=2.0, steps=3, interval=[0.0, 1.0], max_rel_diff={}, provenance=PROV
    ).write(folder / "gradients" / "controlflow.csv")
    counts = np.ones((2, 2), np.int32)
    fractal = {"name": "m", "kind": "mandelbrot", "c": None, "viewport": [-1, 1, -1, 1], "width": 2, "height": 2}
    artifacts.FractalCounts(
        counts=counts, iterations=5, threshold=4.0, backend="numba", provenance=PROV, **fractal
    ).write(folder / "fractals" / "m" / "counts.npz")
    return [
        folder / "likelihood" / "m" / "fit.json",
        folder / "gradients" / "controlflow.csv",
        folder / "fractals" / "m" / "counts.npz",
    ]


def test_the_provenance_carries_a_digest_that_every_read_checks(tmp_path):
    fit = fit_result()
    fit.write(tmp_path / "fit.json")
    stored = json.loads((tmp_path / "fit.json").read_text())
    assert stored["provenance"][artifacts.DIGEST_KEY].startswith("sha256:")
    assert np.isnan(fit.twice_nll) and artifacts.FitResult.read(tmp_path / "fit.json").twice_nll is None  # listed
    stored["bestfit"][0] = 1.25  # a hand-edited best fit, still valid JSON of the right types
    (tmp_path / "fit.json").write_text(json.dumps(stored))
    with pytest.raises(artifacts.ArtifactError, match=r"fit.json: its content does not match its digest.*delete it"):
        artifacts.FitResult.read(tmp_path / "fit.json")


@pytest.mark.parametrize("damage", ["truncate", "edit_payload"])
def test_a_damaged_file_of_each_format_is_refused_naming_it(tmp_path, damage):
    for path in write_every_format(tmp_path):
        data = path.read_bytes()
        if damage == "truncate":
            path.write_bytes(data[: len(data) // 2])
        elif path.suffix == ".npz":  # an array rewritten under the same metadata
            with np.load(path) as archive:
                meta = archive["__meta__"]
            np.savez(path.with_suffix(""), __meta__=meta, counts=np.zeros((2, 2), np.int32))
        else:
            path.write_bytes(data.replace(b"0.5", b"0.6", 1))
        with pytest.raises(artifacts.ArtifactError) as err:
            artifacts.read_any(path)
        assert str(path) in str(err.value) and "run snakemake again" in str(err.value), str(err.value)


def test_a_field_of_the_wrong_type_is_refused_by_the_contract(tmp_path):
    fit = fit_result()
    fit.bestfit = ["1.0", 0.5]  # a string where a number belongs
    fit.write(tmp_path / "fit.json")
    with pytest.raises(artifacts.ArtifactError, match=r"fit contract.*bestfit\[0\]: expected float, found str"):
        artifacts.FitResult.read(tmp_path / "fit.json")
    fit = fit_result()
    fit.twice_nll = None  # null where a number belongs, not listed as non-finite
    fit.write(tmp_path / "fit.json")
    with pytest.raises(artifacts.ArtifactError, match=r"twice_nll: expected float, found NoneType"):
        artifacts.FitResult.read(tmp_path / "fit.json")


def test_check_results_reads_each_changed_artifact_once_and_refuses_a_damaged_one(tmp_path):
    results, record = tmp_path / "results", tmp_path / "checked.json"
    paths = write_every_format(results)
    (results / "logs").mkdir()
    (results / "logs" / "x.json").write_text("not an artifact")  # logs are not artifacts
    assert artifacts.check_results(results, record) == sorted(paths)
    assert artifacts.check_results(results, record) == []  # unchanged since they passed
    paths[0].write_text(paths[0].read_text()[:100])
    with pytest.raises(artifacts.ArtifactError, match=r"fit.json: cannot be parsed"):
        artifacts.check_results(results, record)
