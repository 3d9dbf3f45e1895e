"""Rule fractal: escape counts of one configured fractal."""

from diffpipe.fractals.render import run_fractal
from diffpipe.runtime import job_from_snakemake

run_fractal(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.fractal,
    entry=snakemake.params.fractal,
    output=snakemake.output.counts,
)
