"""Rule grid_table: a signal grid's limits per point as LaTeX and Markdown tables."""

from diffpipe.runtime import job_from_snakemake
from diffpipe.tables.build import run_table

run_table(
    job_from_snakemake(snakemake),
    kind="grid",
    inputs={"limits": snakemake.input.limits},
    top=None,
    outputs={"md": snakemake.output.md, "tex": snakemake.output.tex},
)
