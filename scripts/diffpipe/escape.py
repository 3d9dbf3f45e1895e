"""Mandelbrot and Julia escape counts with the notebook's semantics, on several backends.

Semantics (the notebook's): z_{k+1} = z_k^2 + c in complex64, and the count is the number of
iterations k = 1..N with |z_k| < threshold. Mandelbrot: z_0 = 0, c = pixel. Julia: z_0 = pixel,
c fixed. Pixel coordinates come from np.linspace over the viewport, rounded to float32.

Backends
- numba (default on CPU): 32 SIMD lanes iterated together in float32 (LLVM vectorises the lane
  loop), each lane working through a queue of pixels (a chunk of rows per thread): every 16 steps
  a lane whose pixel is finished writes its count and takes the next pixel, so no lane idles
  while one slow pixel of its group runs on.
  A pixel is finished after its N iterations or, where that is exact, once it has escaped: once
  |z| >= t with t^2 - |c| >= t (t = 4: |c| <= 12), |z| never drops below t again, so stopping
  early gives exactly the counts of the full loop; otherwise every pixel runs all N steps.
  The grid is computed inside the kernel: memory is the int32 output plus a few lanes.
- jax: jit + lax.fori_loop over the whole grid (runs on a GPU when one is visible).
- tensorflow: tf.function(jit_compile=True) + tf.while_loop (GPU when visible).
- tensorflow_eager: the notebook's own Python loop of eager TF ops (benchmark reference).
- reference: float64 NumPy with an active set; the yardstick the tests compare against.

Shared by the fractal stage (which renders the configured fractals) and the benchmark (which
times the backends).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from diffpipe.runtime import import_tensorflow

LANES = 32  # pixels iterated together (four AVX2 vectors of float32 per array)
CHECK_EVERY = 16  # steps between looks at which lanes are finished
ROWS_PER_TASK = 4  # rows whose pixels one thread's queue holds


@dataclass(frozen=True)
class Plane:
    """A fractal to count: what every backend takes.

    Attributes:
        kind: mandelbrot or julia.
        c: the Julia constant [re, im] (None for Mandelbrot).
        viewport: [xmin, xmax, ymin, ymax].
        width: pixels along x.
        height: pixels along y.
        iterations: iterations per pixel.
        threshold: escape radius.
    """

    kind: str
    c: tuple[float, float] | None
    viewport: tuple[float, float, float, float]
    width: int
    height: int
    iterations: int
    threshold: float

    @classmethod
    def from_spec(cls, entry: Mapping) -> "Plane":
        """The plane of a `fractals` config entry.

        Args:
            entry: the entry (kind, c, viewport, width, height, iterations, threshold).

        Returns:
            The `Plane`.
        """
        c = entry.get("c")
        return cls(
            entry["kind"],
            tuple(c) if c is not None and entry["kind"] == "julia" else None,
            tuple(entry["viewport"]),
            int(entry["width"]),
            int(entry["height"]),
            int(entry["iterations"]),
            float(entry["threshold"]),
        )

    @property
    def julia(self) -> bool:
        """Whether this is a Julia set rather than the Mandelbrot set.

        Returns:
            True for a Julia set (z_0 = pixel, c fixed).
        """
        return self.kind == "julia"

    def grid(self, dtype=np.complex128) -> np.ndarray:
        """The pixels as complex numbers, row 0 at ymin.

        Args:
            dtype: complex64 (the XLA backends) or complex128 (the reference).

        Returns:
            Shape (height, width).
        """
        xs, ys = axes(self.viewport, self.width, self.height)
        return (xs[None, :] + 1j * ys[:, None]).astype(dtype)

    def start(self, dtype=np.complex128) -> tuple[np.ndarray, np.ndarray]:
        """Initial z and the constant c for every pixel.

        Args:
            dtype: complex dtype of both arrays.

        Returns:
            (z_0, c): Julia (pixel, constant), Mandelbrot (0, pixel).
        """
        grid = self.grid(dtype)
        if self.julia:
            return grid, np.full_like(grid, dtype(complex(*self.c)))
        return np.zeros_like(grid), grid

    def early_exit_exact(self) -> bool:
        """Whether stopping an escaped orbit early gives the full loop's count (see module doc).

        Returns:
            True when an escaped orbit can never return below the threshold.
        """
        return early_exit_exact(self.kind, self.c, self.viewport, self.threshold)


def axes(viewport, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates of a viewport.

    Args:
        viewport: [xmin, xmax, ymin, ymax].
        width: pixels along x.
        height: pixels along y.

    Returns:
        (xs, ys), float64, from np.linspace over the viewport.
    """
    xmin, xmax, ymin, ymax = viewport
    return np.linspace(xmin, xmax, width), np.linspace(ymin, ymax, height)


def early_exit_exact(kind: str, c, viewport, threshold: float) -> bool:
    """Whether an escaped orbit can never return below the threshold (then stopping early is exact).

    Args:
        kind: mandelbrot or julia.
        c: the Julia constant [re, im] (ignored for Mandelbrot).
        viewport: [xmin, xmax, ymin, ymax] (bounds |c| for Mandelbrot).
        threshold: escape radius t.

    Returns:
        True when t^2 - max|c| >= t and t > 1.
    """
    if kind == "julia":
        cmax = abs(complex(*c))
    else:
        xmin, xmax, ymin, ymax = viewport
        cmax = max(abs(complex(x, y)) for x in (xmin, xmax) for y in (ymin, ymax))
    return threshold * threshold - cmax >= threshold and threshold > 1.0


# --------------------------------------------------------------------------- numba kernel
_KERNEL = None


def _numba_kernel():
    global _KERNEL
    if _KERNEL is not None:
        return _KERNEL
    import numba

    @numba.njit(parallel=True, cache=True, fastmath=False, error_model="numpy")
    def kernel(xs, ys, julia, c_re, c_im, iterations, thr2, early_exit, out):
        height, width = out.shape
        tasks = (height + ROWS_PER_TASK - 1) // ROWS_PER_TASK
        for task in numba.prange(tasks):
            row0 = task * ROWS_PER_TASK
            total = (min(height, row0 + ROWS_PER_TASK) - row0) * width  # pixels in this task's queue
            zr = np.zeros(LANES, np.float32)
            zi = np.zeros(LANES, np.float32)
            cr = np.zeros(LANES, np.float32)
            ci = np.zeros(LANES, np.float32)
            counts = np.zeros(LANES, np.int32)
            left = np.zeros(LANES, np.int32)  # iterations still to do (0: lane idle)
            pixel = np.full(LANES, -1, np.int64)  # queue position of each lane's pixel (-1: none)
            queued = 0
            busy = 0
            for lane in range(LANES):
                if queued < total:
                    pixel[lane] = queued
                    x, y = xs[queued % width], ys[row0 + queued // width]
                    if julia:
                        zr[lane], zi[lane], cr[lane], ci[lane] = x, y, c_re, c_im
                    else:
                        cr[lane], ci[lane] = x, y
                    left[lane] = iterations
                    queued += 1
                    busy += 1
                else:
                    zr[lane] = np.float32(1e4)  # idle lanes sit far outside and count nothing
            while busy > 0:
                for _ in range(CHECK_EVERY):
                    for lane in range(LANES):
                        a = zr[lane]
                        b = zi[lane]
                        na = a * a - b * b + cr[lane]
                        nb = np.float32(2.0) * a * b + ci[lane]
                        zr[lane] = na
                        zi[lane] = nb
                        live = np.int32(left[lane] > 0)
                        counts[lane] += np.int32(na * na + nb * nb < thr2) * live
                        left[lane] -= live
                for lane in range(LANES):
                    p = pixel[lane]
                    if p < 0:
                        continue
                    escaped = not (zr[lane] * zr[lane] + zi[lane] * zi[lane] < thr2)
                    if left[lane] > 0 and not (early_exit and escaped):
                        continue
                    out[row0 + p // width, p % width] = counts[lane]
                    counts[lane] = 0
                    if queued < total:
                        pixel[lane] = queued
                        x, y = xs[queued % width], ys[row0 + queued // width]
                        if julia:
                            zr[lane], zi[lane] = x, y
                        else:
                            zr[lane], zi[lane], cr[lane], ci[lane] = 0.0, 0.0, x, y
                        left[lane] = iterations
                        queued += 1
                    else:
                        pixel[lane] = -1
                        left[lane] = 0
                        zr[lane], zi[lane], cr[lane], ci[lane] = np.float32(1e4), 0.0, 0.0, 0.0
                        busy -= 1

    _KERNEL = kernel
    return kernel


def counts_numba(plane: Plane) -> np.ndarray:
    """Escape counts with the numba SIMD-lane kernel (default CPU backend).

    Args:
        plane: the fractal; the kernel builds its float32 grid row by row.

    Returns:
        int32 counts, shape (height, width); float32 arithmetic, 32 lanes with a pixel queue each
        and an exact early exit.
    """
    xs, ys = axes(plane.viewport, plane.width, plane.height)
    c_re, c_im = (np.float32(plane.c[0]), np.float32(plane.c[1])) if plane.julia else (np.float32(0), np.float32(0))
    out = np.empty((plane.height, plane.width), np.int32)
    _numba_kernel()(
        xs.astype(np.float32),
        ys.astype(np.float32),
        plane.julia,
        c_re,
        c_im,
        plane.iterations,
        np.float32(plane.threshold) ** 2,
        plane.early_exit_exact(),
        out,
    )
    return out


# --------------------------------------------------------------------------- jax
def counts_jax(plane: Plane) -> np.ndarray:
    """Escape counts with jax.jit + lax.fori_loop over the whole grid (GPU when visible).

    Args:
        plane: the fractal, as one complex64 array on the device.

    Returns:
        int32 counts from XLA on JAX's default device (complex64, no early exit).
    """
    import jax
    import jax.numpy as jnp

    z, c = plane.start(np.complex64)
    return np.asarray(_jax_loop(jax, jnp)(z, c, plane.iterations, plane.threshold))


_JAX_LOOP = None


def _jax_loop(jax, jnp):
    global _JAX_LOOP
    if _JAX_LOOP is None:

        def run(z, c, iterations, threshold):
            def body(_, state):
                z, n = state
                z = z * z + c
                return z, n + (jnp.abs(z) < threshold).astype(jnp.int32)

            _, n = jax.lax.fori_loop(0, iterations, body, (z, jnp.zeros(z.shape, jnp.int32)))
            return n

        _JAX_LOOP = jax.jit(run, static_argnums=(2, 3))
    return _JAX_LOOP


# --------------------------------------------------------------------------- tensorflow
_TF_LOOP = None


def _tf_loop():
    global _TF_LOOP
    if _TF_LOOP is None:
        tf = import_tensorflow()

        @tf.function(jit_compile=True)
        def run(z, c, iterations, threshold):
            n = tf.zeros(tf.shape(z), tf.int32)

            def body(k, z, n):
                z = z * z + c
                return k + 1, z, n + tf.cast(tf.abs(z) < threshold, tf.int32)

            _, _, n = tf.while_loop(lambda k, z, n: k < iterations, body, (tf.constant(0), z, n))
            return n

        _TF_LOOP = run
    return _TF_LOOP


def counts_tensorflow(plane: Plane) -> np.ndarray:
    """Escape counts with tf.function(jit_compile=True) + tf.while_loop (GPU when visible).

    Args:
        plane: the fractal, as complex64 tensors of z_0 and c.

    Returns:
        int32 counts from XLA through TensorFlow (complex64, no early exit).
    """
    tf = import_tensorflow()

    z, c = plane.start(np.complex64)
    run = _tf_loop()
    n = run(tf.constant(z), tf.constant(c), tf.constant(plane.iterations), tf.constant(np.float32(plane.threshold)))
    return n.numpy()


def counts_tensorflow_eager(plane: Plane) -> np.ndarray:
    """The notebook's loop: one eager TF op per step, float32 counts (the benchmark's reference).

    Args:
        plane: the fractal; every iteration is a handful of eager TF ops over the whole grid.

    Returns:
        The notebook's float32 counts, cast to int32.
    """
    tf = import_tensorflow()

    z0, c0 = plane.start(np.complex64)
    zs, cs = tf.constant(z0), tf.constant(c0)
    ns = tf.zeros(zs.shape, tf.float32)
    for _ in range(plane.iterations):
        zs = zs * zs + cs
        ns = ns + tf.cast(tf.abs(zs) < plane.threshold, tf.float32)
    return ns.numpy().astype(np.int32)


# --------------------------------------------------------------------------- reference
def counts_reference(plane: Plane) -> np.ndarray:
    """float64 NumPy reference, iterating only the points still inside (no overflow).

    Args:
        plane: the fractal, in complex128.

    Returns:
        int32 counts in float64 arithmetic: the yardstick of the other backends.
    """
    z0, c0 = plane.start(np.complex128)
    z, cc = z0.ravel().copy(), c0.ravel().copy()
    counts = np.zeros(z.size, np.int32)
    active = np.arange(z.size)
    exact = plane.early_exit_exact()
    for _ in range(plane.iterations):
        z[active] = z[active] ** 2 + cc[active]
        inside = np.abs(z[active]) < plane.threshold
        counts[active] += inside
        if exact:
            active = active[inside]
        else:  # keep every finite orbit; drop only those that overflowed
            active = active[np.abs(z[active]) < 1e150]
        if active.size == 0:
            break
    return counts.reshape(z0.shape)


COUNTERS = {
    "numba": counts_numba,
    "jax": counts_jax,
    "tensorflow": counts_tensorflow,
    "tensorflow_eager": counts_tensorflow_eager,
    "reference": counts_reference,
}


def escape_counts(entry: Mapping, backend: str | None = None) -> np.ndarray:
    """Escape counts of a fractal entry.

    Args:
        entry: a `fractals` entry (kind, c, viewport, width, height, iterations, threshold, backend).
        backend: a key of `COUNTERS` overriding the entry's backend.

    Returns:
        int32 counts, shape (height, width), row 0 at ymin.
    """
    return COUNTERS[backend or entry["backend"]](Plane.from_spec(entry))


def log_shade(counts: np.ndarray, iterations: int) -> np.ndarray:
    """The notebook's log shading, defined for every pixel class.

    The notebook maps count 0 to `iterations` (so pixels escaping at once look like the
    interior) and then takes log10 of count/max, which is -inf wherever a count stays 0. Here
    log10((n + 1) / (iterations + 1)) keeps the order: 0 for the interior (n = iterations),
    the darkest value for immediate escapes, finite everywhere.

    Args:
        counts: escape counts.
        iterations: the iteration count they were computed with.

    Returns:
        float64 shading, same shape, in [log10(1 / (iterations + 1)), 0].
    """
    return np.log10((counts.astype(np.float64) + 1.0) / (iterations + 1.0))
