"""Rule plot_sensitivity: the systematics budget of one model."""

from diffpipe.plots.inference import run_plot_sensitivity
from diffpipe.runtime import job_from_snakemake

run_plot_sensitivity(
    job_from_snakemake(snakemake),
    snakemake.input.sensitivity,
    top=snakemake.params.top,
    style=snakemake.params.figures,
    output=snakemake.output.figure,
)
