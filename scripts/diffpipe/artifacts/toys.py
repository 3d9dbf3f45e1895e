"""The artifact kinds of the toy stages.

Coverage shards and their merge, toy-based CLs on a grid, and the toy-based limit (its μ points,
its parts, the rounds' plans and the limits).

docs/artifacts.md lists every kind; a test checks that every field is documented there.
"""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from diffpipe.artifacts.formats import ArrayArtifact, JsonArtifact


@dataclass(kw_only=True)
class ToyShard(ArrayArtifact):
    """toys/{model}/shard{k}.npz: one shard of pseudo-experiments, each fitted twice.

    Attributes:
        index: global toy indices (the toy's random key derives from it).
        bestfit: free-fit parameters per toy, shape (n, npars).
        twice_nll: -2 ln L of the free fit per toy.
        sigma: Hessian errors per toy and parameter (NaN: held or not invertible).
        twice_nll_true: -2 ln L with the POI held at its true value.
        converged: both fits converged (after any MINUIT refit).
        outside: a fit left the likelihood's domain (a bin without events driven to a negative
            expected count): a failure, never converged.
        steps: the Newton steps of the toy's two fits together.
        model: the model's name; definition: its config entry; toys: its `toys` entry.
        start, stop: the shard's toy range; refitted: fits redone with MINUIT; refit_max_s: the
            longest of those refits (wall seconds; 0 where none).
        parameters: parameter names; poi: the POI's name; truth: the generating parameters.
        peak_rss_mb: the job's peak resident memory (MiB), bounded by the shard size.
    """

    KIND: ClassVar[str] = "toy_shard"
    PAYLOAD: ClassVar[tuple[str, ...]] = (
        "index",
        "bestfit",
        "twice_nll",
        "sigma",
        "twice_nll_true",
        "converged",
        "outside",
        "steps",
    )
    index: np.ndarray
    bestfit: np.ndarray
    twice_nll: np.ndarray
    sigma: np.ndarray
    twice_nll_true: np.ndarray
    converged: np.ndarray
    outside: np.ndarray
    steps: np.ndarray
    model: str
    definition: dict
    toys: dict
    start: int
    stop: int
    refitted: int
    parameters: list[str]
    poi: str
    truth: list[float]
    peak_rss_mb: float
    refit_max_s: float = 0.0


@dataclass(kw_only=True)
class Coverage(JsonArtifact):
    """toys/{model}/coverage.json: coverage of the POI's intervals and pulls, from all shards.

    Attributes:
        model: the model's name; definition: its config entry; toys: its `toys` entry.
        n_toys, n_converged, refitted: toy counts (refitted: fits redone with MINUIT).
        n_outside: toys whose fit left the likelihood's domain (failures, among the unconverged).
        nominal: the nominal coverage (0.6827).
        hessian, profile: coverage of μ̂ ± σ̂ (Hessian) and of the profile-likelihood 68%
            interval: value, error (binomial), n, verdict (covers, under-covers, over-covers at
            2 binomial σ).
        pulls: per parameter: parameter, mean, mean_error, width, width_error, n.
        pull_histogram: edges and counts of the POI's pull.
        poi: the POI's name; truth: the generating parameters; parameters: their names.
        shards: number of shards merged; shard_size: toys in the largest; peak_rss_mb: the
            largest peak resident memory (MiB) of a shard job.
    """

    KIND: ClassVar[str] = "coverage"
    model: str
    definition: dict
    toys: dict
    n_toys: int
    n_converged: int
    refitted: int
    n_outside: int
    nominal: float
    hessian: dict
    profile: dict
    pulls: list[dict]
    pull_histogram: dict
    poi: str
    truth: list[float]
    parameters: list[str]
    shards: int
    shard_size: int
    peak_rss_mb: float


@dataclass(kw_only=True)
class ToyHypotest(JsonArtifact):
    """toys/{model}/cls.json: toy-based CLs (q̃μ) on a POI grid and the toy-based upper limits.

    Attributes:
        model: the model's name; definition: its config entry; settings: its `toys.cls` entry.
        mu: POI values tested; qmu_observed: q̃μ on the data there.
        cls, clsb, clb: observed CLs, CLs+b, CLb per μ.
        expected: expected CLs per μ at the band positions +2, +1, 0, -1, -2 σ (5 curves).
        observed_limit, expected_limits: where CLs crosses 1 - CL (linear interpolation between
            the tested μ; None when it does not cross on the grid).
        cl: confidence level; ntoys: toys per hypothesis and μ; poi: the POI's name.
        samples: q̃μ of every toy per μ under s+b (`sb`) and b-only (`b`).
        outside: toys whose fit left the likelihood's domain (all μ and both hypotheses): left out
            of the samples.
    """

    KIND: ClassVar[str] = "toy_hypotest"
    model: str
    definition: dict
    settings: dict
    mu: list[float]
    qmu_observed: list[float]
    cls: list
    clsb: list[float]
    clb: list[float]
    expected: list[list]
    observed_limit: float | None
    expected_limits: list
    cl: float
    ntoys: int
    poi: str
    samples: list[dict]
    outside: int


@dataclass(kw_only=True)
class ToyLimitPoints(JsonArtifact):
    """toys/{model}/limit/points.json: the toy-based limit's μ points and what toys are drawn at.

    Attributes:
        model: the model's name; definition: its config entry; settings: its `toys.limit` entry.
        poi: the POI's name.
        asymptotic: the asymptotic observed and expected limits the points are placed around.
        mu: the points (empty when `failure` says why).
        qmu_observed: q̃μ of the data at each point.
        generating_sb: per point the parameters s+b toys are drawn at (the data's fit with the
            POI held at μ); generating_b: those of the b toys (POI held at 0).
        parameters: parameter names; failure: why there are no points (None).
    """

    KIND: ClassVar[str] = "toy_limit_points"
    model: str
    definition: dict
    settings: dict
    poi: str
    asymptotic: dict
    mu: list[float]
    qmu_observed: list[float]
    generating_sb: list[list[float]]
    generating_b: list[float]
    parameters: list[str]
    failure: str | None


@dataclass(kw_only=True)
class ToyLimitPart(ArrayArtifact):
    """toys/{model}/limit/point{k}-{j}.npz: part j of point k's toys, q̃μ of each.

    The toy indices are [j n, (j + 1) n), n = toys_per_round; each toy is fitted free and with
    the POI held at μ.

    Attributes:
        q_sb, q_b: q̃μ of the s+b and the b toys (NaN: a fit left the likelihood's domain).
        model: the model's name; point: k; part: j; mu: the point's μ; seed: the root seed.
        start, stop: the toys' index range; refitted: fits redone with MINUIT; outside: the toys
            whose fit left the likelihood's domain (both hypotheses).
    """

    KIND: ClassVar[str] = "toy_limit_part"
    PAYLOAD: ClassVar[tuple[str, ...]] = ("q_sb", "q_b")
    q_sb: np.ndarray
    q_b: np.ndarray
    model: str
    point: int
    part: int
    mu: float
    seed: int
    start: int
    stop: int
    refitted: int
    outside: int


@dataclass(kw_only=True)
class ToyLimitPlan(JsonArtifact):
    """toys/{model}/limit/round{r}.json: the parts round r adds (none: the toys are complete).

    Decided from the parts of the rounds before it.

    Attributes:
        model: the model's name; settings: its `toys.limit` entry; cl: confidence level.
        round: r; parts: [{point, part}] to make; made: the parts it was decided from.
        n: toys per hypothesis per point so far; cls_error: the observed CLs errors so far.
    """

    KIND: ClassVar[str] = "toy_limit_plan"
    model: str
    settings: dict
    cl: float
    round: int
    parts: list[dict]
    made: list[dict]
    n: list[int]
    cls_error: list[float]


@dataclass(kw_only=True)
class ToyLimit(JsonArtifact):
    """toys/{model}/limit.json: toy-based CLs upper limits with their Monte Carlo errors.

    Attributes:
        model: the model's name; definition: its config entry; settings: its `toys.limit` entry.
        poi: the POI's name; cl: confidence level; rounds: rounds of toys made.
        mu: the points; n: toys per hypothesis at each.
        cls, cls_error, clsb, clb: observed CLs (binomial error) per point.
        expected, expected_error: expected CLs per point at the band positions +2 ... -2 σ.
        observed_limit, observed_error: where CLs crosses 1 - CL (ln CLs interpolated between
            the bracketing points) and its Monte Carlo error (None: see failures).
        expected_limits, expected_errors: the same for the five expected curves.
        asymptotic: the asymptotic limits (as in points.json).
        accuracy: observed and expected (median) -> met (bool), cls_error (the CLs error at the
            crossing, the bracketing points' errors weighted as interpolated; None: no crossing)
            against settings.cls_accuracy, bracket (the two points).
        failures: curve -> why it has no limit; toys: toys fitted (both hypotheses, all points);
        refitted: fits redone with MINUIT; outside: toys whose fit left the likelihood's domain
            (left out of the CLs; n counts the others).
        part_time: parts (their number) and elapsed_s (the parts' jobs' computing time, summed;
            a timing field).
    """

    KIND: ClassVar[str] = "toy_limit"
    model: str
    definition: dict
    settings: dict
    poi: str
    cl: float
    rounds: int
    mu: list[float]
    n: list[int]
    cls: list
    cls_error: list
    clsb: list
    clb: list
    expected: list[list]
    expected_error: list[list]
    observed_limit: float | None
    observed_error: float | None
    expected_limits: list
    expected_errors: list
    asymptotic: dict
    accuracy: dict
    failures: dict
    toys: int
    outside: int
    refitted: int
    part_time: dict
