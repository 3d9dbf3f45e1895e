"""Training a design: optax steps on the soft loss's gradient."""

import numpy as np

from diffpipe.design.objective import Objective
from diffpipe.design.soft import Binning, edges


def snapshot(params: dict, binning: Binning) -> dict:
    """A design's parameters as the artifact stores them.

    Args:
        params: {"cut", "logits"}.
        binning: the `Binning`.

    Returns:
        {"cut": float, "edges": list, "logits": list}.
    """
    params = {k: np.asarray(v, float) for k, v in params.items()}
    return {
        "cut": float(params["cut"]),
        "edges": [float(e) for e in edges(params, binning)],
        "logits": [float(v) for v in params["logits"]],
    }


def train(objective: Objective, start: dict, steps: int, learning_rate: float) -> dict:
    """Adam steps on the loss from the start; the lowest-loss parameters are the result.

    Args:
        objective: the design's `Objective`.
        start: the start parameters.
        steps: optimisation steps.
        learning_rate: adam's step size.

    Returns:
        {"history": per step {step, loss, cut, edges} (the parameters the loss was computed
        at), "best": the parameters of the lowest loss, "best_step": its step}.
    """
    import jax.numpy as jnp
    import optax

    optimizer = optax.adam(learning_rate)
    params = {k: jnp.asarray(v, float) for k, v in start.items()}
    state = optimizer.init(params)
    history, best, best_step, guess = [], None, 0, None
    for step in range(steps + 1):
        point, grads = objective.value_and_grad(params, guess)
        guess = point["mu"] if objective.loss == "limit" else None
        here = snapshot(params, objective.binning)
        history.append({"step": step, "loss": point["value"], "cut": here["cut"], "edges": here["edges"]})
        if best is None or point["value"] < history[best_step]["loss"]:
            best, best_step = params, step
        if step == steps:
            break
        updates, state = optimizer.update({k: jnp.asarray(v) for k, v in grads.items()}, state, params)
        params = optax.apply_updates(params, updates)
    return {"history": history, "best": {k: np.asarray(v, float) for k, v in best.items()}, "best_step": best_step}
