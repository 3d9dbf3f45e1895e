"""The `diffpipe` command's experiments: model entries from its arguments, checked, written, run.

An experiment is a config file under results/experiments/ that plain Snakemake reruns; it is
checked as the workflow checks its config before it is written, and a bad argument is a
`Refused`: one line naming it, exit status 2.
"""

from __future__ import annotations

import copy
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import click

# The project: workflow/ and config/ beside the package's folder (scripts/diffpipe).
# The project: workflow/ and config/ beside the package's folder (scripts/diffpipe).
ROOT = Path(__file__).resolve().parents[2]


SNAKEFILE = ROOT / "workflow" / "Snakefile"


SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


EXPERIMENTS = Path("results") / "experiments"


USAGE_ERROR = 2


class Refused(click.ClickException):
    """A bad argument: one line naming it, exit status 2 (as a usage error), nothing written."""

    exit_code = USAGE_ERROR

    def show(self, file=None) -> None:
        """Print the one line on standard error.

        Args:
            file: unused (click's signature): the line goes to standard error.
        """
        click.echo(f"diffpipe: error: {self.format_message()}", err=True)


def entry_name(*parts: str) -> str:
    """A config entry name from file stems and patch names: Snakemake- and schema-safe, stable.

    Args:
        parts: the pieces (a workspace's stem, a patch's name).

    Returns:
        `[A-Za-z][A-Za-z0-9_-]*`, at most 64 characters (longer ones end in a digest).
    """
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", "_".join(p for p in parts if p)).strip("_-") or "model"
    if not name[0].isalpha():
        name = f"m_{name}"
    if len(name) > 64:
        name = f"{name[:55]}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return name


def existing_file(path: str | None, option: str) -> str | None:
    """An argument naming a file, checked.

    Args:
        path: the argument (None: not given).
        option: the argument's name, for the message.

    Returns:
        The file's absolute path (None where not given).

    Raises:
        Refused: no such file.
    """
    if path is None:
        return None
    full = Path(path).expanduser().resolve()
    if not full.is_file():
        what = "a folder, not a file" if full.is_dir() else "not found"
        raise Refused(f"{option} {path}: {what}")
    return str(full)


def model_entry(workspace: str, patchset: str | None, patch: str | None, patch_file: str | None, measurement, data):
    """A `likelihood.models` entry from the command's arguments (files as absolute paths).

    Args:
        workspace: the workspace file.
        patchset: a patchset file (with `patch`), or None.
        patch: the patch's name, or None.
        patch_file: a plain JSON Patch file, or None.
        measurement: the measurement's name (None: the workspace's first).
        data: "observed" or "asimov".

    Returns:
        (its name, the entry).

    Raises:
        Refused: a file is missing or a folder, or --patchset without --patch.
    """
    entry = {"workspace": existing_file(workspace, "workspace"), "data": data}
    if (patchset is None) != (patch is None):
        raise Refused("--patchset and --patch go together (or give a plain JSON Patch with --patch-file)")
    if patchset is not None:
        entry.update(patchset=existing_file(patchset, "--patchset"), patch=patch)
    if patch_file is not None:
        entry["patch_file"] = existing_file(patch_file, "--patch-file")
    if measurement is not None:
        entry["measurement"] = measurement
    name = entry_name(Path(workspace).stem, patch or "", Path(patch_file).stem if patch_file else "")
    return name, entry


def checked(config: dict, experiment: str) -> dict:
    """The config as the workflow will see it, checked the same way (its cache shared).

    Args:
        config: the experiment's config.
        experiment: the value of `experiment` the run will be given.

    Returns:
        The checked config, defaults filled.

    Raises:
        Refused: the first problem the checks find, naming its key or file.
    """
    from diffpipe.configcheck import ConfigError, check_config

    full = copy.deepcopy({**config, "experiment": experiment})
    try:
        check_config(full, SCHEMA, str(Path(".snakemake") / "diffpipe-checks"))
    except ConfigError as err:
        raise Refused(str(err)) from None
    return full


def write_experiment(name: str, config: dict) -> str:
    """Write (when it changed) the experiment file of a command under results/experiments/.

    Args:
        name: the file's stem.
        config: the experiment.

    Returns:
        Its path, relative to the working folder.
    """
    import yaml

    from diffpipe.storage import write_text

    path = EXPERIMENTS / f"{name}.yaml"
    text = "# written by the diffpipe command line; rerun with: snakemake --cores 2 --config experiment=" + str(path)
    text += "\n" + yaml.safe_dump(config, sort_keys=True)
    if not path.is_file() or path.read_text() != text:
        write_text(path, text)
    return str(path)


def snakemake(targets: list[str], experiment: str | None, cores: str, profile: str | None) -> None:
    """Run Snakemake on the targets in the working folder; its exit status ends the command.

    Args:
        targets: the files wanted (none: the experiment's default target).
        experiment: the `experiment` value (None: config/config.yaml).
        cores: `--cores`.
        profile: a Snakemake profile (e.g. profiles/slurm), or None.
    """
    cmd = [sys.executable, "-m", "snakemake", *targets, "--snakefile", str(SNAKEFILE), "--cores", cores]
    if profile:
        cmd += ["--profile", profile]
    if experiment is not None:  # last: --config takes every argument after it
        cmd += ["--config", f"experiment={experiment}"]
    try:
        rc = subprocess.run(cmd, check=False, stdout=sys.stderr).returncode  # stdout: the result alone
    except KeyboardInterrupt:  # Snakemake got the same Ctrl-C and stopped its jobs
        raise SystemExit(130) from None
    if rc != 0:
        raise SystemExit(rc)
