"""Rule toy_limit: toy-based CLs upper limits with their Monte Carlo errors, from every part."""

from diffpipe.runtime import job_from_snakemake
from diffpipe.toys.run import run_toy_limit

run_toy_limit(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.model,
    settings=snakemake.params.settings,
    cl=snakemake.params.cl,
    points=snakemake.input.points,
    parts=list(snakemake.input.parts),
    rounds=len(snakemake.input.plans) - 1,
    output=snakemake.output.limit,
)
