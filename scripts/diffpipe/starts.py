"""Optimizer starts as the config gives them, expanded to points.

A start is a point, `{tile: [...], dimension: n}` (the values repeated to n components: a 100-d
Rosenbrock start without 100 numbers in the config) or `init` (a likelihood model's suggested
initial values of its free parameters). Shared by the config check and the optimizer stage.
"""

from collections.abc import Sequence

INIT = "init"


def expand_start(start, where: str, init: Sequence[float] | None = None) -> list[float]:
    """One configured start as a point.

    Args:
        start: a list of numbers, {tile, dimension} or "init".
        where: the config key (for the message).
        init: the likelihood model's suggested init ("init" starts only).

    Returns:
        The point.

    Raises:
        ValueError: "init" for a problem without a likelihood model, or a dimension that is
            not a multiple of the tile.
    """
    if isinstance(start, str):
        if init is None:
            raise ValueError(f"config key '{where}': 'init' starts need a likelihood_model problem")
        return [float(v) for v in init]
    if isinstance(start, dict):
        tile, dim = list(start["tile"]), int(start["dimension"])
        if dim % len(tile):
            raise ValueError(
                f"config key '{where}.dimension': {dim} is not a multiple of the tile's {len(tile)} values"
            )
        return [float(v) for v in tile * (dim // len(tile))]
    return [float(v) for v in start]


def expand_starts(entry: dict, where: str, init: Sequence[float] | None = None) -> list[list[float]]:
    """Every start of a problem as a point.

    Args:
        entry: the problem's config entry.
        where: its config key.
        init: the likelihood model's suggested init (None: not a likelihood problem).

    Returns:
        The points, in config order.
    """
    return [expand_start(s, f"{where}.starts[{i}]", init) for i, s in enumerate(entry["starts"])]
