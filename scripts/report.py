"""Rule report: the self-contained HTML report from the declared artifacts."""

from diffpipe.report.build import run_report
from diffpipe.runtime import job_from_snakemake

run_report(
    job_from_snakemake(snakemake),
    inputs={key: value for key, value in snakemake.input.items()},
    config=snakemake.params.config,
    output=snakemake.output.html,
)
