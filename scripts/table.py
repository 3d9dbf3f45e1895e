"""Rule table: one model's yields, limits or ranking as LaTeX and Markdown tables."""

from diffpipe.runtime import job_from_snakemake
from diffpipe.tables.build import run_table

run_table(
    job_from_snakemake(snakemake),
    kind=snakemake.wildcards.table,
    inputs={key: value for key, value in snakemake.input.items() if key != "code"},
    top=snakemake.params.top,
    outputs={"md": snakemake.output.md, "tex": snakemake.output.tex},
)
