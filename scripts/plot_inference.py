"""Rule plot_inference: CLs curves with the Brazil band, the impact ranking and the grouped impacts of one model."""

from diffpipe.plots.inference import run_plot_inference
from diffpipe.runtime import job_from_snakemake

run_plot_inference(
    job_from_snakemake(snakemake),
    snakemake.input.limits,
    snakemake.input.impacts,
    snakemake.input.impact_groups,
    top=snakemake.params.top,
    style=snakemake.params.figures,
    outputs={key: snakemake.output[key] for key in ("cls", "ranking", "groups")},
)
