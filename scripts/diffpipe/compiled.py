"""A pyhf model's compiled HistFactory kernel and the functions built on it.

`kernel(model)` lays a model out once (`histfactory.HistFactory`, cached on the model); the
functions here take (parameters, data, derived) with `derived` the kernel's derived numbers
(`HistFactory.derive`; None: the model's own), so one compiled function serves every patch of a
signal grid. The fits themselves are `fitting.Fitter`'s.
"""

import functools

import numpy as np

from diffpipe.workspaces import ModelError


def kernel(model):
    """The model's compiled HistFactory kernel (`diffpipe.histfactory`), built once per model.

    Args:
        model: a pyhf model.

    Returns:
        The `HistFactory`.

    Raises:
        ModelError: the model uses a construct the kernel does not lay out.
    """
    from diffpipe.histfactory import HistFactory, KernelError

    found = getattr(model, "_diffpipe_kernel", None)
    if found is None:
        try:
            found = HistFactory(model)
        except KernelError as err:
            raise ModelError("workspace", f"the model cannot be compiled: {err}") from None
        model._diffpipe_kernel = found
    return found


def make_nll(model):
    """-ln L(pars, data, derived) of a pyhf model, evaluated by its HistFactory kernel.

    `derived` is the kernel's derived pytree (`HistFactory.derive` of a specification's
    numbers); None means the model's own. One compiled function serves every patch of a
    signal grid with the model's structure, whatever numbers the patch changes.

    Args:
        model: a pyhf model.

    Returns:
        The function.
    """
    hf = kernel(model)
    return _derived_last(hf, hf.nll, 2)


def _derived_last(hf, method, arity: int):
    """`method(*args, derived)` with the derived argument optional (None: the model's own)."""

    def call(*args):
        derived = args[arity] if len(args) > arity else None
        return method(*args[:arity], hf.default() if derived is None else derived)

    return call


def make_derivatives(model):
    """(-ln L, gradient, Hessian)(pars, data, derived) from the kernel's structured derivatives.

    Args:
        model: a pyhf model.

    Returns:
        The function (`derived` as in `make_nll`).
    """
    hf = kernel(model)
    return _derived_last(hf, hf.nll_grad_hess, 2)


def make_solver(model, bounds):
    """The model's compiled bounded Newton fits: its kernel's nll, structured derivatives and domain.

    Batched fits step with the kernel's Hessian in float32 products (see `Solver`'s `curvature`).

    Args:
        model: a pyhf model.
        bounds: (npars, 2) parameter bounds.

    Returns:
        The `diffpipe.solver.Solver`.
    """
    import numpy as np

    from diffpipe.solver import Solver

    hf = kernel(model)
    return Solver(
        make_nll(model),
        np.asarray(bounds, float),
        derivatives=make_derivatives(model),
        domain=_derived_last(hf, hf.in_domain, 2),
        curvature=_derived_last(hf, functools.partial(hf.nll_grad_hess, products=np.float32), 2),
    )


def make_expected(model):
    """The expected data (main + auxiliary) expected(pars, derived) of a pyhf model.

    Args:
        model: a pyhf model.

    Returns:
        The function (`derived` as in `make_nll`).
    """
    hf = kernel(model)
    return _derived_last(hf, hf.expected, 1)


def expected_function(model):
    """The model's expected data (main + auxiliary) expected(pars, derived), compiled once per model.

    Args:
        model: a pyhf model.

    Returns:
        The compiled function (`derived` as in `make_nll`).
    """
    import jax

    return kernel(model).cached("expected", lambda: jax.jit(make_expected(model)))


def nll_function(model, data):
    """-ln L as a JAX-traceable scalar function of the parameters (the model's kernel).

    Args:
        model: a pyhf model.
        data: its dataset.

    Returns:
        nll(pars) -> scalar.
    """
    import jax.numpy as jnp

    data_j = jnp.asarray(data)
    hf = kernel(model)

    def nll(pars):
        return hf.nll(pars, data_j, hf.default())

    return nll


def make_grid_evaluator(model, data, base: np.ndarray, ix: int, iy: int, with_grad: bool = False):
    """Ln L over many (x, y) points in one compiled call, other parameters fixed at `base`.

    Args:
        model: a pyhf model.
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
    hf = kernel(model)

    def lnl(xy):
        pars = base_j.at[ix].set(xy[0]).at[iy].set(xy[1])
        return hf.logpdf(pars, data_j, hf.default())

    inner = jax.value_and_grad(lnl) if with_grad else lnl
    batched = jax.jit(jax.vmap(inner))
    return lambda xs, ys: batched(jnp.stack([xs, ys], axis=-1))
