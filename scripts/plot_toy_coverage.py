"""Rule plot_toy_coverage: the POI's pull distribution and every parameter's pull mean and width."""

from diffpipe.plots.toys import run_plot_toy_coverage
from diffpipe.runtime import job_from_snakemake

run_plot_toy_coverage(
    job_from_snakemake(snakemake),
    snakemake.input.coverage,
    style=snakemake.params.figures,
    output=snakemake.output.figure,
)
