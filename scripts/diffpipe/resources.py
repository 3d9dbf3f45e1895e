"""Memory and runtime of the jobs whose size the config sets, estimated from the config alone.

Snakemake plans (and a cluster enforces) each job's `mem_mb` and `runtime`; both follow the
work here, so a 20000 x 20000 render is planned with the memory of its arrays and hours of
runtime instead of the defaults of a small one. Estimates are upper bounds with a margin,
measured on this project's jobs (numbers in each function); they import nothing heavy, since
the workflow evaluates them while it is parsed.
"""

import math
from collections.abc import Mapping

# A Python job with NumPy, JAX/Numba and its libraries loaded, before any data.
BASE_MB = 1000
PLOT_BASE_MB = 600
# Fractal job, bytes per pixel: int32 counts, the JAX backends' complex64 z and c grids and their
# temporaries, the compressed copy written to .npz (measured peak 2000 x 2000: ~1.2 GB on JAX).
FRACTAL_BYTES_PER_PIXEL = 40
# Image job, bytes per pixel: counts, the float64 shading and two float64 temporaries, the
# colormap's float64 RGBA and the uint8 image (measured 4000 x 4000: ~1.3 GB).
PLOT_BYTES_PER_PIXEL = 80
# Escape iterations per second and thread, worst case (every pixel inside the set; the Numba
# kernel does 1-4e9 here, the JAX CPU backend ~3e8).
ITERATIONS_PER_SECOND = 2.0e8
MIN_RUNTIME = 5  # minutes: start-up and imports, with a margin


def _mb(nbytes: float) -> int:
    return int(math.ceil(nbytes / 2**20))


def fractal_job(entry: Mapping, threads: int = 1) -> dict[str, int]:
    """Resources of one `fractal` job.

    Args:
        entry: a `fractals` entry (width, height, iterations).
        threads: the job's threads.

    Returns:
        {"mem_mb", "runtime"} (MiB, minutes).
    """
    pixels = entry["width"] * entry["height"]
    seconds = pixels * entry["iterations"] / (ITERATIONS_PER_SECOND * max(1, threads))
    return {
        "mem_mb": BASE_MB + _mb(pixels * FRACTAL_BYTES_PER_PIXEL),
        "runtime": MIN_RUNTIME + int(math.ceil(2 * seconds / 60)),
    }


def plot_fractal_job(entry: Mapping) -> dict[str, int]:
    """Resources of one `plot_fractal` job (shading and colouring the counts).

    Args:
        entry: a `fractals` entry.

    Returns:
        {"mem_mb", "runtime"}.
    """
    pixels = entry["width"] * entry["height"]
    return {
        "mem_mb": PLOT_BASE_MB + _mb(pixels * PLOT_BYTES_PER_PIXEL),
        "runtime": MIN_RUNTIME + int(math.ceil(pixels / 1e7)),  # ~0.5 s per 10^7 pixels, margin 100x
    }


def plot_fractals_job(fractals: Mapping) -> dict[str, int]:
    """Resources of the `plot_fractals` gallery (every fractal's counts, then one at a time).

    Args:
        fractals: the `fractals` section.

    Returns:
        {"mem_mb", "runtime"}.
    """
    pixels = [entry["width"] * entry["height"] for entry in fractals.values()] or [0]
    return {
        "mem_mb": PLOT_BASE_MB + _mb(4 * sum(pixels) + PLOT_BYTES_PER_PIXEL * max(pixels)),
        "runtime": MIN_RUNTIME + int(math.ceil(sum(pixels) / 1e7)),
    }


def toy_shard_mem_mb(npars: int, ndata: int, shard_size: int) -> int:
    """Memory of one toy shard job.

    ~1.5 GB of runtime plus, per toy, its data and a few copies of its Hessian in the batched
    solve (8 B x (6 npars² + 4 data + 8 npars)).

    Args:
        npars: the model's parameters.
        ndata: its data length (main + auxiliary).
        shard_size: toys per shard.

    Returns:
        MiB.
    """
    per_toy = 8 * (6 * npars**2 + 4 * ndata + 8 * npars)
    return 1500 + _mb(shard_size * per_toy)


# Seconds per toy fit, worst case on one CPU thread (measured: 9 us for the counting model, 34 us
# for the 10-parameter multichannel model steady; compiling adds ~20 s per job), margin ~100x.
TOY_FIT_SECONDS = 0.002
# Seconds per grid point of the likelihood scan (a value and its gradient), margin ~100x.
GRID_POINT_SECONDS = 0.002


def toy_runtime(npars: int, fits: int) -> int:
    """Minutes of a job that runs `fits` toy fits of a model.

    Args:
        npars: the model's parameters.
        fits: the fits the job runs.

    Returns:
        Minutes.
    """
    return 10 + int(math.ceil(fits * TOY_FIT_SECONDS * max(1.0, npars / 10) / 60))


def grid_scan_job(points: int) -> dict[str, int]:
    """Resources of one `grid_scan` job: points x points values and gradients.

    Args:
        points: grid points per axis.

    Returns:
        {"mem_mb", "runtime"}.
    """
    cells = points * points
    return {
        "mem_mb": 3000 + _mb(cells * 8 * 8),  # value, 2 gradient components, parameters, temporaries
        "runtime": MIN_RUNTIME + 10 + int(math.ceil(cells * GRID_POINT_SECONDS / 60)),
    }


def _npz_rows(path: str) -> int:
    """The most rows of an .npz file's arrays, from their headers (nothing loaded)."""
    import zipfile

    from numpy.lib import format as npy

    rows = 1
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            with archive.open(name) as handle:
                major, _ = npy.read_magic(handle)
                read = npy.read_array_header_1_0 if major == 1 else npy.read_array_header_2_0
                shape = read(handle)[0]
                rows = max(rows, shape[0] if shape else 1)
    return rows


def design_job(entry: Mapping) -> dict[str, int]:
    """Resources of one `optimize_analysis` job.

    Memory: per simulated event of the three samples and background 1's two variations, the
    soft histograms keep a bin-membership row (bins + 1 kernel values) and the gradient its
    cotangent, ~8 float64 arrays of that size at once (measured: 3000 events x 4 bins, 655 MB
    peak, almost all of it the Python/JAX/pyhf base). Runtime: ~15 s compiling, ~0.03 s per
    step, grid point and replica (each ~10 fits of the compiled model), pyhf's three limits.

    Args:
        entry: an `optimize_analysis` entry (defaults filled).

    Returns:
        {"mem_mb", "runtime"} (MiB, minutes).
    """
    if "npz" in entry["events"]:
        events = _npz_rows(entry["events"]["npz"])
    else:
        events = entry["events"]["generator"]["events_per_sample"]
    cells = 5 * events * (entry["bins"] + 1)
    evaluations = entry["steps"] + entry["grid"]["points"] + entry["bootstrap"]["replicas"]
    return {
        "mem_mb": BASE_MB + 500 + _mb(cells * 8 * 8),
        "runtime": MIN_RUNTIME + int(math.ceil((cells * 1e-7 + 0.1) * evaluations / 60)),
    }


def planned_memory(config: Mapping) -> list[tuple[str, str, int]]:
    """The memory of every job whose size the config sets.

    Args:
        config: the checked config (defaults filled).

    Returns:
        (config key, rule, MiB) per job.
    """
    from diffpipe.workspaces import count_parameters

    threads = config["compute"]["threads"]
    planned = []
    for name, entry in config["fractals"].items():
        planned.append((f"fractals.{name}", "fractal", fractal_job(entry, threads)["mem_mb"]))
        planned.append((f"fractals.{name}", "plot_fractal", plot_fractal_job(entry)["mem_mb"]))
    if config["fractals"]:
        planned.append(("fractals", "plot_fractals", plot_fractals_job(config["fractals"])["mem_mb"]))
    for name, entry in config["likelihood"]["models"].items():
        if "points" in entry.get("grid", {}):
            planned.append(
                (f"likelihood.models.{name}.grid.points", "grid_scan", grid_scan_job(entry["grid"]["points"])["mem_mb"])
            )
    for name, toys in config["toys"].items():
        npars, ndata = count_parameters(config["likelihood"]["models"][name])
        planned.append((f"toys.{name}.shard_size", "toys", toy_shard_mem_mb(npars, ndata, toys["shard_size"])))
    for name, entry in config["optimize_analysis"].items():
        planned.append((f"optimize_analysis.{name}", "optimize_analysis", design_job(entry)["mem_mb"]))
    return planned
