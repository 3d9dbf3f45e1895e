"""Rule optimize_analysis: a selection and binning trained end to end, checked with hard cuts against pyhf."""

from diffpipe.design.run import run_optimize_analysis
from diffpipe.runtime import job_from_snakemake

run_optimize_analysis(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.design,
    entry=snakemake.params.design,
    cl=snakemake.params.cl,
    output=snakemake.output.design,
)
