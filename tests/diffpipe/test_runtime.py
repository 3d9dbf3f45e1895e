import os

from diffpipe import runtime


def test_cpu_jobs_hide_gpus(monkeypatch):
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    device = runtime.choose_device(0)
    assert device.kind == "cpu" and device.warning is None
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""


def test_requested_gpu_that_cannot_be_used_falls_back_with_a_warning(monkeypatch):
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    device = runtime.choose_device(1, uses_jax=False)
    assert device.kind == "cpu"
    assert "CUDA_VISIBLE_DEVICES=3" in device.warning and "falling back to CPU" in device.warning
    device = runtime.choose_device(1, uses_jax=True)  # CPU-only jaxlib here: no GPU visible
    assert "no GPU is visible" in device.warning


def test_thread_limits_reach_every_pool(monkeypatch):
    # setenv first, so monkeypatch restores the environment the later tests started with
    for var in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "TF_NUM_INTRAOP_THREADS",
        "TF_NUM_INTEROP_THREADS",
        "NUMBA_NUM_THREADS",
        "JAX_PLATFORMS",
    ):
        monkeypatch.setenv(var, os.environ.get(var, "2"))
    monkeypatch.setenv("XLA_FLAGS", "")
    runtime.limit_threads(1)
    assert os.environ["OMP_NUM_THREADS"] == os.environ["TF_NUM_INTRAOP_THREADS"] == "1"
    assert "intra_op_parallelism_threads=1" in os.environ["XLA_FLAGS"]


def test_a_failing_job_logs_its_exception_and_native_stderr_to_its_log_file(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    log = tmp_path / "job.log"
    stale = tmp_path / ".out.csv.partial-host-1.csv"
    stale.write_text("half")
    script = f"""
import os, types
from diffpipe.runtime import job_from_snakemake, logged
smk = types.SimpleNamespace(rule="demo", log=[{str(log)!r}], threads=1, resources=types.SimpleNamespace(gpu=0),
                            output=[{str(tmp_path / "out.csv")!r}])
with logged(job_from_snakemake(smk)):
    os.write(2, b"native library message\\n")
    raise RuntimeError("the job broke")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "scripts"), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    text = log.read_text()
    assert "native library message" in text
    assert "rule demo failed" in text and "RuntimeError: the job broke" in text and "Traceback" in text
    assert "rule demo failed" in result.stderr  # the console sees the log record too
    assert not stale.exists()  # an earlier attempt's temporary file is removed when the job starts


def test_a_job_log_holds_pyhf_warnings_but_not_its_line_per_modifier(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    log = tmp_path / "job.log"
    script = f"""
import logging, pyhf
from diffpipe.runtime import setup_logging
setup_logging({str(log)!r})
pyhf.simplemodels.uncorrelated_background([5.0], [10.0], [3.5])  # pyhf logs "adding modifier ..."
logging.getLogger("pyhf.pdf").warning("a pyhf warning")
logging.getLogger("diffpipe").info("the job's own line")
"""
    env = {"PYTHONPATH": str(ROOT / "scripts"), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    text = log.read_text()
    assert "the job's own line" in text and "a pyhf warning" in text and "adding modifier" not in text


def test_tensorflow_is_imported_without_keras_and_keras_still_loads_when_used():
    import subprocess
    import sys

    from conftest import ROOT

    script = """
import sys
from diffpipe.runtime import import_tensorflow
tf = import_tensorflow()
assert not any(name == "keras" or name.startswith("keras.") for name in sys.modules), "keras was imported"
assert "keras" not in sys.modules  # the block is lifted after the import
x = tf.Variable(3.0)
with tf.GradientTape() as tape:
    y = (x - 1.0) ** 2
assert float(tape.gradient(y, x)) == 4.0
assert import_tensorflow() is tf
import keras  # a job that wants Keras can still have it
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "scripts"), "PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"
