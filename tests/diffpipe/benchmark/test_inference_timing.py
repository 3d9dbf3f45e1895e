"""The inference benchmark's runner: fresh processes, results as JSON, a capped peer as a lower bound, a failed one as a failure."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from diffpipe.benchmark import inference
from diffpipe.benchmark.inference import PeerRun, TaskFailed, gradient_rows, inference_timings, run_peer, run_task

COUNTING = {
    "simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]},
    "data": "asimov",
}


def test_each_tool_runs_in_a_fresh_process_and_reports_its_stages(monkeypatch):
    monkeypatch.chdir(ROOT)
    ours, wall = run_task("ours_model", COUNTING, 600)
    assert ours["parameters"] == 1 and ours["total_s"] <= wall
    assert ours["total_s"] == pytest.approx(ours["setup_s"] + ours["ranking_s"] + ours["limits_s"], rel=1e-6)
    assert ours["observed"] == pytest.approx(2.8787, rel=1e-3)  # see tests/diffpipe/inference


def test_a_peer_past_its_cap_is_a_lower_bound(monkeypatch):
    monkeypatch.chdir(ROOT)
    table = inference_timings({"counting": COUNTING}, None, None, timeout_s=0.05)
    row = table.iloc[0]
    assert bool(row["peer_capped"]) and row["peer_s"] >= 0.05
    assert row["speedup"] == pytest.approx(row["peer_s"] / row["ours_s"])


def test_a_failing_process_names_its_error_and_a_failing_peer_is_recorded(monkeypatch):
    monkeypatch.chdir(ROOT)
    # the task runner's own process, exiting with an error (no such task)
    with pytest.raises(TaskFailed, match=r"no_such_task exited with 1: KeyError: 'no_such_task'"):
        run_task("no_such_task", {}, 120)
    peer = run_peer("no_such_task", {}, 120)
    assert peer.result is None and not peer.capped and "KeyError" in peer.failure
    assert np.isnan(peer.seconds(lambda r: r["total_s"]))
    # a row against a failed peer: its reason, no time, no speed-up
    failed = PeerRun(None, 3.0, "cabinetry_model exited with 1: FailedMinimization")
    monkeypatch.setattr(inference, "run_peer", lambda *args: failed)
    row = inference_timings({"counting": COUNTING}, None, None, timeout_s=60).iloc[0]
    assert row["peer_failure"] == failed.failure and not row["peer_capped"]
    assert np.isnan(row["peer_s"]) and np.isnan(row["speedup"]) and row["ours_s"] > 0


def test_toy_benchmark_writes_its_table(monkeypatch, tmp_path):
    from diffpipe.artifacts import BenchmarkTable
    from diffpipe.benchmark.inference import run_benchmark_toys
    from diffpipe.runtime import Job

    monkeypatch.chdir(ROOT)
    targets = {"counting": {"min_speedup": 1e-6, "max_cold_s": 1e-6}}  # the cold shard cannot meet this
    # the model's own toy counts override the section's (999 toys, 999 per hypothesis for pyhf)
    models = {"counting": {**COUNTING, "n": 200, "n_pyhf": 5}}
    run_benchmark_toys(Job("benchmark_toys"), models, 999, 999, 300, targets, str(tmp_path / "toys.csv"))
    table = BenchmarkTable.read(tmp_path / "toys.csv")
    row = table.table.iloc[0]
    assert table.what == "toys" and table.cpu["cores"] >= 1
    assert row["toys"] == 200 and row["ours_toys_per_s"] > 0 and row["peer_toys_per_s"] > 0
    assert row["speedup"] == pytest.approx(row["ours_toys_per_s"] / row["peer_toys_per_s"])
    assert row["ours_toys_per_s"] == pytest.approx(200 / row["steady_s"])
    assert row["speedup_cold"] == pytest.approx(200 / row["cold_s"] / row["peer_toys_per_s"])
    assert row["cold_s"] > row["warm_s"] and row["peak_rss_mb"] > 50 and row["outside"] == 0
    assert 1 <= row["steps_per_fit"] < 50
    assert row["target_speedup"] == 1e-6 and not row["meets_target"]
    assert pd.isna(row["peer_failure"])  # none: the empty field reads back as missing


def test_a_toy_speedup_against_a_failed_peer_meets_no_target(monkeypatch):
    from diffpipe.benchmark.inference import toy_timings

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(inference, "run_peer", lambda *args: PeerRun(None, 1.0, "pyhf_toys exited with 1: boom"))
    targets = {"counting": {"min_speedup": 1e-6}}
    row = toy_timings({"counting": {**COUNTING, "n": 100}}, 100, 5, 60, targets).iloc[0]
    assert np.isnan(row["speedup"]) and row["peer_failure"].endswith("boom") and not row["meets_target"]


def test_the_gradient_rows_time_it_against_the_limits_and_finite_differences(monkeypatch):
    monkeypatch.chdir(ROOT)
    spec = {
        "workspace": "resources/pyhf/example_bkgonly.json",
        "patchset": "resources/pyhf/example_patchset.json",
        "patch": "patch_channel1_signal_syst1",
        "measurement": "GaussExample",
        "data": "observed",
    }
    against_limit, against_fd = gradient_rows("example", spec)
    detail = json.loads(against_limit["detail"])
    assert detail["scales"] == 5 and detail["fd_s"] == pytest.approx(5 * detail["fd_one_scale_s"])
    assert detail["gradient_top"] == pytest.approx(detail["fd_top"], rel=1e-4)  # the same number, two ways
    assert detail["gradient_cold_s"] > detail["gradient_s"]  # compiling is paid once
    assert against_limit["speedup"] == pytest.approx(detail["limit_s"] / detail["gradient_s"])
    assert against_fd["speedup"] == pytest.approx(detail["fd_s"] / detail["gradient_cold_s"])
