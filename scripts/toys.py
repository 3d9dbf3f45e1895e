"""Rule toys: sample one shard of pseudo-experiments from the full pdf and fit each toy twice."""

from diffpipe.runtime import job_from_snakemake
from diffpipe.toys.run import run_toys

run_toys(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.model,
    entry=snakemake.params.model,
    toys=snakemake.params.toys,
    start=snakemake.params.start,
    stop=snakemake.params.stop,
    output=snakemake.output.shard,
)
