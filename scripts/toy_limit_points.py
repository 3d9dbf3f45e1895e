"""Rule toy_limit_points: the toy-based limit's μ points, the data's q̃μ and what toys are drawn at."""

from diffpipe.runtime import job_from_snakemake
from diffpipe.toys.run import run_toy_limit_points

run_toy_limit_points(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.model,
    entry=snakemake.params.model,
    settings=snakemake.params.settings,
    limits=snakemake.input.limits,
    test_statistic=snakemake.params.test_statistic,
    output=snakemake.output.points,
)
