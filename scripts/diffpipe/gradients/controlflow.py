"""Gradients through Python control flow: the notebook's piecewise function.

    f(x) = x + sqrt(x) applied ten times   if x > 2
           cos(x**3)                       otherwise

The notebook differentiates it point by point (Python `if` on a concrete value works under
`jax.grad`) and then calls the gradient on an array, which raises: a Python `if` cannot
branch per element. The vectorised form below selects per element with `where` and keeps the
unused branch finite (sqrt of a negative number would poison the gradient with NaN even
where it is not selected).
"""

import time

import numpy as np
import pandas as pd

from diffpipe.runtime import import_tensorflow

THRESHOLD = 2.0
STEPS = 10


def f_python(x, xp):
    """The notebook's definition, with Python control flow; scalar input only.

    Args:
        x: a scalar (concrete, or traced by jax.grad).
        xp: array namespace.

    Returns:
        f(x).
    """
    if x > THRESHOLD:
        for _ in range(STEPS):
            x = x + xp.sqrt(x)
        return x
    return xp.cos(x**3)


def f_vectorised(x, xp):
    """Element-wise, traceable version (works under jax.vmap/jit and TF GradientTape).

    Args:
        x: array of points.
        xp: array namespace (numpy, jax.numpy or TF_NAMESPACE).

    Returns:
        f at every point.
    """
    upper = x > THRESHOLD
    safe = xp.where(upper, x, THRESHOLD + 1.0)  # keeps sqrt's argument positive everywhere
    for _ in range(STEPS):
        safe = safe + xp.sqrt(safe)
    return xp.where(upper, safe, xp.cos(x**3))


def analytic_derivative(x: np.ndarray) -> np.ndarray:
    """d/dx: product of (1 + 1/(2 sqrt(x_k))) along the steps, or -3x^2 sin(x^3).

    Args:
        x: points, on either side of the threshold.

    Returns:
        f'(x), float64.
    """
    x = np.asarray(x, dtype=np.float64)
    upper = x > THRESHOLD
    safe = np.where(upper, x, THRESHOLD + 1.0)
    slope = np.ones_like(x)
    for _ in range(STEPS):
        slope = slope * (1.0 + 0.5 / np.sqrt(safe))
        safe = safe + np.sqrt(safe)
    return np.where(upper, slope, -3.0 * x**2 * np.sin(x**3))


def jax_value_and_derivative(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One jit-compiled, vmapped value_and_grad over the whole grid.

    Args:
        x: grid points (float64).

    Returns:
        (f(x), f'(x)) from one XLA call.
    """
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    fn = jax.jit(jax.vmap(jax.value_and_grad(lambda v: f_vectorised(v, jnp))))
    value, deriv = fn(jnp.asarray(x, dtype=jnp.float64))
    return np.asarray(value), np.asarray(deriv)


def jax_pointwise_derivative(x: np.ndarray) -> np.ndarray:
    """The notebook's per-point loop over jax.grad of the Python-control-flow version.

    Args:
        x: grid points, each traced separately.

    Returns:
        f'(x), one jax.grad call per point.
    """
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    grad = jax.grad(lambda v: f_python(v, jnp))
    return np.asarray([float(grad(float(v))) for v in np.asarray(x, dtype=np.float64)])


def tf_value_and_derivative(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow: one GradientTape over the batch.

    Elements are independent, so the gradient of the sum is the element-wise derivative.

    Args:
        x: grid points, watched by the tape as one float64 tensor.

    Returns:
        (f(x), f'(x)) as NumPy arrays.
    """
    tf = import_tensorflow()

    from diffpipe.functions import TF_NAMESPACE

    xt = tf.constant(np.asarray(x, dtype=np.float64))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = f_vectorised(xt, TF_NAMESPACE)
    return y.numpy(), tape.gradient(y, xt).numpy()


def control_flow_table(start: float, stop: float, points: int) -> pd.DataFrame:
    """F and f' on a grid by every method.

    Args:
        start: first grid point.
        stop: last grid point.
        points: number of points.

    Returns:
        Columns x, f, df_jax_vmap, df_jax_pointwise, df_tensorflow, df_analytic, f_tensorflow.
    """
    x = np.linspace(start, stop, points)
    value, deriv = jax_value_and_derivative(x)
    tf_value, tf_deriv = tf_value_and_derivative(x)
    return pd.DataFrame(
        {
            "x": x,
            "f": value,
            "df_jax_vmap": deriv,
            "df_jax_pointwise": jax_pointwise_derivative(x),
            "df_tensorflow": tf_deriv,
            "df_analytic": analytic_derivative(x),
            "f_tensorflow": tf_value,
        }
    )


def backend_differences(table: pd.DataFrame) -> dict[str, float]:
    """Each derivative's largest difference from the analytic one over the grid.

    Args:
        table: `control_flow_table`'s columns.

    Returns:
        column -> max |df - df_analytic| / max(1, |df_analytic|) (absolute where f' is small).
    """
    scale = np.maximum(1.0, np.abs(table["df_analytic"]))
    return {
        col: float(np.max(np.abs(table[col] - table["df_analytic"]) / scale))
        for col in ("df_jax_vmap", "df_jax_pointwise", "df_tensorflow")
    }


def run_controlflow(job, cfg: dict, output: str) -> None:
    """Rule `controlflow`: f and f' of the piecewise function on the configured grid.

    Args:
        job: the `runtime.Job`.
        cfg: the `controlflow` config section (interval, points).
        output: path of controlflow.csv.
    """
    from diffpipe.artifacts import ControlFlowTable
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job

    with compute_job(job) as device:
        started = time.perf_counter()
        table = control_flow_table(cfg["interval"][0], cfg["interval"][1], cfg["points"])
        prov = Provenance.record(cfg, device, time.perf_counter() - started)
        ControlFlowTable(
            table=table,
            threshold=THRESHOLD,
            steps=STEPS,
            interval=list(cfg["interval"]),
            max_rel_diff=backend_differences(table),
            provenance=prov,
        ).write(output)
