"""Rule plot_postfit: stacked post-fit yields per channel with data and a data/model panel."""

from diffpipe.plots.inference import run_plot_postfit
from diffpipe.runtime import job_from_snakemake

run_plot_postfit(
    job_from_snakemake(snakemake),
    snakemake.input.yields,
    style=snakemake.params.figures,
    output=snakemake.output.figure,
)
