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
    art = artifacts.ControlFlowTable(table=table, threshold=2.0, steps=10, interval=[-2.0, 5.0], provenance=PROV)
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
