"""2-D likelihood grid scan with the gradient field (the notebook's figure, generalised).

lnL is evaluated on a grid over two parameters with the others held at the best fit, by one
`jax.jit(jax.vmap(logpdf))` call; the gradient field comes from `vmap(value_and_grad)` on a
coarser grid. (The notebook's un-jitted loop is thousands of times slower.)
"""

import time

import numpy as np

from diffpipe.compiled import make_grid_evaluator
from diffpipe.models import build_model


def grid_axes(grid: dict, fit) -> dict:
    """Complete a grid entry from the fit.

    Axes default to the POI and the first other free parameter, ranges to best fit +- 3 sigma
    (within bounds).

    Args:
        grid: the model's `grid` config (points and arrows filled by the schema).
        fit: the model's `artifacts.FitResult`.

    Returns:
        The grid settings with x, y, x_range and y_range set.
    """
    grid = dict(grid)
    names = fit.parameters
    poi = fit.poi if fit.poi in names else names[0]
    others = [n for n in names if n != poi]
    grid.setdefault("x", poi)
    grid.setdefault("y", others[0] if others else poi)
    for axis in ("x", "y"):
        key = f"{axis}_range"
        if key not in grid:
            i = names.index(grid[axis])
            lo, hi = fit.bounds[i]
            centre, sigma = fit.bestfit[i], fit.sigma_autodiff[i]
            grid[key] = [max(lo, centre - 3 * sigma), min(hi, centre + 3 * sigma)]
    return grid


def scan(model, data, bestfit_all: np.ndarray, par_names: list[str], grid: dict) -> dict:
    """Ln L on the grid and its gradient on the arrow grid, other parameters at the best fit.

    Args:
        model: the pyhf model (jax backend).
        data: its dataset.
        bestfit_all: every parameter at the best fit.
        par_names: names of all parameters.
        grid: complete grid settings (see `grid_axes`).

    Returns:
        The `artifacts.GridScan` array fields plus names and bestfit.
    """
    ix, iy = par_names.index(grid["x"]), par_names.index(grid["y"])
    xs = np.linspace(*grid["x_range"], grid["points"])
    ys = np.linspace(*grid["y_range"], grid["points"])
    gx, gy = np.meshgrid(xs, ys)  # rows follow y, columns follow x
    evaluate = make_grid_evaluator(model, data, bestfit_all, ix, iy)
    lnl = np.asarray(evaluate(gx.ravel(), gy.ravel())).reshape(gx.shape)

    ax_ = np.linspace(*grid["x_range"], grid["arrows"])
    ay_ = np.linspace(*grid["y_range"], grid["arrows"])
    agx, agy = np.meshgrid(ax_, ay_)
    field = make_grid_evaluator(model, data, bestfit_all, ix, iy, with_grad=True)
    values, grads = field(agx.ravel(), agy.ravel())
    grads = np.asarray(grads)
    return {
        "x": xs,
        "y": ys,
        "lnl": lnl,
        "arrow_x": agx,
        "arrow_y": agy,
        "arrow_lnl": np.asarray(values).reshape(agx.shape),
        "arrow_dx": grads[:, 0].reshape(agx.shape),
        "arrow_dy": grads[:, 1].reshape(agx.shape),
        "bestfit": [float(bestfit_all[ix]), float(bestfit_all[iy])],
        "names": [grid["x"], grid["y"]],
    }


def run_grid_scan(job, definition: dict, grid: dict, fit_path: str, output: str) -> None:
    """Rule `grid_scan`: the 2-D ln L grid of one model around its best fit.

    Args:
        job: the `runtime.Job`.
        definition: the model's config entry without `grid`.
        grid: the model's `grid` entry.
        fit_path: the model's fit.json.
        output: path of grid.npz.
    """
    from diffpipe.artifacts import FitResult, GridScan
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job

    with compute_job(job) as device:
        started = time.perf_counter()
        fit = FitResult.read(fit_path)
        model, data = build_model(definition)
        axes = grid_axes(grid, fit)
        result = scan(model, data, np.asarray(fit.bestfit_all), fit.all_parameters, axes)
        prov = Provenance.record({"model": definition, "grid": axes}, device, time.perf_counter() - started)
        fixed_at = dict(zip(fit.all_parameters, map(float, fit.bestfit_all)))
        GridScan(**result, model=fit.model, fixed_at=fixed_at, provenance=prov).write(output)
