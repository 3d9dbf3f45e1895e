"""Gradient stage: one gradient, four ways (JAX, TensorFlow, analytic, finite differences).

Every configured function is evaluated at every configured point; the table has one row per
(function, point, component) with each method's value and the largest disagreement.
"""


import logging
import time

import numpy as np
import pandas as pd

from functions import TF_NAMESPACE, TestFunction, resolve

log = logging.getLogger("diffpipe")

METHODS = ("jax", "tensorflow", "analytic", "finite_difference")


def jax_gradient(func: TestFunction, point: np.ndarray) -> np.ndarray:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    return np.asarray(jax.grad(lambda x: func.fn(x, jnp))(jnp.asarray(point, dtype=jnp.float64)))


def tf_gradient(func: TestFunction, point: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    x = tf.Variable(np.asarray(point, dtype=np.float64))
    with tf.GradientTape() as tape:
        y = func.fn(x, TF_NAMESPACE)
    return np.asarray(tape.gradient(y, x).numpy(), dtype=np.float64)


def central_difference(func: TestFunction, point: np.ndarray, rel_step: float | None = None) -> np.ndarray:
    """Central differences in float64.

    The step h = eps**(1/3) * max(1, |x_i|) balances truncation (O(h^2)) against rounding
    (O(eps/h)), leaving a relative error near eps**(2/3) ~ 4e-11.
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
    return np.abs(a - b) / np.maximum(np.abs(b), floor)


def gradient_rows(
    label: str, func: TestFunction, point: np.ndarray, rtol: float, fd_rtol: float, floor: float
) -> list[dict]:
    """All methods at one point, as table rows (one per gradient component)."""
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
        worst_rel, worst_abs, passed = 0.0, 0.0, True
        for method in METHODS:
            value = values[method]
            row[method] = float(value[i]) if value is not None else np.nan
            if value is None or method == reference_name:
                continue
            abs_diff = float(abs(value[i] - reference[i]))
            rel_diff = float(relative_difference(value[i], reference[i], floor))
            worst_abs, worst_rel = max(worst_abs, abs_diff), max(worst_rel, rel_diff)
            passed &= rel_diff <= (fd_rtol if method == "finite_difference" else rtol)
        row.update(max_abs_diff=worst_abs, max_rel_diff=worst_rel, passed=bool(passed))
        rows.append(row)
    return rows


def gradient_table(functions: dict, rtol: float, fd_rtol: float, floor: float) -> pd.DataFrame:
    rows: list[dict] = []
    for label, spec in functions.items():
        func = resolve(spec["function"])
        for point in spec["points"]:
            rows.extend(gradient_rows(label, func, np.asarray(point, float), rtol, fd_rtol, floor))
    return pd.DataFrame(rows)


def main(smk) -> None:
    from artifacts import write_csv, write_provenance
    from runtime import start_job

    device = start_job(smk)
    start = time.perf_counter()
    cfg = smk.params.gradients
    table = gradient_table(
        cfg["functions"], cfg["rtol"], cfg["fd_rtol"], cfg["abs_floor"]
    )
    failed = table.loc[~table["passed"]]
    if len(failed):
        log.warning("%d gradient components disagree beyond tolerance:\n%s", len(failed), failed)
    write_provenance(smk.output.table, cfg, device, time.perf_counter() - start)
    write_csv(smk.output.table, table)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
