"""Rule grid_scan: the 2-D ln L grid and its gradient field around one model's best fit."""

from diffpipe.likelihood.gridscan import run_grid_scan
from diffpipe.runtime import job_from_snakemake

run_grid_scan(
    job_from_snakemake(snakemake),
    definition=snakemake.params.model,
    grid=snakemake.params.grid,
    fit_path=snakemake.input.fit,
    output=snakemake.output.grid,
)
