"""Exclusion contours of a signal grid against analytic lines and matplotlib's own tricontour."""

import numpy as np
import pandas as pd
import pytest

from diffpipe.inference.contours import CURVES, crossings, grid_contours, scaled, triangulation

FACTORS = dict(zip(CURVES, (1.0, 1.1, 0.8, 1.3, 0.6, 1.7)))


def grid_table(x, y, log_limit):
    table = pd.DataFrame({"patch": [f"p{i}" for i in range(len(x))], "m1": x, "m2": y})
    for curve, factor in FACTORS.items():
        table[curve] = factor * 10.0**log_limit
    return table


def susy_grid():
    """A regular grid (co-circular points: the triangulation must still be the one a reader rebuilds)."""
    x, y = np.meshgrid(np.linspace(400.0, 1000.0, 7), np.linspace(0.0, 300.0, 5))
    return x.ravel(), y.ravel()


def test_a_log_linear_limit_gives_the_straight_line_where_it_is_one():
    x, y = susy_grid()
    a, b, c = 1 / 300.0, 1 / 400.0, -2.6  # log10(limit) = a x + b y + c: linear on every triangle
    lines = grid_contours(grid_table(x, y, a * x + b * y + c), ["m1", "m2"])
    for curve, factor in FACTORS.items():
        points = lines[lines["curve"] == curve]
        assert len(points) >= 2
        # log10(factor * 10^(a x + b y + c)) = 0 exactly on the line a x + b y + c + log10(factor) = 0
        residual = a * points["m1"] + b * points["m2"] + c + np.log10(factor)
        assert np.abs(residual).max() < 1e-12
        ordered = points.sort_values("point")
        assert (np.diff(ordered["m1"]) * np.sign(np.diff(ordered["m1"]).mean()) > 0).all()  # along the line


def test_the_contours_equal_matplotlibs_tricontour_on_the_same_triangulation():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y = susy_grid()
    log_limit = np.sin(x / 150.0) * 0.6 + (y - 150.0) / 250.0  # curved, several segments
    table = grid_table(x, y, log_limit)
    lines = grid_contours(table, ["m1", "m2"])
    fig, ax = plt.subplots()
    try:
        for curve, factor in FACTORS.items():
            reference = ax.tricontour(triangulation(x, y), np.log10(factor) + log_limit, levels=[0.0])
            paths = [piece for p in reference.get_paths() for piece in pieces(p)]
            ours = [
                part.sort_values("point")[["m1", "m2"]].to_numpy()
                for _, part in lines[lines["curve"] == curve].groupby("segment")
            ]
            expected = [np.column_stack([x.min() + v[:, 0] * np.ptp(x), y.min() + v[:, 1] * np.ptp(y)]) for v in paths]
            assert sorted(map(len, ours)) == sorted(map(len, expected))
            for segment in ours:
                assert any(len(e) == len(segment) and np.abs(e - segment).max() < 1e-6 for e in expected)
    finally:
        plt.close(fig)


def pieces(path):
    """A contour path's segments (matplotlib joins a level's segments in one path, each from a MOVETO)."""
    if path.codes is None:
        return [path.vertices] if len(path.vertices) else []
    starts = np.flatnonzero(path.codes == path.MOVETO)
    return [path.vertices[a:b] for a, b in zip(starts, [*starts[1:], len(path.vertices)])]


def test_every_contour_point_is_the_log_linear_crossing_of_a_triangle_edge():
    x, y = susy_grid()
    log_limit = np.cos(x / 200.0) + (y - 100.0) / 300.0
    lines = grid_contours(grid_table(x, y, log_limit), ["m1", "m2"])
    tri = triangulation(x, y)
    edges = tri.edges
    z = log_limit  # the observed curve (factor 1)
    crossing = []
    for i, j in edges:
        if z[i] * z[j] < 0:
            t = z[i] / (z[i] - z[j])
            crossing.append((x[i] + t * (x[j] - x[i]), y[i] + t * (y[j] - y[i])))
    crossing = np.asarray(crossing)
    observed = lines[lines["curve"] == "observed"][["m1", "m2"]].to_numpy()
    for point in observed:
        assert np.abs(crossing - point).max(axis=1).min() < 1e-9
    for point in crossing:  # and every crossing edge is on a contour
        assert np.abs(observed - point).max(axis=1).min() < 1e-9


def test_one_label_gives_the_crossings_and_failed_points_are_left_out():
    x = np.array([100.0, 200.0, 300.0, 400.0])
    limit = 10.0 ** (np.array([-1.0, -0.5, 0.5, 1.0]))
    assert crossings(x, limit) == pytest.approx([250.0])  # log10 crosses 0 halfway
    table = pd.DataFrame({"m": x, **{curve: limit * FACTORS[curve] for curve in CURVES}})
    table.loc[2, "expected"] = np.nan  # a failed patch
    lines = grid_contours(table, ["m"])
    assert list(lines.columns) == ["curve", "segment", "point", "m"]
    assert lines.loc[lines["curve"] == "observed", "m"].tolist() == pytest.approx([250.0])
    # without the failed point, the expected curve crosses between 200 and 400
    z0, z1 = np.log10(limit[1] * 1.1), np.log10(limit[3] * 1.1)
    assert lines.loc[lines["curve"] == "expected", "m"].tolist() == pytest.approx([200.0 + 200.0 * z0 / (z0 - z1)])
    assert grid_contours(table, []).empty
    assert scaled(np.array([3.0, 3.0])).tolist() == [0.0, 0.0]
