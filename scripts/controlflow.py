"""Rule controlflow: the notebook's piecewise function differentiated under jax.vmap and TF."""

from diffpipe.gradients.controlflow import run_controlflow
from diffpipe.runtime import job_from_snakemake

run_controlflow(job_from_snakemake(snakemake), cfg=snakemake.params.controlflow, output=snakemake.output.table)
