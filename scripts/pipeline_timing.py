"""Rule pipeline_timing: clean, no-op and dry-run timings of whole configs in fresh copies."""

from diffpipe.benchmark.pipeline import run_pipeline_timing
from diffpipe.runtime import job_from_snakemake

pipeline = snakemake.params.pipeline
run_pipeline_timing(
    job_from_snakemake(snakemake),
    configs=pipeline["configs"],
    many_models=pipeline["many_models"],
    cores=pipeline["cores"],
    targets=snakemake.params.targets,
    output=snakemake.output.timing,
    notebook_script=snakemake.input.notebook_script,
    vs_notebook=snakemake.params.vs_notebook,
    profile=pipeline["profile_jobs"],
    plot_job_s=snakemake.params.plot_job_s,
)
