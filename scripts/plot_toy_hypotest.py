"""Rule plot_toy_hypotest: toy-based CLs against the POI beside the asymptotic curve, and q̃μ distributions."""

from diffpipe.plots.toys import run_plot_toy_hypotest
from diffpipe.runtime import job_from_snakemake

run_plot_toy_hypotest(
    job_from_snakemake(snakemake),
    snakemake.input.cls,
    snakemake.input.limits,
    style=snakemake.params.figures,
    output=snakemake.output.figure,
)
