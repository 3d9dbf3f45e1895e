"""Rule plot_yields: a model's pre-fit and post-fit data/model figures."""

from diffpipe.plots.yields import STAGES, run_plot_yields
from diffpipe.runtime import job_from_snakemake

run_plot_yields(
    job_from_snakemake(snakemake),
    snakemake.input.yields,
    style=snakemake.params.figures,
    binning=snakemake.params.binning,
    label=snakemake.params.label,
    outputs={stage: snakemake.output[stage] for stage in STAGES},
)
