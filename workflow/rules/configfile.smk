# The experiment's config file, checked before Snakemake reads it: a missing, unreadable, huge or
# malformed file gets one message naming it (and the line), instead of Snakemake's own, which
# names no file for a YAML error.
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

# The workflow's own package, first: here and in every job (Snakemake appends a script's folder
# to sys.path, after site-packages, where an installed diffpipe of another clone would win).
_PACKAGE_ROOT = str(Path(workflow.basedir).parent / "scripts")
sys.path.insert(0, _PACKAGE_ROOT)
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        [
            _PACKAGE_ROOT,
            *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)),
        ]
    )
)

from diffpipe.configcheck import ConfigError, experiment_file  # noqa: E402

try:
    CONFIG_FILE = experiment_file(config.get("experiment"))
except ConfigError as err:
    raise WorkflowError(f"Invalid configuration: {err}") from None
