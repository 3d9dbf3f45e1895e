"""Rule plot_signal_grid: limits across a signal grid (a line, or its exclusion contours)."""

from diffpipe.plots.inference import run_plot_signal_grid
from diffpipe.runtime import job_from_snakemake

run_plot_signal_grid(
    job_from_snakemake(snakemake),
    snakemake.input.limits,
    snakemake.input.contours,
    style=snakemake.params.figures,
    units=snakemake.params.units,
    output=snakemake.output.figure,
)
