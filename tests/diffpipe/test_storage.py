import json

import numpy as np
import pytest

from diffpipe import storage


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        storage.write_with(target, broken)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_partial_name_is_hidden_and_beside_the_target(tmp_path):
    partial = storage.partial_path(tmp_path / "counts.npz")
    assert partial.parent == tmp_path and partial.name.startswith(".") and storage.PARTIAL_MARK in partial.name


def test_sweep_removes_orphans_of_dead_writers_and_keeps_live_ones(tmp_path):
    import os
    import socket
    import subprocess
    import time

    dead = subprocess.Popen(["true"])
    dead.wait()  # a finished process: its pid names no live writer
    host = socket.gethostname()
    (tmp_path / "a").mkdir()
    orphan = tmp_path / "a" / f".counts.npz.partial-{host}-{dead.pid}.npz"
    live = storage.partial_path(tmp_path / "a" / "table.csv")  # this process, alive
    remote_new = tmp_path / ".x.json.partial-otherhost-1.json"
    remote_old = tmp_path / ".y.json.partial-otherhost-2.json"
    legacy = tmp_path / ".z.png.partial.png"  # no writer named
    for path in (orphan, live, remote_new, remote_old, legacy):
        path.write_text("half")
    old = time.time() - storage.ORPHAN_AGE_S - 60
    os.utime(remote_old, (old, old))
    removed = storage.sweep_partials(tmp_path)
    assert set(removed) == {orphan, remote_old, legacy}
    assert live.exists() and remote_new.exists()
    assert storage.partial_files(tmp_path / "a" / "table.csv") == [live]
    assert set(storage.sweep_partials(tmp_path, everything=True)) == {live, remote_new}


def test_json_is_strict_non_finite_values_become_null_with_a_reason(tmp_path):
    storage.write_json(
        tmp_path / "a.json", {"x": np.float64(1.5), "v": np.arange(3), "bad": [1.0, float("nan")], "inf": np.inf}
    )
    text = (tmp_path / "a.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert data["v"] == [0, 1, 2] and data["x"] == 1.5 and data["bad"] == [1.0, None] and data["inf"] is None
    assert data["non_finite"]["paths"] == ["bad[1]", "inf"] and "not a finite number" in data["non_finite"]["reason"]


def test_strict_reader_refuses_nan():
    with pytest.raises(ValueError, match="not strict JSON"):
        storage.from_json('{"x": NaN}')
    with pytest.raises(ValueError):
        storage.to_json({"x": float("inf")})


def test_plain_refuses_unknown_types():
    with pytest.raises(TypeError, match="a.b"):
        storage.plain({"a": {"b": object()}})
