"""Rule plot_optimizer: convergence figure and the ranking of one optimizer problem."""

from diffpipe.plots.optimizers import run_plot_optimizer
from diffpipe.runtime import job_from_snakemake

run_plot_optimizer(
    job_from_snakemake(snakemake),
    snakemake.input.traces,
    style=snakemake.params.figures,
    outputs={name: snakemake.output[name] for name in ("convergence", "ranking")},
)
