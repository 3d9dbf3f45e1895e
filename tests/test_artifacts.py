import json

import numpy as np
import pandas as pd
import pytest

import artifacts


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        artifacts.write_with(target, broken)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_writers_round_trip(tmp_path):
    artifacts.write_json(tmp_path / "a.json", {"x": np.float64(1.5), "v": np.arange(3)})
    assert json.loads((tmp_path / "a.json").read_text()) == {"v": [0, 1, 2], "x": 1.5}
    artifacts.write_npy(tmp_path / "a.npy", np.arange(4, dtype=np.int32))
    assert np.load(tmp_path / "a.npy").dtype == np.int32
    artifacts.write_csv(tmp_path / "a.csv", pd.DataFrame({"x": [0.1]}))
    assert pd.read_csv(tmp_path / "a.csv")["x"].item() == 0.1  # 17 significant digits round-trip


def test_provenance_has_the_documented_fields():
    record = artifacts.provenance({"a": 1}, "cpu", 0.25)
    assert set(record) == {"config_hash", "code_version", "packages", "device", "device_warning", "host", "elapsed_s"}
    assert record["config_hash"] == artifacts.config_hash({"a": 1}) != artifacts.config_hash({"a": 2})
    assert record["packages"]["jax"] != "not installed"
