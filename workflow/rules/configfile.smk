# The experiment's config file, checked before Snakemake reads it: a missing, unreadable, huge or
# malformed file gets one message naming it (and the line), instead of Snakemake's own, which
# names no file for a YAML error.
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

sys.path.insert(0, str(Path(workflow.basedir).parent / "scripts"))

from diffpipe.configcheck import ConfigError, experiment_file  # noqa: E402

try:
    CONFIG_FILE = experiment_file(config.get("experiment"))
except ConfigError as err:
    raise WorkflowError(f"Invalid configuration: {err}") from None
