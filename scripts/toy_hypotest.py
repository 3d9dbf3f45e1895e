"""Rule toy_hypotest: toy-based CLs (q̃μ) on a POI grid and the toy-based upper limits."""

from diffpipe.runtime import job_from_snakemake
from diffpipe.toys.run import run_toy_hypotest

run_toy_hypotest(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.model,
    entry=snakemake.params.model,
    settings=snakemake.params.settings,
    seed=snakemake.params.seed,
    cl=snakemake.params.cl,
    test_statistic=snakemake.params.test_statistic,
    start=snakemake.params.start,
    output=snakemake.output.cls,
)
