"""Rule gradients: one gradient four ways (JAX, TensorFlow, analytic, finite differences)."""

from diffpipe.gradients.gradients import run_gradients
from diffpipe.runtime import job_from_snakemake

run_gradients(job_from_snakemake(snakemake), cfg=snakemake.params.gradients, output=snakemake.output.table)
