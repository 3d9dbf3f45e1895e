"""Rule signal_grid_block: CLs upper limits for one block of a signal grid's patches."""

from diffpipe.inference.run import run_signal_grid_block
from diffpipe.runtime import job_from_snakemake

run_signal_grid_block(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.signal_grid,
    block=int(snakemake.wildcards.block),
    signal_grid=snakemake.params.signal_grid,
    settings=snakemake.params.settings,
    output=snakemake.output.block,
)
