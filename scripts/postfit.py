"""Rule postfit: saturated-model goodness of fit and pre/post-fit yields of one model."""

from diffpipe.inference.run import run_postfit
from diffpipe.runtime import job_from_snakemake

run_postfit(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.model,
    entry=snakemake.params.model,
    settings=snakemake.params.settings,
    outputs=dict(snakemake.output),
)
