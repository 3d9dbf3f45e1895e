"""A user function that fails on its first call inside a SLURM job, for the SLURM retry test.

The first attempt leaves a marker file and raises; the retried job finds it and succeeds.
Outside a SLURM job (the configuration check probes the function when the workflow is parsed)
it always succeeds.
"""

import os
from pathlib import Path

MARKER = Path("results") / ".flaky-first-attempt"


def flaky_square(x, xp):
    if "SLURM_JOB_ID" in os.environ and not MARKER.exists():
        MARKER.parent.mkdir(parents=True, exist_ok=True)
        MARKER.write_text("failed once\n")
        raise RuntimeError("injected failure on the first attempt")
    return xp.sum(x**2)
