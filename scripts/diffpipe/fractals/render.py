"""Rule `fractal`: the escape counts of one configured fractal, with their coordinates."""

import time

from diffpipe.artifacts import FractalCounts
from diffpipe.escape import escape_counts
from diffpipe.provenance import Provenance
from diffpipe.runtime import compute_job


def run_fractal(job, name: str, spec: dict, output: str) -> None:
    """Compute one fractal's escape counts and write them with viewport, size and iterations.

    Args:
        job: the `runtime.Job`.
        name: the fractal's name.
        spec: its `fractals` entry (defaults filled).
        output: path of counts.npz.
    """
    with compute_job(job, uses_jax=spec["backend"] != "numba") as device:
        started = time.perf_counter()
        counts = escape_counts(spec)
        prov = Provenance.record(spec, device, time.perf_counter() - started)
        FractalCounts(
            counts=counts,
            name=name,
            kind=spec["kind"],
            c=list(spec["c"]) if spec["kind"] == "julia" else None,
            viewport=list(spec["viewport"]),
            width=spec["width"],
            height=spec["height"],
            iterations=spec["iterations"],
            threshold=spec["threshold"],
            backend=spec["backend"],
            provenance=prov,
        ).write(output)
