"""Rule inference: CLs limits, significance, impacts, goodness of fit and yields of one model with a POI."""

from diffpipe.inference.run import run_inference
from diffpipe.runtime import job_from_snakemake

run_inference(
    job_from_snakemake(snakemake),
    name=snakemake.wildcards.model,
    entry=snakemake.params.model,
    settings=snakemake.params.settings,
    outputs=dict(snakemake.output),
)
