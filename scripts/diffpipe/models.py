"""Build a pyhf model and its dataset from a config entry (simple counting model or workspace).

Shared by the likelihood stage, the optimizer comparison and the benchmark, so a model is
defined in exactly one place.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class ModelError(ValueError):
    """A model entry that cannot be built; `key` is the config key (below the model) at fault."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@dataclass
class ModelSpec:
    """Everything a fit needs besides the model itself."""

    par_names: list[str]
    init: np.ndarray
    bounds: list[tuple[float, float]]
    fixed: list[bool]


def use_jax_backend() -> None:
    """Switch pyhf to its jax backend in float64 (must precede building models in a process)."""
    import jax
    import pyhf

    jax.config.update("jax_enable_x64", True)
    pyhf.set_backend("jax", precision="64b")


def build_model(spec: Mapping):
    """Build a model entry's pyhf model and the dataset it is fitted to.

    Args:
        spec: a `likelihood.models` entry (`simple` or `workspace`, `data`, ...).

    Returns:
        (pyhf model, data as a float64 NumPy array: main + auxiliary).

    Raises:
        ModelError: an unknown measurement or parameter, or observed data of a simple model.
    """
    import pyhf

    if "simple" in spec:
        simple = spec["simple"]
        model = pyhf.simplemodels.uncorrelated_background(
            signal=list(simple["signal"]),
            bkg=list(simple["background"]),
            bkg_uncertainty=list(simple["background_uncertainty"]),
        )
        observed = None
    else:
        workspace = pyhf.Workspace(json.loads(Path(spec["workspace"]).read_text()))
        measurements = list(workspace.measurement_names)
        measurement = spec.get("measurement")
        if measurement is not None and measurement not in measurements:
            raise ModelError("measurement", f"unknown measurement {measurement!r}; valid: {measurements}")
        model = workspace.model(measurement_name=measurement)
        observed = workspace.data(model)

    if spec.get("data", "asimov") == "observed":
        if observed is None:
            raise ModelError("data", "a simple model has no observed data; use data: asimov")
        data = np.asarray(observed, dtype=np.float64)
    else:
        pars = np.asarray(model.config.suggested_init(), dtype=np.float64)
        names = list(model.config.par_names)
        for name, value in spec.get("asimov_parameters", {}).items():
            if name not in names:
                raise ModelError(f"asimov_parameters.{name}", f"unknown parameter; valid: {names}")
            pars[names.index(name)] = value
        data = np.asarray(model.expected_data(pars), dtype=np.float64)
    return model, data


def model_spec(model, bounds_override: Mapping | None = None) -> ModelSpec:
    """Names, initial values, bounds and fixed flags of a model's parameters.

    Args:
        model: a pyhf model.
        bounds_override: parameter name -> [low, high] replacing pyhf's suggestion.

    Returns:
        The `ModelSpec`.
    """
    names = list(model.config.par_names)
    bounds = [tuple(map(float, b)) for b in model.config.suggested_bounds()]
    for name, bound in (bounds_override or {}).items():
        if name not in names:
            raise ModelError(f"bounds.{name}", f"unknown parameter; valid: {names}")
        bounds[names.index(name)] = (float(bound[0]), float(bound[1]))
    return ModelSpec(
        par_names=names,
        init=np.asarray(model.config.suggested_init(), dtype=np.float64),
        bounds=bounds,
        fixed=[bool(f) for f in model.config.suggested_fixed()],
    )


def nll_function(model, data):
    """-ln L as a JAX-traceable scalar function (the jax backend must be active).

    Args:
        model: a pyhf model.
        data: its dataset.

    Returns:
        nll(pars) -> scalar.
    """
    import jax.numpy as jnp

    data_j = jnp.asarray(data)

    def nll(pars):
        return -model.logpdf(pars, data_j)[0]

    return nll


def make_grid_evaluator(model, data, base: np.ndarray, ix: int, iy: int, with_grad: bool = False):
    """Ln L over many (x, y) points in one compiled call, other parameters fixed at `base`.

    Args:
        model: a pyhf model (jax backend).
        data: its dataset.
        base: every parameter's value; entries `ix` and `iy` are replaced per point.
        ix: index of the parameter on the x axis.
        iy: index of the parameter on the y axis.
        with_grad: also return d ln L / d(x, y).

    Returns:
        f(xs, ys) -> ln L per point (with_grad: (ln L, gradient of shape (n, 2))).
    """
    import jax
    import jax.numpy as jnp

    base_j = jnp.asarray(base)
    data_j = jnp.asarray(data)

    def lnl(xy):
        pars = base_j.at[ix].set(xy[0]).at[iy].set(xy[1])
        return model.logpdf(pars, data_j)[0]

    inner = jax.value_and_grad(lnl) if with_grad else lnl
    batched = jax.jit(jax.vmap(inner))
    return lambda xs, ys: batched(jnp.stack([xs, ys], axis=-1))
