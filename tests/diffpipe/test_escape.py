import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import ROOT

from diffpipe import escape as F

NOTEBOOK = {"viewport": [-1.5, 1.5, -1.5, 1.5], "iterations": 1000, "threshold": 4.0}
MANDELBROT = {"kind": "mandelbrot", "c": None, "width": 200, "height": 160, **NOTEBOOK}
JULIA = {"kind": "julia", "c": [-0.7269, 0.1889], "width": 200, "height": 160, **NOTEBOOK}
# float32 rounding decides long chaotic orbits; short ones must match exactly.
EXACT_BELOW = 30
MAX_DIFFERING = {"mandelbrot": 0.01, "julia": 0.08}


@pytest.fixture(scope="module", params=[MANDELBROT, JULIA], ids=["mandelbrot", "julia"])
def case(request):
    spec = request.param
    return spec, F.escape_counts(spec, "reference")


@pytest.mark.parametrize("backend", ["numba", "jax", "tensorflow"])
def test_backend_agrees_with_float64_reference(case, backend):
    spec, reference = case
    counts = F.escape_counts(spec, backend)
    assert counts.shape == (spec["height"], spec["width"]) and np.issubdtype(counts.dtype, np.integer)
    differ = counts != reference
    assert not np.any(differ & (reference < EXACT_BELOW)), "a short orbit differs"
    assert differ.mean() <= MAX_DIFFERING[spec["kind"]]


def test_notebook_eager_loop_matches_compiled_tensorflow():
    spec = {**MANDELBROT, "width": 40, "height": 30, "iterations": 100}
    np.testing.assert_array_equal(F.escape_counts(spec, "tensorflow_eager"), F.escape_counts(spec, "tensorflow"))


def test_counts_follow_notebook_semantics_on_known_points():
    # c = 0 never escapes (count = N); c = 1.5 escapes after 2 steps (|z1|=1.5, |z2|=3.75, |z3|>4).
    spec = {
        "kind": "mandelbrot",
        "c": None,
        "viewport": [0.0, 1.5, 0.0, 1.0],
        "width": 2,
        "height": 2,
        "iterations": 50,
        "threshold": 4.0,
    }
    for backend in ("numba", "reference"):
        counts = F.escape_counts(spec, backend)
        assert counts[0, 0] == 50 and counts[0, 1] == 2


def test_early_exit_is_used_only_where_exact():
    assert F.early_exit_exact("julia", [-0.7269, 0.1889], None, 4.0)
    assert not F.early_exit_exact("julia", [13.0, 0.0], None, 4.0)
    # Without the guarantee the kernel runs every iteration and still matches the reference.
    spec = {
        "kind": "julia",
        "c": [12.5, 0.0],
        "viewport": [-1, 1, -1, 1],
        "width": 16,
        "height": 8,
        "iterations": 20,
        "threshold": 4.0,
    }
    np.testing.assert_array_equal(F.escape_counts(spec, "numba"), F.escape_counts(spec, "reference"))


def test_log_shade_is_finite_and_ordered_for_every_pixel_class():
    iterations = 1000
    counts = np.array([0, 1, 500, iterations])  # immediate escape, slow escape, interior
    shade = F.log_shade(counts, iterations)
    assert np.isfinite(shade).all()
    assert np.all(np.diff(shade) > 0) and shade[-1] == 0.0


def test_kernels_raise_no_floating_point_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            F.escape_counts({**JULIA, "width": 50, "height": 40}, "reference")
            F.escape_counts({**MANDELBROT, "width": 50, "height": 40}, "numba")


def run_isolated(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT / 'scripts')!r})\n{code}"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return out.stdout.strip()


def test_numba_backend_does_not_import_tensorflow():
    code = (
        "from diffpipe import escape\n"
        "escape.escape_counts(dict(kind='mandelbrot', c=None, viewport=[-1.5,1.5,-1.5,1.5], width=32, height=32, iterations=10, threshold=4.0, backend='numba'))\n"
        "print('tensorflow' in sys.modules)"
    )
    assert run_isolated(code) == "False"


def test_large_render_memory_is_a_small_multiple_of_the_output():
    """8000 x 8000: the int32 output is 256 MB; the peak must stay under 2x that."""
    code = (
        "import resource, numpy\nfrom diffpipe import escape\n"
        "spec = dict(kind='mandelbrot', c=None, viewport=[-1.5,1.5,-1.5,1.5], width=64, height=64, iterations=10, threshold=4.0, backend='numba')\n"
        "escape.escape_counts(spec)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "counts = escape.escape_counts(dict(spec, width=8000, height=8000, iterations=50))\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "print(after - before, counts.nbytes)"
    )
    grown, output = map(int, run_isolated(code).split())
    assert grown <= 2 * output, f"peak grew by {grown / 2**20:.0f} MiB for a {output / 2**20:.0f} MiB output"


def float32_full_loop(plane):
    """Every pixel, all N steps, in NumPy float32 with the kernel's operation order (no early exit)."""
    xs, ys = F.axes(plane.viewport, plane.width, plane.height)
    x, y = np.meshgrid(xs.astype(np.float32), ys.astype(np.float32))
    if plane.julia:
        zr, zi = x.copy(), y.copy()
        cr, ci = np.full_like(x, np.float32(plane.c[0])), np.full_like(y, np.float32(plane.c[1]))
    else:
        zr, zi, cr, ci = np.zeros_like(x), np.zeros_like(y), x, y
    thr2 = np.float32(plane.threshold) ** 2
    counts = np.zeros(x.shape, np.int32)
    with np.errstate(all="ignore"):
        for _ in range(plane.iterations):
            zr, zi = zr * zr - zi * zi + cr, np.float32(2.0) * zr * zi + ci
            counts += zr * zr + zi * zi < thr2
    return counts


@pytest.mark.parametrize(
    "plane",
    [
        F.Plane("mandelbrot", None, (-1.5, 1.5, -1.5, 1.5), 97, 61, 300, 4.0),  # early exit exact
        F.Plane("julia", (-0.7269, 0.1889), (-1.5, 1.5, -1.5, 1.5), 83, 45, 250, 4.0),
        F.Plane("mandelbrot", None, (-2.0, 1.0, -1.5, 1.5), 70, 33, 120, 1.5),  # not exact: every step runs
    ],
    ids=["mandelbrot", "julia", "no-early-exit"],
)
def test_numba_lane_queue_kernel_gives_the_full_float32_loops_counts_exactly(plane):
    """Retiring escaped pixels early and refilling lanes changes no count (odd sizes: partial lanes)."""
    np.testing.assert_array_equal(F.counts_numba(plane), float32_full_loop(plane))
