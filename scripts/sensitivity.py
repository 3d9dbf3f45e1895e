"""Rule sensitivity: gradients of the limits and significance of one model with respect to its specification."""

from diffpipe.inference.run import run_sensitivity
from diffpipe.runtime import job_from_snakemake

run_sensitivity(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.model,
    entry=snakemake.params.model,
    settings=snakemake.params.settings,
    output=snakemake.output.sensitivity,
)
