"""Rule `fractal`: the escape counts of one configured fractal, with their coordinates."""

import time

from diffpipe.artifacts import FractalCounts
from diffpipe.escape import escape_counts
from diffpipe.provenance import Provenance
from diffpipe.runtime import compute_job


def run_fractal(job, name: str, entry: dict, output: str) -> None:
    """Compute one fractal's escape counts and write them with viewport, size and iterations.

    Args:
        job: the `runtime.Job`.
        name: the fractal's name.
        entry: its `fractals` entry (defaults filled).
        output: path of counts.npz.
    """
    with compute_job(job, uses_jax=entry["backend"] != "numba") as device:
        started = time.perf_counter()
        counts = escape_counts(entry)
        prov = Provenance.record(entry, device, time.perf_counter() - started)
        FractalCounts(
            counts=counts,
            name=name,
            kind=entry["kind"],
            c=list(entry["c"]) if entry["kind"] == "julia" else None,
            viewport=list(entry["viewport"]),
            width=entry["width"],
            height=entry["height"],
            iterations=entry["iterations"],
            threshold=entry["threshold"],
            backend=entry["backend"],
            provenance=prov,
        ).write(output)
