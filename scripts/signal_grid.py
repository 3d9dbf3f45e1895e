"""Rule signal_grid: CLs upper limits for every selected patch of a signal grid."""

from diffpipe.inference.run import run_signal_grid
from diffpipe.runtime import job_from_snakemake

run_signal_grid(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.signal_grid,
    signal_grid=snakemake.params.signal_grid,
    settings=snakemake.params.settings,
    output=snakemake.output.limits,
)
