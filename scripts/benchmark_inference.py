"""Rule benchmark_inference: ranking, limits and signal-grid timings against cabinetry and pyhf."""

from diffpipe.benchmark.inference import run_benchmark_inference
from diffpipe.runtime import job_from_snakemake

run_benchmark_inference(
    job_from_snakemake(snakemake),
    models=snakemake.params.models,
    signal_grid=snakemake.params.signal_grid,
    patch=snakemake.params.patch,
    timeout_s=snakemake.params.timeout_s,
    gradient_models=snakemake.params.gradient_models,
    output=snakemake.output.table,
)
