"""Registry of differentiable test functions shared by the JAX, TensorFlow and NumPy paths.

A function is written once as `f(x, xp)`: `x` is a 1-D array and `xp` an array namespace
(`numpy`, `jax.numpy` or `TF_NAMESPACE`) offering `sum`, `sqrt`, `cos`, `sin`, `exp`,
`log`, `where`, `arange`. Each backend calls the same body; no config value is evaluated as
code. A user function is named by an import path `package.module:function` with the same
signature.
"""

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from diffpipe.runtime import import_tensorflow

ArrayFn = Callable[..., object]


@dataclass(frozen=True)
class Objective:
    """A differentiable test function and what is known about it.

    Attributes:
        name: registry name or import path.
        fn: f(x, xp) -> scalar, one body for every array namespace.
        gradient: analytic gradient in NumPy float64 (None: unknown).
        minimum: known global minimum f* (None: unknown).
        minimiser: unique minimiser for a dimension (None: none unique or unknown).
        description: one line for tables and the report.
    """

    name: str
    fn: ArrayFn  # f(x, xp) -> scalar
    gradient: ArrayFn | None = None  # analytic gradient, NumPy float64: g(x) -> array
    minimum: float | None = None  # known global minimum value f*
    minimiser: Callable[[int], np.ndarray] | None = None  # unique minimiser for a dimension
    description: str = ""

    __test__ = False  # not a pytest test class


def shifted_square(x, xp):
    """The notebook's first example, (x - 1)**2, applied to the first component.

    Args:
        x: 1-D array (components after the first are ignored).
        xp: array namespace (numpy, jax.numpy or TF_NAMESPACE; unused).

    Returns:
        The scalar value.
    """
    return (x[0] - 1.0) ** 2


def _shifted_square_grad(x):
    g = np.zeros_like(x, dtype=float)
    g[0] = 2.0 * (x[0] - 1.0)
    return g


def sum_of_shifts_squared(x, xp):
    """The notebook's 4-d function ((x0-0)+(x1-1)+(x2-2)+(x3-3))**2.

    Its minima form the hyperplane sum(x) = 6 (f* = 0): no unique minimiser.

    Args:
        x: 1-D array of any length n (shifts 0..n-1).
        xp: array namespace providing `arange` and `sum`.

    Returns:
        The scalar value.
    """
    shifts = xp.arange(x.shape[0], dtype=x.dtype)
    return xp.sum(x - shifts) ** 2


def _sum_of_shifts_grad(x):
    s = np.sum(x - np.arange(x.shape[0]))
    return np.full(x.shape, 2.0 * s)


def rosenbrock(x, xp):
    """The Rosenbrock function, sum(100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2); minimum 0 at ones.

    Args:
        x: 1-D array with at least 2 components.
        xp: array namespace providing `sum`.

    Returns:
        The scalar value.
    """
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _rosenbrock_grad(x):
    g = np.zeros_like(x, dtype=float)
    inner = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * inner - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * inner
    return g


def ill_conditioned_weights(n: int, condition: float) -> np.ndarray:
    """Curvatures log-spaced from 1 to `condition` (the Hessian's condition number).

    Args:
        n: dimension.
        condition: largest / smallest curvature.

    Returns:
        The n weights.
    """
    return np.logspace(0.0, np.log10(condition), n) if n > 1 else np.ones(1)


def make_ill_conditioned_quadratic(condition: float) -> Objective:
    """0.5 * sum(w_i x_i^2) with curvatures w log-spaced from 1 to `condition`.

    Args:
        condition: the Hessian's condition number.

    Returns:
        The `Objective` (minimum 0 at the origin, analytic gradient).
    """

    def quadratic(x, xp):
        weights = xp.exp(xp.log(float(condition)) * xp.arange(x.shape[0], dtype=x.dtype) / max(x.shape[0] - 1, 1))
        return 0.5 * xp.sum(weights * x**2)

    def gradient(x):
        return ill_conditioned_weights(x.shape[0], condition) * x

    return Objective(
        name=f"ill_conditioned_quadratic(cond={condition:g})",
        fn=quadratic,
        gradient=gradient,
        minimum=0.0,
        minimiser=np.zeros,
        description=f"0.5 * sum(w_i x_i^2), w log-spaced 1..{condition:g}",
    )


def sin_cos_mix(x, xp):
    """A smooth non-polynomial check: sum(sin(x_i) * exp(cos(x_i)/2)).

    Args:
        x: 1-D array of any length.
        xp: array namespace providing `sum`, `sin`, `cos`, `exp`.

    Returns:
        The scalar value (no known minimum: not an optimizer problem).
    """
    return xp.sum(xp.sin(x) * xp.exp(xp.cos(x) / 2.0))


def _sin_cos_mix_grad(x):
    e = np.exp(np.cos(x) / 2.0)
    return np.cos(x) * e - 0.5 * np.sin(x) ** 2 * e


REGISTRY: dict[str, Objective] = {
    "shifted_square": Objective(
        "shifted_square",
        shifted_square,
        _shifted_square_grad,
        0.0,
        lambda n: np.ones(n),
        "(x0 - 1)^2",
    ),
    "sum_of_shifts_squared": Objective(
        "sum_of_shifts_squared",
        sum_of_shifts_squared,
        _sum_of_shifts_grad,
        0.0,
        None,
        "((x0-0)+(x1-1)+...)^2; minima on the hyperplane sum(x - i) = 0",
    ),
    "rosenbrock": Objective("rosenbrock", rosenbrock, _rosenbrock_grad, 0.0, np.ones, "Rosenbrock, minimum at ones"),
    "sin_cos_mix": Objective("sin_cos_mix", sin_cos_mix, _sin_cos_mix_grad, None, None, "sum(sin x exp(cos x / 2))"),
}


class FunctionLookupError(ValueError):
    """A function reference that names nothing callable."""


def resolve(name: str) -> Objective:
    """Registry name or `module:function` import path -> Objective.

    Args:
        name: a key of REGISTRY or `package.module:function` (f(x, xp) -> scalar).

    Returns:
        The `Objective` (user functions have no analytic gradient or known minimum).

    Raises:
        FunctionLookupError: unknown name, module not importable, or attribute not callable.
    """
    if name in REGISTRY:
        return REGISTRY[name]
    if ":" not in name:
        raise FunctionLookupError(f"unknown function {name!r}: use one of {sorted(REGISTRY)} or 'module:function'")
    module_name, _, attr = name.partition(":")
    # User modules may live in the project folder (the working directory of every job).
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise FunctionLookupError(f"cannot import module {module_name!r} for {name!r}: {err}") from err
    except (Exception, SystemExit) as err:  # a user module that fails while it is imported
        raise FunctionLookupError(
            f"importing module {module_name!r} for {name!r} raised {type(err).__name__}: {err}"
        ) from err
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise FunctionLookupError(f"{module_name!r} has no callable {attr!r}")
    return Objective(name=name, fn=fn, description=f"user function {name}")


class _TFNamespace:
    """The subset of the array API the registry uses, mapped onto TensorFlow."""

    def __getattr__(self, item):
        tf = import_tensorflow()

        table = {
            "sum": tf.reduce_sum,
            "sqrt": tf.sqrt,
            "cos": tf.cos,
            "sin": tf.sin,
            "exp": tf.exp,
            "log": tf.math.log,
            "where": tf.where,
            "arange": lambda n, dtype=None: tf.range(n, dtype=dtype),
        }
        try:
            return table[item]
        except KeyError:
            raise AttributeError(item) from None


TF_NAMESPACE = _TFNamespace()
