"""Build a pyhf model and its dataset from a config entry (simple counting model or workspace).

Shared by the likelihood stage, the grid scan and the optimizer comparison, so a model is
defined in exactly one place.
"""


import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class ModelError(ValueError):
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
    poi_index: int | None


def use_jax_backend() -> None:
    """pyhf's jax backend in float64 (must precede building models in this process)."""
    import jax
    import pyhf

    jax.config.update("jax_enable_x64", True)
    pyhf.set_backend("jax", precision="64b")


def build_model(spec: Mapping):
    """Return (model, data) for a config entry; data as a float64 NumPy array."""
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
        poi_index=model.config.poi_index,
    )


def nll_function(model, data):
    """Return nll(pars) = -lnL as a JAX-traceable scalar function (jax backend required)."""
    import jax.numpy as jnp

    data_j = jnp.asarray(data)

    def nll(pars):
        return -model.logpdf(pars, data_j)[0]

    return nll
