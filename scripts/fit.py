"""Rule fit: maximum-likelihood fit of one model, autodiff-Hessian errors and MINUIT cross-checks."""

from diffpipe.likelihood.fit import run_fit
from diffpipe.runtime import job_from_snakemake

run_fit(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.model,
    entry=snakemake.params.model,
    settings=snakemake.params.settings,
    output=snakemake.output.fit,
)
