"""Exclusion contours of a signal grid: where each limit curve crosses 1 in the patchset's labels.

With two labels the limits are interpolated linearly in log10(limit) on a Delaunay triangulation
of the signal points (each label scaled to [0, 1] first, so that the triangles do not depend on
the labels' units), and the contour at log10(limit) = 0 is traced with matplotlib's contour
generator (as `tricontour` draws it) into ordered point lists, one per segment. With one label
the crossings are points, interpolated in log10(limit) between neighbouring signal points.
Points whose limit is missing (a failed patch) are left out of that curve.
"""

import numpy as np
import pandas as pd

# The curves of a signal grid's table, in the order a figure draws them; the band edges named
# as the expected limit's: +2σ of the test statistic is the lowest limit.
CURVES = ("observed", "expected", "expected_p1", "expected_m1", "expected_p2", "expected_m2")
COLUMNS = ("curve", "segment", "point")


def scaled(values: np.ndarray) -> np.ndarray:
    """A label's values scaled to [0, 1] (a constant label to 0).

    Args:
        values: the label's values over the signal points.

    Returns:
        The scaled values.
    """
    low, high = float(np.min(values)), float(np.max(values))
    return (values - low) / (high - low) if high > low else np.zeros_like(values, dtype=float)


def triangulation(x: np.ndarray, y: np.ndarray):
    """The Delaunay triangulation the contours interpolate on (labels scaled to [0, 1]).

    Args:
        x: the first label's values.
        y: the second label's values.

    Returns:
        A matplotlib `Triangulation` of the scaled points.
    """
    from matplotlib.tri import Triangulation

    return Triangulation(scaled(x), scaled(y))


def contour_segments(x: np.ndarray, y: np.ndarray, limit: np.ndarray) -> list[np.ndarray]:
    """Where a limit curve crosses 1 over two labels, as ordered polylines in the labels' units.

    Args:
        x: the first label's values (one per signal point with a limit).
        y: the second label's values.
        limit: the limits there (positive).

    Returns:
        One (n, 2) array of (x, y) per segment; none when the curve does not cross 1 or fewer
        than three points are not on one line.
    """
    from matplotlib import _tri

    if len(x) < 3:
        return []
    try:
        tri = triangulation(x, y)
    except (ValueError, RuntimeError):  # collinear or repeated points: nothing to triangulate
        return []
    generator = _tri.TriContourGenerator(tri.get_cpp_triangulation(), np.log10(limit))
    lines, _codes = generator.create_contour(0.0)
    x0, dx = float(np.min(x)), float(np.ptp(x))
    y0, dy = float(np.min(y)), float(np.ptp(y))
    return [np.column_stack([x0 + line[:, 0] * dx, y0 + line[:, 1] * dy]) for line in lines if len(line)]


def crossings(x: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Where a limit curve over one label crosses 1, interpolated in log10(limit).

    Args:
        x: the label's values (one per signal point with a limit).
        limit: the limits there (positive).

    Returns:
        The label's values at the crossings, in increasing order.
    """
    order = np.argsort(x, kind="stable")
    xs, zs = np.asarray(x, float)[order], np.log10(np.asarray(limit, float)[order])
    found = []
    for k in range(len(xs) - 1):
        z0, z1 = zs[k], zs[k + 1]
        if z0 == 0.0:
            found.append(xs[k])
        elif z0 * z1 < 0.0:
            found.append(xs[k] + (xs[k + 1] - xs[k]) * z0 / (z0 - z1))
    if len(zs) and zs[-1] == 0.0:
        found.append(xs[-1])
    return np.asarray(found, float)


def grid_contours(table: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Every limit curve's exclusion contour (limit = 1) of a signal grid's table.

    Args:
        table: the grid's limits (`SignalGrid.table`: a column per label and per curve).
        labels: the patchset's labels (the contours use the first two).

    Returns:
        Rows (curve, segment, point, the labels' values): each segment's points in order; for
        one label, one row per crossing (segment 0, point k); no label: no rows.
    """
    names = list(labels[:2])
    rows = []
    for curve in CURVES:
        limits = pd.to_numeric(table[curve], errors="coerce").to_numpy(float)
        keep = np.isfinite(limits) & (limits > 0)
        if not names or not keep.any():
            continue
        coords = [table[name].to_numpy(float)[keep] for name in names]
        if len(names) == 1:
            points = crossings(coords[0], limits[keep])
            rows += [(curve, 0, k, value) for k, value in enumerate(points)]
            continue
        for s, line in enumerate(contour_segments(coords[0], coords[1], limits[keep])):
            rows += [(curve, s, k, *xy) for k, xy in enumerate(line.tolist())]
    return pd.DataFrame(rows, columns=[*COLUMNS, *names])
