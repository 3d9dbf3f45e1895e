"""Rule signal_grid: a signal grid's limits table from its blocks of patches, and its exclusion contours."""

from diffpipe.inference.run import run_signal_grid
from diffpipe.runtime import job_from_snakemake

run_signal_grid(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.signal_grid,
    signal_grid=snakemake.params.signal_grid,
    blocks=list(snakemake.input.blocks),
    output=snakemake.output.limits,
    contours=snakemake.output.contours,
)
