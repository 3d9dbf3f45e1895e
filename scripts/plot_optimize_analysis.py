"""Rule plot_optimize_analysis: the training curve and the histograms before and after of one design."""

from diffpipe.plots.design import run_plot_design
from diffpipe.runtime import job_from_snakemake

run_plot_design(
    job_from_snakemake(snakemake),
    snakemake.input.design,
    style=snakemake.params.figures,
    output=snakemake.output.figure,
)
