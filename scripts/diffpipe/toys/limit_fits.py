"""The fits of the toy-based limit: the data's q̃μ and generating parameters, and the toys.

Per μ point the data's q̃μ and the parameters toys are drawn at; per part its toys' q̃μ (the
numbers, the rounds and the stopping rule are in `toys.limit`).

The POI is bounded below at 0 (q̃μ) and above by the larger of the model's bound and twice the
largest point, so that no fit stops at a bound a limit lies beyond.
"""

import numpy as np

from diffpipe.fitting import Fitter
from diffpipe.models import build_model
from diffpipe.sampling import make_sampler, sample_toys, toy_starts


def toy_stream(name: str, point: int, hypothesis: str) -> str:
    """The name the toys of one point and hypothesis are keyed by (`sampling.sample_toys`).

    Args:
        name: the model's name.
        point: the μ point's index.
        hypothesis: "sb" or "b".

    Returns:
        A name of its own per (model, point, hypothesis): no two streams share a toy.
    """
    return f"{name}/limit/point{point}/{hypothesis}"


class LimitFits:
    """One model's fitter and sampler for the toy-based limit, compiled once.

    Args:
        name: the model's name.
        entry: its config entry.
        mu_max: the largest μ point.
        test_statistic: "qtilde" (the POI's fits bounded below by 0) or "q" (its own bounds).
        start: where the toys' free fits start (`sampling.toy_starts`; the data's at the init).
    """

    def __init__(self, name: str, entry: dict, mu_max: float, test_statistic: str = "qtilde", start: str = "suggested"):
        model, data = build_model(entry)
        self.fitter = Fitter.of(model, entry, test_statistic, poi_upper=2.0 * mu_max)
        self.name, self.model = name, model
        self.poi = self.fitter.poi
        self.data = np.asarray(data, float)
        self.start = start

    def generating(self, mu: float) -> np.ndarray:
        """The fit to the data with the POI held at `mu`: the parameters toys are drawn at.

        Args:
            mu: the POI value.

        Returns:
            One value per parameter.
        """
        return self.fitter.fit(self.data, hold={self.poi: mu}).x[0]

    def qmu(self, data: np.ndarray, mu: float, batched: bool = True) -> tuple[np.ndarray, int]:
        """q̃μ of datasets.

        Args:
            data: (n, ndata) datasets.
            mu: the tested POI value.
            batched: one vmapped call (toys) or one call per row (the data).

        Returns:
            (q̃μ per dataset, fits redone with MINUIT).
        """
        return self.fitter.qmu(data, mu, batched=batched)

    def toys(self, seed: int, point: int, hypothesis: str, start: int, stop: int, pars) -> np.ndarray:
        """Toys [start, stop) of one point's stream at `pars`.

        Args:
            seed: the root seed.
            point: the μ point's index.
            hypothesis: "sb" or "b".
            start: first toy index.
            stop: one past the last.
            pars: the generating parameters.

        Returns:
            (stop - start, ndata) datasets.
        """
        stream = toy_stream(self.name, point, hypothesis)
        return sample_toys(make_sampler(self.model), seed, stream, np.arange(start, stop), pars)

    def points(self, mu: list[float]) -> dict:
        """What the toys of each μ point are drawn at, and the data's q̃μ there.

        Args:
            mu: the points.

        Returns:
            mu, qmu_observed (per point), generating_sb (per point: the data's fit with the POI
            held at μ), generating_b (POI held at 0).
        """
        q_observed, generating_sb = [], []
        for value in mu:
            q, _ = self.qmu(self.data[None, :], value, batched=False)
            q_observed.append(float(q[0]))
            generating_sb.append(self.generating(value).tolist())
        return {
            "mu": list(mu),
            "qmu_observed": q_observed,
            "generating_sb": generating_sb,
            "generating_b": self.generating(0.0).tolist(),
        }

    def part(self, seed: int, points: dict, point: int, part: int, size: int) -> dict:
        """Part `part` of point `point`'s toys: q̃μ of its s+b and its b toys.

        Args:
            seed: the root seed.
            points: `points` (or the points artifact's fields).
            point: the point's index.
            part: the part's index: toys [part size, (part + 1) size).
            size: toys per part.

        Returns:
            point, part, mu, start, stop, q_sb, q_b (NaN: a fit left the likelihood's domain),
            refitted (fits redone with MINUIT), outside (such toys).
        """
        mu = points["mu"][point]
        start, stop = part * size, (part + 1) * size
        out = {"point": point, "part": part, "mu": mu, "start": start, "stop": stop, "refitted": 0, "outside": 0}
        for hypothesis, pars in (("sb", points["generating_sb"][point]), ("b", points["generating_b"])):
            toys = self.toys(seed, point, hypothesis, start, stop, np.asarray(pars, float))
            fitter = self.fitter
            x0 = toy_starts(self.model, self.start, fitter.init, toys, fitter.fixed, fitter.bounds)
            out[f"q_{hypothesis}"], redone = fitter.qmu(toys, mu, start=x0)
            out["refitted"] += redone
            out["outside"] += int(np.sum(np.isnan(out[f"q_{hypothesis}"])))
        return out
