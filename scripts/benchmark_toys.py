"""Rule benchmark_toys: pseudo-experiments per second against pyhf's ToyCalculator."""

from diffpipe.benchmark.inference import run_benchmark_toys
from diffpipe.runtime import job_from_snakemake

run_benchmark_toys(
    job_from_snakemake(snakemake),
    models=snakemake.params.models,
    n_ours=snakemake.params.n_ours,
    n_pyhf=snakemake.params.n_pyhf,
    timeout_s=snakemake.params.timeout_s,
    targets=snakemake.params.targets,
    output=snakemake.output.table,
)
