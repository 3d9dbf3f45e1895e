"""2-D likelihood grid scan with the gradient field (the notebook's figure, generalised).

lnL is evaluated on a grid over two parameters with the others held at the best fit, by one
`jax.jit(jax.vmap(logpdf))` call; the gradient field comes from `vmap(value_and_grad)` on a
coarser grid. (The notebook's un-jitted loop is thousands of times slower.)
"""


import json
import time

import numpy as np

from likelihood_model import build_model, use_jax_backend


def grid_axes(spec: dict, fit: dict) -> dict:
    """Grid settings with defaults: POI and the first other free parameter, best fit +- 3 sigma."""
    grid = dict(spec.get("grid", {}))
    names = fit["parameters"]
    poi = fit["poi"] if fit["poi"] in names else names[0]
    others = [n for n in names if n != poi]
    grid.setdefault("x", poi)
    grid.setdefault("y", others[0] if others else poi)
    grid.setdefault("points", 101)
    grid.setdefault("arrows", 11)
    for axis in ("x", "y"):
        key = f"{axis}_range"
        if key not in grid:
            i = names.index(grid[axis])
            lo, hi = fit["bounds"][i]
            centre, sigma = fit["bestfit"][i], fit["sigma_autodiff"][i]
            grid[key] = [max(lo, centre - 3 * sigma), min(hi, centre + 3 * sigma)]
    return grid


def make_grid_evaluator(model, data, base: np.ndarray, ix: int, iy: int, with_grad: bool = False):
    """Compiled f(xs, ys) -> lnL (and d lnL/d(x, y)) at each (x, y), others fixed at `base`."""
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


def scan(model, data, bestfit_all: np.ndarray, par_names: list[str], grid: dict) -> dict:
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
        "bestfit": np.array([bestfit_all[ix], bestfit_all[iy]]),
        "names": np.array([grid["x"], grid["y"]]),
    }


def main(smk) -> None:
    from artifacts import write_npz, write_provenance
    from runtime import start_job

    device = start_job(smk)
    started = time.perf_counter()
    use_jax_backend()
    fit = json.loads(open(smk.input.fit).read())
    model, data = build_model(smk.params.model)
    grid = grid_axes(smk.params.model, fit)
    result = scan(model, data, np.asarray(fit["bestfit_all"]), fit["all_parameters"], grid)
    elapsed = time.perf_counter() - started
    write_provenance(smk.output.grid, {"model": smk.params.model, "grid": grid}, device, elapsed)
    write_npz(smk.output.grid, **result)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
