"""Rule toy_limit_part: one part of one μ point's toys (s+b and b), q̃μ of each."""

from diffpipe.runtime import job_from_snakemake
from diffpipe.toys.run import run_toy_limit_part

run_toy_limit_part(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.model,
    entry=snakemake.params.model,
    seed=snakemake.params.seed,
    size=snakemake.params.size,
    point=int(snakemake.wildcards.point),
    part=int(snakemake.wildcards.part),
    points=snakemake.input.points,
    test_statistic=snakemake.params.test_statistic,
    start=snakemake.params.start,
    output=snakemake.output.part,
)
