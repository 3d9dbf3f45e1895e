"""Rule optimize: every (start, method, gradient mode, repetition) of one optimizer problem."""

from diffpipe.optimizers.compare import run_optimize
from diffpipe.runtime import job_from_snakemake

run_optimize(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.problem,
    entry=snakemake.params.problem,
    settings=snakemake.params.settings,
    fit_path=snakemake.input.get("fit"),
    outputs={"table": snakemake.output.table, "traces": snakemake.output.traces},
)
