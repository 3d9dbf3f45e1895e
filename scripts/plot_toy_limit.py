"""Rule plot_toy_limit: toy-based CLs with Monte Carlo errors, the limits, beside the asymptotic curves."""

from diffpipe.plots.toys import run_plot_toy_limit
from diffpipe.runtime import job_from_snakemake

run_plot_toy_limit(
    job_from_snakemake(snakemake),
    snakemake.input.limit,
    snakemake.input.limits,
    style=snakemake.params.figures,
    output=snakemake.output.figure,
)
