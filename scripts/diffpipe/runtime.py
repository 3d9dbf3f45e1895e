"""Process set-up shared by the compute jobs: thread pools, float64, device choice.

Snakemake starts each job in its own Python process, so this runs once per job, before
JAX/XLA or TensorFlow create their thread pools (both initialise lazily, on first use).
"""

import contextlib
import logging
import os
import sys
from dataclasses import dataclass

log = logging.getLogger("diffpipe")


@dataclass(frozen=True)
class Device:
    """Where a job computes. `warning` is set when GPUs were requested but none is visible."""

    kind: str  # "cpu" or "gpu"
    description: str
    warning: str | None = None


def setup_logging(log_path: str | None) -> None:
    """Log to the console and, when given, to the job's log file (replacing earlier handlers).

    With a log file, the process's standard error (file descriptor 2) is redirected into it, so
    that everything a job prints there lands in its log: warnings and messages of native
    libraries (XLA, TensorFlow), and the traceback of an exception that ends the job. Log
    records still reach the console too.

    Args:
        log_path: the job's log file (None: the console only).
    """
    handlers: list[logging.Handler] = []
    if log_path:
        sys.stderr.flush()
        console = os.fdopen(os.dup(2), "w", buffering=1)
        with open(log_path, "w") as log_file:
            os.dup2(log_file.fileno(), 2)
        handlers.append(logging.StreamHandler(console))
    handlers.append(logging.StreamHandler(sys.stderr))  # fd 2: the log file when there is one
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=handlers,
        force=True,
    )
    # pyhf logs one INFO line per modifier of every model it builds (30 to 120 lines before
    # anything of the job's own); its warnings still come through.
    logging.getLogger("pyhf").setLevel(logging.WARNING)


def limit_threads(threads: int) -> None:
    """Bound every native thread pool by the rule's `threads:`.

    Must run before JAX's backend or TensorFlow's runtime start (both do so on first use).

    Args:
        threads: the rule's threads (at least 1 is used).
    """
    threads = max(1, int(threads))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ["NUMBA_NUM_THREADS"] = os.environ.get("NUMBA_NUM_THREADS", str(threads))
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (f"{flags} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()
    if "numba" in sys.modules:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def enable_float64() -> None:
    """Make JAX compute in float64 (before or after JAX was imported)."""
    os.environ["JAX_ENABLE_X64"] = "1"
    if "jax" in sys.modules:
        sys.modules["jax"].config.update("jax_enable_x64", True)


# XLA executables persist here and are shared by the jobs of a run and later runs: a fit and
# its grid scan compile many of the same pyhf kernels, and a rerun after a config edit skips
# most compiling (about 2 s per JAX job). Cached executables are the same programs, so the
# numbers do not change. Removed with .snakemake/.
COMPILE_CACHE = os.path.join(".snakemake", "jax-cache")


def enable_compilation_cache(folder: str = COMPILE_CACHE) -> None:
    """Share compiled XLA executables between the jobs of a run and later runs.

    Args:
        folder: the cache folder (default .snakemake/jax-cache).
    """
    settings = {
        "jax_compilation_cache_dir": os.path.abspath(folder),
        "jax_persistent_cache_min_compile_time_secs": 0,
        "jax_persistent_cache_min_entry_size_bytes": 0,
    }
    for key, value in settings.items():
        os.environ[key.upper()] = str(value)
    if "jax" in sys.modules:
        for key, value in settings.items():
            sys.modules["jax"].config.update(key, value)


def import_tensorflow():
    """Import TensorFlow without the Keras it loads eagerly (~1 s of a TF job's ~4 s start-up).

    TensorFlow's `__init__` imports `keras.src.optimizers` only to register optimizers for
    SavedModel loading and skips it when Keras cannot be imported; nothing here uses Keras or
    SavedModel. Keras is blocked only for that import, so `tf.keras` still loads when used.

    Returns:
        The `tensorflow` module.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    block = "keras" not in sys.modules
    if block:
        sys.modules["keras"] = None  # makes `import keras...` raise ImportError
    try:
        import tensorflow
    finally:
        if block and sys.modules.get("keras", False) is None:
            del sys.modules["keras"]
    return tensorflow


def peak_rss_mb() -> float:
    """This process's peak resident memory so far.

    Returns:
        MiB (Linux reports ru_maxrss in KiB).
    """
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _jax_gpus() -> list[str]:
    try:
        import jax

        return [str(d) for d in jax.devices("gpu")]
    except RuntimeError:
        return []


def choose_device(gpus_requested: int, uses_jax: bool = True) -> Device:
    """CPU unless the rule asked for GPUs and one is visible; warn when a requested GPU goes unused.

    With `gpu: 0` the GPUs are hidden from the process so that a CPU job never grabs one.

    Args:
        gpus_requested: the job's `resources.gpu`.
        uses_jax: False marks a CPU-only backend (the numba kernel).

    Returns:
        The `Device` (with a warning when GPUs were requested and not used).
    """
    if gpus_requested <= 0:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        os.environ["JAX_PLATFORMS"] = "cpu"
        return Device("cpu", "cpu")
    granted = os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")
    visible = _jax_gpus() if uses_jax else []
    if visible:
        return Device("gpu", ", ".join(visible))
    os.environ["JAX_PLATFORMS"] = "cpu"
    reason = "no GPU is visible to this job" if uses_jax else "this job's backend is a CPU kernel"
    warning = f"resources.gpu={gpus_requested} (CUDA_VISIBLE_DEVICES={granted}) but {reason}; falling back to CPU"
    log.warning(warning)
    return Device("cpu", "cpu (GPU requested, not used)", warning)


@dataclass(frozen=True)
class Job:
    """What a rule's entry script hands the library about its job.

    Attributes:
        rule: the rule's name.
        log: path of the job's log file (None: log to stderr only).
        threads: the rule's `threads:`.
        gpus: the job's `resources.gpu`.
    """

    rule: str
    log: str | None = None
    threads: int = 1
    gpus: int = 0


def remove_stale_partials(outputs: list[str]) -> None:
    """Remove temporary files an earlier, killed attempt of this job left beside its outputs.

    Args:
        outputs: the job's output paths (the job owns them: no other job writes there).
    """
    from diffpipe.storage import partial_files

    for output in outputs:
        for stale in partial_files(output):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
                log.info("removed %s, left by an interrupted earlier attempt", stale)


def job_from_snakemake(smk) -> Job:
    """Unpack the `snakemake` object of a script directive.

    Args:
        smk: the object Snakemake injects into a rule's script.

    Returns:
        The job's rule name, log file, threads and GPUs.
    """
    remove_stale_partials(list(smk.output))
    return Job(
        rule=smk.rule,
        log=smk.log[0] if smk.log else None,
        threads=int(smk.threads),
        gpus=int(getattr(smk.resources, "gpu", 0)),
    )


@contextlib.contextmanager
def logged(job: Job):
    """Log to the job's log file; an exception is logged with its traceback, then re-raised.

    Args:
        job: the job.

    Yields:
        Nothing; the body is the job's work.
    """
    setup_logging(job.log)
    try:
        yield
    except BaseException:
        log.exception("rule %s failed", job.rule)
        raise


@contextlib.contextmanager
def compute_job(job: Job, uses_jax: bool = True):
    """Preamble of every compute job: logging, thread pools, float64, compile cache, device.

    Args:
        job: the job.
        uses_jax: False for a CPU-only kernel (the numba fractal backend).

    Yields:
        The `Device` the job computes on.
    """
    with logged(job):
        limit_threads(job.threads)
        enable_float64()
        enable_compilation_cache()
        device = choose_device(job.gpus, uses_jax=uses_jax)
        log.info("rule %s: threads=%s device=%s", job.rule, job.threads, device.description)
        yield device
