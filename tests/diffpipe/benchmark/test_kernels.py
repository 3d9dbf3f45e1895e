import time

import numpy as np

from diffpipe.benchmark import kernels as benchmark

TARGETS = {"numba@500": 0.010, "min_speedup_vs_eager": 10.0}


def test_time_calls_separates_the_first_call():
    calls = []

    def slow_first():
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.05)  # a compile step: only the first call pays it

    first, best = benchmark.time_calls(slow_first, repeats=3)
    assert len(calls) == 1 + 1 + 3  # first (compile), one warm-up, three timed
    assert first >= 0.05 > best


def test_fractal_table_takes_its_targets_from_config():
    table = benchmark.fractal_timings(
        ["numba", "tensorflow_eager"], [500, 20], iterations=5, repeats=1, targets=TARGETS
    )
    assert list(table["backend"]) == ["numba", "numba", "tensorflow_eager"]  # eager: first size only
    numba_500 = table.iloc[0]
    assert numba_500["target_s"] == 0.010 and np.isnan(table.iloc[1]["target_s"])
    assert table.iloc[2]["speedup_vs_eager"] == 1.0
    untargeted = benchmark.fractal_timings(["numba"], [20], iterations=5, repeats=1)
    assert np.isnan(untargeted.iloc[0]["target_s"]) and bool(untargeted.iloc[0]["meets_target"])


def test_grid_table_reports_time_per_point():
    model = {"simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]}, "data": "asimov"}
    table = benchmark.grid_timings(model, [11, 101], repeats=2, targets={"101": 0.001})
    assert list(table["points"]) == [121, 10201]
    np.testing.assert_allclose(table["per_point_s"], table["steady_s"] / table["points"])
    assert table.iloc[1]["target_s"] == 0.001 and np.isnan(table.iloc[0]["target_s"])
