"""Rule plot_fractals: every fractal side by side."""

from diffpipe.plots.fractals import run_plot_fractals
from diffpipe.runtime import job_from_snakemake

run_plot_fractals(
    job_from_snakemake(snakemake),
    list(snakemake.input.counts),
    style=snakemake.params.figures,
    output=snakemake.output.figure,
)
