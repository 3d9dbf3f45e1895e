"""Rule hepdata: the run's results as a HEPData submission (hepdata_lib), validated."""

from diffpipe.hepdata.record import run_hepdata
from diffpipe.runtime import job_from_snakemake

run_hepdata(
    job_from_snakemake(snakemake),
    inputs={
        kind: list(snakemake.input[kind])
        for kind in ("grids", "contours", "yields", "limits", "impacts", "sensitivity")
    },
    settings=snakemake.params.settings,
    output=snakemake.output.record,
    archive=snakemake.output.archive,
)
