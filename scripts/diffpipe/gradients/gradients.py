"""Gradient stage: one gradient, four ways (JAX, TensorFlow, analytic, finite differences).

Every configured function is evaluated at every configured point; the table has one row per
(function, point, component) with each method's value and the largest disagreement.
"""

import logging
import time

import numpy as np
import pandas as pd

from diffpipe.functions import TF_NAMESPACE, Objective, resolve
from diffpipe.runtime import import_tensorflow

log = logging.getLogger("diffpipe")

METHODS = ("jax", "tensorflow", "analytic", "finite_difference")


def jax_gradient(func: Objective, point: np.ndarray) -> np.ndarray:
    """Gradient by jax.grad in float64.

    Args:
        func: the function, called with jax.numpy.
        point: where (cast to float64).

    Returns:
        The gradient as a NumPy array.
    """
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    return np.asarray(jax.grad(lambda x: func.fn(x, jnp))(jnp.asarray(point, dtype=jnp.float64)))


def tf_gradient(func: Objective, point: np.ndarray) -> np.ndarray:
    """Gradient by TensorFlow's GradientTape in float64.

    Args:
        func: the function, called with the TensorFlow namespace.
        point: where (a tf.Variable the tape watches).

    Returns:
        The gradient, float64.
    """
    tf = import_tensorflow()

    x = tf.Variable(np.asarray(point, dtype=np.float64))
    with tf.GradientTape() as tape:
        y = func.fn(x, TF_NAMESPACE)
    return np.asarray(tape.gradient(y, x).numpy(), dtype=np.float64)


def central_difference(func: Objective, point: np.ndarray, rel_step: float | None = None) -> np.ndarray:
    """Central differences in float64.

    The step h = eps**(1/3) * max(1, |x_i|) balances truncation (O(h^2)) against rounding
    (O(eps/h)), leaving a relative error near eps**(2/3) ~ 4e-11.

    Args:
        func: the function.
        point: where.
        rel_step: relative step (default eps**(1/3)).

    Returns:
        The gradient estimate.
    """
    x = np.asarray(point, dtype=np.float64)
    rel = np.finfo(np.float64).eps ** (1.0 / 3.0) if rel_step is None else rel_step
    grad = np.empty_like(x)
    for i in range(x.size):
        h = rel * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        # Use the exactly representable step so (x+h)-(x-h) is what was evaluated.
        span = up[i] - down[i]
        grad[i] = (float(func.fn(up, np)) - float(func.fn(down, np))) / span
    return grad


def relative_difference(a: np.ndarray, b: np.ndarray, floor: float) -> np.ndarray:
    """|a - b| / max(|b|, floor): relative away from zero, absolute near it.

    Args:
        a: values.
        b: reference values.
        floor: smallest denominator.

    Returns:
        The differences.
    """
    return np.abs(a - b) / np.maximum(np.abs(b), floor)


def gradient_rows(
    label: str, func: Objective, point: np.ndarray, rtol: float, fd_rtol: float, floor: float
) -> list[dict]:
    """All methods at one point, as table rows (one per gradient component).

    Args:
        label: the function's name in the config.
        func: the function.
        point: where.
        rtol: tolerance of the autodiff backends against the reference.
        fd_rtol: tolerance of finite differences.
        floor: floor of the relative difference's denominator.

    Returns:
        One dict per component (columns of `artifacts.GradientTable`).
    """
    values = {
        "jax": jax_gradient(func, point),
        "tensorflow": tf_gradient(func, point),
        "analytic": func.gradient(np.asarray(point, float)) if func.gradient else None,
        "finite_difference": central_difference(func, point),
    }
    reference_name = "analytic" if values["analytic"] is not None else "jax"
    reference = values[reference_name]
    rows = []
    for i in range(len(point)):
        row = {
            "function": label,
            "definition": func.name,
            "point": "[" + ", ".join(f"{v:g}" for v in point) + "]",
            "component": i,
            "reference": reference_name,
        }
        abs_diffs, rel_diffs, passed = [0.0], [0.0], True
        for method in METHODS:
            value = values[method]
            row[method] = float(value[i]) if value is not None else np.nan
            if value is None or method == reference_name:
                continue
            abs_diffs.append(float(abs(value[i] - reference[i])))
            rel_diffs.append(float(relative_difference(value[i], reference[i], floor)))
            passed &= rel_diffs[-1] <= (fd_rtol if method == "finite_difference" else rtol)
        # np.max propagates NaN: a non-finite gradient is the worst case and never a pass.
        worst_abs, worst_rel = float(np.max(abs_diffs)), float(np.max(rel_diffs))
        row.update(max_abs_diff=worst_abs, max_rel_diff=worst_rel, passed=bool(passed))
        rows.append(row)
    return rows


def gradient_table(functions: dict, rtol: float, fd_rtol: float, floor: float) -> pd.DataFrame:
    """Every configured function at every configured point.

    Args:
        functions: the `gradients.functions` config.
        rtol: tolerance of the autodiff backends.
        fd_rtol: tolerance of finite differences.
        floor: floor of the relative difference's denominator.

    Returns:
        The gradient table.
    """
    rows: list[dict] = []
    for label, entry in functions.items():
        func = resolve(entry["function"])
        for point in entry["points"]:
            rows.extend(gradient_rows(label, func, np.asarray(point, float), rtol, fd_rtol, floor))
    return pd.DataFrame(rows)


def run_gradients(job, cfg: dict, output: str) -> None:
    """Rule `gradients`: write the gradient table of every configured function and point.

    Args:
        job: the `runtime.Job`.
        cfg: the `gradients` config section.
        output: path of gradients.csv.
    """
    from diffpipe.artifacts import GradientTable
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job

    with compute_job(job) as device:
        started = time.perf_counter()
        table = gradient_table(cfg["functions"], cfg["rtol"], cfg["fd_rtol"], cfg["abs_floor"])
        failed = table.loc[~table["passed"]]
        if len(failed):
            log.warning("%d gradient components disagree beyond tolerance:\n%s", len(failed), failed)
        prov = Provenance.record(cfg, device, time.perf_counter() - started)
        GradientTable(table=table, definition=cfg, provenance=prov).write(output)
