"""Rule plot_likelihood: grid, profile, pulls and correlation figures of one model."""

from diffpipe.plots.likelihood import run_plot_likelihood
from diffpipe.runtime import job_from_snakemake

run_plot_likelihood(
    job_from_snakemake(snakemake),
    snakemake.input.fit,
    snakemake.input.grid,
    style=snakemake.params.figures,
    outputs={key: snakemake.output[key] for key in ("grid", "profile", "pulls", "correlation")},
)
