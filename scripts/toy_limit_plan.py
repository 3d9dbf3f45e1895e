"""Checkpoint toy_limit_plan: the parts one round of the toy-based limit adds."""

from diffpipe.runtime import job_from_snakemake
from diffpipe.toys.run import run_toy_limit_plan

run_toy_limit_plan(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.model,
    settings=snakemake.params.settings,
    cl=snakemake.params.cl,
    round_=int(snakemake.wildcards.round),
    points=snakemake.input.points,
    parts=list(snakemake.input.parts),
    output=snakemake.output.plan,
    next_plan=snakemake.params.next_plan,
    merged=snakemake.params.merged,
)
