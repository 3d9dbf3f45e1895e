"""Rule plot_benchmark: the timing figure."""

from diffpipe.plots.benchmark import run_plot_benchmark
from diffpipe.runtime import job_from_snakemake

run_plot_benchmark(
    job_from_snakemake(snakemake),
    snakemake.input.fractals,
    snakemake.input.grid,
    style=snakemake.params.figures,
    output=snakemake.output.figure,
)
