"""Time the whole pipeline: a clean `snakemake --cores 2` run in a fresh copy of the project,
then a no-op rerun, for the default config and for config/notebook.yaml (the seed notebook's own
scope). Used by `make bench`; writes a JSON file that the report shows. Targets (issue tracker):
a clean run within the notebook's own ~28 s run as one script, a no-op rerun <= 3 s.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"clean_run_s": 28.0, "noop_rerun_s": 3.0}
PROJECT_PARTS = ("workflow", "scripts", "config", "profiles", "resources", "environment.yml")


def copy_project(dest: Path) -> None:
    for name in PROJECT_PARTS:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / name)


def timed_run(workdir: Path, cores: int) -> float:
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    started = time.perf_counter()
    subprocess.run([snakemake, "--cores", str(cores)], cwd=workdir, check=True, capture_output=True, timeout=1800)
    return time.perf_counter() - started


def measure(config: str, cores: int = 2) -> dict:
    with tempfile.TemporaryDirectory(prefix="diffpipe-bench-") as tmp:
        workdir = Path(tmp)
        copy_project(workdir)
        shutil.copy(ROOT / "config" / config, workdir / "config" / "config.yaml")
        clean = timed_run(workdir, cores)
        noop = timed_run(workdir, cores)
    result = {"config": config, "cores": cores, "clean_run_s": round(clean, 2), "noop_rerun_s": round(noop, 2)}
    for key, target in TARGETS.items():
        result[f"{key}_target"] = target
        result[f"{key}_met"] = result[key] <= target
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "scripts"))
    from artifacts import write_json

    result = [measure(config, args.cores) for config in ("config.yaml", "notebook.yaml")]
    write_json(args.out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
