"""Optimizer problems: the function to minimise, its starts and what is known of its minimum.

A problem is a registry or user function (`function`) or the negative log-likelihood of a
likelihood model (`likelihood_model`, its f* and minimiser from that model's fit); its starts
are expanded by `diffpipe.starts`.
"""

from dataclasses import dataclass, field

import numpy as np

from diffpipe.starts import expand_starts

F_BEST_SOURCE = "none known: f_best, the lowest f found by any method from any start"
F_BEST_NOTE = "no known minimum: gaps are f - f_best, f_best the lowest f any run found"


@dataclass
class Problem:
    """A function to minimise and what is known about its minimum.

    Attributes:
        name: the problem's name in the config.
        fn: JAX-traceable scalar function of a 1-D float64 array.
        fstar: the known minimum f* that gaps are measured against (None: none known; gaps
            are measured against the best f found, f_best).
        minimiser: the unique minimiser (None: none unique; distances are not reported).
        note: what the table and report should say about the problem.
        numpy_fn: the same f in NumPy (about 30x cheaper per call than a jit dispatch).
        definition: the problem's definition, recorded in its artifacts.
        starts: the start points (configured starts expanded).
    """

    name: str
    fn: object
    fstar: float | None
    minimiser: np.ndarray | None
    note: str = ""
    numpy_fn: object = None
    definition: dict = field(default_factory=dict)
    starts: list = field(default_factory=list)


def build_problem(name: str, entry: dict, fit=None) -> Problem:
    """The problem a config entry names.

    Args:
        name: the problem's name.
        entry: its `optimizers.problems` entry (function or likelihood_model, starts, condition).
        fit: the `artifacts.FitResult` of the problem's likelihood model (likelihood problems
            only): the model definition and the reference minimum come from it.

    Returns:
        The `Problem`.
    """
    import jax.numpy as jnp

    from diffpipe.functions import make_ill_conditioned_quadratic, resolve

    where = f"optimizers.problems.{name}"
    if entry.get("likelihood_model"):
        from diffpipe.compiled import nll_function
        from diffpipe.models import build_model
        from diffpipe.runtime import enable_float64

        enable_float64()
        model, data = build_model(fit.definition)
        full_nll = nll_function(model, data)
        free = np.array([fit.all_parameters.index(n) for n in fit.parameters], dtype=int)
        base = jnp.asarray(fit.bestfit_all, dtype=float)  # fixed parameters stay at their values

        def nll(x):
            return full_nll(base.at[free].set(x))

        x_hat = np.asarray(fit.bestfit, float)
        starts = expand_starts(entry, where, np.asarray(model.config.suggested_init(), float)[free])
        definition = {"name": name, "starts": starts, "dimension": len(starts[0])}
        definition.update(
            function=f"-ln L of likelihood model {fit.model!r} over its {len(free)} free parameters",
            description="negative log-likelihood (HistFactory kernel)",
            fstar=float(fit.twice_nll) / 2.0,
            fstar_source=f"fit of model {fit.model!r} (MINUIT + Newton polish), likelihood/{fit.model}/fit.json",
            minimiser=x_hat.tolist(),
        )
        note = "negative log-likelihood; fixed parameters held at their values"
        return Problem(name, nll, float(fit.twice_nll) / 2.0, x_hat, note, None, definition, starts)
    starts = expand_starts(entry, where)
    dim = len(starts[0])
    definition = {"name": name, "starts": starts, "dimension": dim}
    if entry["function"] == "ill_conditioned_quadratic":
        func = make_ill_conditioned_quadratic(entry["condition"])
    else:
        func = resolve(entry["function"])
    minimiser = func.minimiser(dim) if func.minimiser is not None else None
    if "fstar" in entry:
        fstar, source = float(entry["fstar"]), f"config key optimizers.problems.{name}.fstar"
    elif func.minimum is not None:
        fstar, source = float(func.minimum), "known minimum of the registry function"
    else:
        fstar, source = None, F_BEST_SOURCE
    notes = []
    if minimiser is None:
        notes.append("no unique minimiser known: distance not defined")
    if fstar is None:
        notes.append(F_BEST_NOTE)
    definition.update(
        function=entry["function"],
        description=func.description,
        fstar=fstar,
        fstar_source=source,
        minimiser=minimiser.tolist() if minimiser is not None else None,
    )
    return Problem(
        name,
        lambda x: func.fn(x, jnp),
        fstar,
        minimiser,
        "; ".join(notes),
        lambda x: float(func.fn(x, np)),
        definition,
        starts,
    )
