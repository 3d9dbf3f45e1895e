"""Event-level inputs of an analysis design: three samples in two observables, with systematic variations.

Samples (fixed roles): `signal`, `background_1` (a shape systematic: the same events with the
binned observable shifted up and down) and `background_2` (a normalisation systematic: per-event
weight variations). Each event has two observables, column 0 binned, column 1 cut on, and a
weight (expected events per simulated event). `generate` is the seeded generator
(`resources/generate_events.py` writes its events to an .npz); `read_npz` reads a user's arrays
in the same layout (`NPZ_KEYS`).
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SAMPLES = ("signal", "background_1", "background_2")
# key -> (shape, what): n is the sample's number of simulated events
NPZ_KEYS = {
    "signal": ("(n, 2)", "signal events: column 0 binned, column 1 cut on"),
    "signal_weight": ("(n,)", "expected events per simulated signal event"),
    "background_1": ("(n, 2)", "background 1 events"),
    "background_1_weight": ("(n,)", "their weights"),
    "background_1_up": ("(n, 2)", "the same events, shape systematic up (weights as nominal)"),
    "background_1_down": ("(n, 2)", "the same events, shape systematic down"),
    "background_2": ("(n, 2)", "background 2 events"),
    "background_2_weight": ("(n,)", "their weights"),
    "background_2_weight_up": ("(n,)", "their weights, normalisation systematic up"),
    "background_2_weight_down": ("(n,)", "their weights, normalisation systematic down"),
}
# Expected events of each sample before any selection, and the generator's systematics: the
# shift of background 1's binned observable, background 2's weight variation 1 +- a + b (1 - x).
YIELDS = {"signal": 40.0, "background_1": 400.0, "background_2": 250.0}
SHAPE_SHIFT = 0.03
WEIGHT_VARIATION = (0.05, 0.25)


class EventsError(ValueError):
    """An events file (or generator setting) that cannot be used, naming the key."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass(frozen=True)
class Events:
    """Weighted events of the three samples and their systematic variations.

    Attributes:
        x: sample -> (n, 2) observables.
        w: sample -> (n,) weights.
        shape_up, shape_down: background 1's observables with its shape systematic up / down.
        weight_up, weight_down: background 2's weights with its normalisation systematic up / down.
        source: where they come from ({"generator": {seed, events_per_sample}} or {"npz": path, "sha256"}).
    """

    x: dict
    w: dict
    shape_up: np.ndarray
    shape_down: np.ndarray
    weight_up: np.ndarray
    weight_down: np.ndarray
    source: dict = field(default_factory=dict)

    def arrays(self) -> dict:
        """The events in the .npz layout.

        Returns:
            {key of `NPZ_KEYS`: array}.
        """
        out = {}
        for s in SAMPLES:
            out[s], out[f"{s}_weight"] = self.x[s], self.w[s]
        out["background_1_up"], out["background_1_down"] = self.shape_up, self.shape_down
        out["background_2_weight_up"], out["background_2_weight_down"] = self.weight_up, self.weight_down
        return out

    def reweighted(self, factors: dict) -> "Events":
        """The same events with every weight of a sample multiplied by per-event factors.

        Args:
            factors: sample -> (n,) factors (a bootstrap replica: Poisson(1) counts).

        Returns:
            The new `Events` (background 2's variations scaled alike).
        """
        w = {s: self.w[s] * factors[s] for s in SAMPLES}
        f2 = factors["background_2"]
        return Events(
            x=self.x,
            w=w,
            shape_up=self.shape_up,
            shape_down=self.shape_down,
            weight_up=self.weight_up * f2,
            weight_down=self.weight_down * f2,
            source=self.source,
        )


def _truncated_normal(rng, n: int, mean: float, sigma: float) -> np.ndarray:
    """N(mean, sigma) truncated to [0, 1] (redrawn until n fall inside)."""
    out = np.empty(0)
    while out.size < n:
        draw = rng.normal(mean, sigma, 2 * n)
        out = np.concatenate([out, draw[(draw >= 0.0) & (draw <= 1.0)]])
    return out[:n]


def generate(seed: int, events_per_sample: int) -> Events:
    """The seeded generator: the same seed gives the same events.

    Signal peaks at high values of both observables; background 1 is broad and lower in both,
    background 2 rises in the binned observable and falls in the cut one (a cut removes it).

    Args:
        seed: the random seed.
        events_per_sample: simulated events per sample.

    Returns:
        The `Events`.
    """
    if events_per_sample < 10:
        raise EventsError("events_per_sample", f"{events_per_sample} events cannot fill a histogram (at least 10)")
    rng = np.random.default_rng(seed)
    n = events_per_sample
    x = {
        "signal": np.column_stack([_truncated_normal(rng, n, 0.72, 0.08), _truncated_normal(rng, n, 0.70, 0.12)]),
        "background_1": np.column_stack([_truncated_normal(rng, n, 0.40, 0.18), _truncated_normal(rng, n, 0.40, 0.18)]),
        "background_2": np.column_stack([rng.beta(4.0, 2.0, n), rng.beta(2.0, 4.0, n)]),
    }
    w = {s: np.full(n, YIELDS[s] / n) for s in SAMPLES}
    shift = np.array([SHAPE_SHIFT, 0.0])
    a, b = WEIGHT_VARIATION
    variation = a + b * (1.0 - x["background_2"][:, 1])
    return Events(
        x=x,
        w=w,
        shape_up=x["background_1"] + shift,  # events shifted out of the binned range are lost
        shape_down=x["background_1"] - shift,
        weight_up=w["background_2"] * (1.0 + variation),
        weight_down=w["background_2"] * (1.0 - variation),
        source={"generator": {"seed": int(seed), "events_per_sample": int(n)}},
    )


def write_npz(events: Events, path) -> None:
    """Write events in the .npz layout `read_npz` reads.

    Args:
        events: the `Events`.
        path: the file.
    """
    np.savez_compressed(path, **events.arrays())


def read_npz(path) -> Events:
    """Read and check a user's events (.npz in the `NPZ_KEYS` layout).

    Args:
        path: the file.

    Returns:
        The `Events`.

    Raises:
        EventsError: a key is missing, has the wrong shape, or holds non-finite numbers or
            negative nominal weights.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k], float) for k in npz.files if k in NPZ_KEYS}
    except (OSError, ValueError) as err:
        raise EventsError(str(path), f"not a readable .npz file ({err})") from None
    for key in NPZ_KEYS:
        if key not in arrays:
            raise EventsError(f"{path}: {key}", f"missing (the layout: {', '.join(NPZ_KEYS)})")
        if not np.all(np.isfinite(arrays[key])):
            raise EventsError(f"{path}: {key}", "holds non-finite numbers")
    for s in SAMPLES:
        n = len(arrays[s])
        if arrays[s].ndim != 2 or arrays[s].shape[1] != 2 or n < 10:
            raise EventsError(f"{path}: {s}", f"shape {arrays[s].shape}, not (n, 2) with n >= 10")
        if arrays[f"{s}_weight"].shape != (n,):
            raise EventsError(f"{path}: {s}_weight", f"shape {arrays[f'{s}_weight'].shape}, not ({n},)")
        if np.any(arrays[f"{s}_weight"] < 0) or arrays[f"{s}_weight"].sum() <= 0:
            raise EventsError(f"{path}: {s}_weight", "weights must be >= 0 with a positive sum")
    for key, like in (("background_1_up", "background_1"), ("background_1_down", "background_1")):
        if arrays[key].shape != arrays[like].shape:
            raise EventsError(f"{path}: {key}", f"shape {arrays[key].shape}, not {like}'s {arrays[like].shape}")
    for key in ("background_2_weight_up", "background_2_weight_down"):
        if arrays[key].shape != arrays["background_2_weight"].shape or np.any(arrays[key] < 0):
            raise EventsError(f"{path}: {key}", "must be >= 0, one per background_2 event")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Events(
        x={s: arrays[s] for s in SAMPLES},
        w={s: arrays[f"{s}_weight"] for s in SAMPLES},
        shape_up=arrays["background_1_up"],
        shape_down=arrays["background_1_down"],
        weight_up=arrays["background_2_weight_up"],
        weight_down=arrays["background_2_weight_down"],
        source={"npz": str(path), "sha256": digest},
    )


def load(entry: dict) -> Events:
    """The events an `optimize_analysis` entry names.

    Args:
        entry: its `events` key: {"generator": {seed, events_per_sample}} or {"npz": path}.

    Returns:
        The `Events`.
    """
    if "npz" in entry:
        return read_npz(entry["npz"])
    gen = entry["generator"]
    return generate(int(gen["seed"]), int(gen["events_per_sample"]))
