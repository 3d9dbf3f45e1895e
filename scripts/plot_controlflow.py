"""Rule plot_controlflow: f and f' of the control-flow example."""

from diffpipe.plots.gradients import run_plot_controlflow
from diffpipe.runtime import job_from_snakemake

run_plot_controlflow(
    job_from_snakemake(snakemake), snakemake.input.table, style=snakemake.params.figures, output=snakemake.output.figure
)
