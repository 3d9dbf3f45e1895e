"""Rule toy_coverage: merge a model's toy shards into interval coverage and pulls."""

from diffpipe.runtime import job_from_snakemake
from diffpipe.toys.run import run_toy_coverage

run_toy_coverage(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.model,
    shards=list(snakemake.input.shards),
    output=snakemake.output.coverage,
)
