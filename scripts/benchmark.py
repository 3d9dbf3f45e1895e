"""Rule benchmark: fractal-backend and grid-scan timings."""

from diffpipe.benchmark.kernels import run_benchmark
from diffpipe.runtime import job_from_snakemake

run_benchmark(
    job_from_snakemake(snakemake),
    cfg=snakemake.params.benchmark,
    grid_model=snakemake.params.grid_model,
    outputs={"fractals": snakemake.output.fractals, "grid": snakemake.output.grid},
)
