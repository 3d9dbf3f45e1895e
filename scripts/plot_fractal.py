"""Rule plot_fractal: one fractal's image."""

from diffpipe.plots.fractals import run_plot_fractal
from diffpipe.runtime import job_from_snakemake

run_plot_fractal(
    job_from_snakemake(snakemake), snakemake.input.counts, style=snakemake.params.figures, output=snakemake.output.image
)
