"""Rule plot_optimizer: convergence and evaluation figures of one optimizer problem."""

from diffpipe.plots.optimizers import run_plot_optimizer
from diffpipe.runtime import job_from_snakemake

run_plot_optimizer(
    job_from_snakemake(snakemake),
    snakemake.input.table,
    snakemake.input.traces,
    style=snakemake.params.figures,
    outputs={"convergence": snakemake.output.convergence, "evaluations": snakemake.output.evaluations},
)
