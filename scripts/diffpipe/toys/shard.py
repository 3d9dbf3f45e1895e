"""One shard of pseudo-experiments: sample toys from the full pdf and fit them all in one batch.

Each toy's random key is derived from (root seed, model name, toy index) with `jax.random.fold_in`,
so toy k is the same dataset whatever the shard size or the shard it falls in. Toys are sampled
from the model's full pdf at the true parameters: Poisson main data, and auxiliary data from each
constraint term (Gaussian: N(θ, σ); Poisson: Pois(γ τ)).

Per toy two fits run through the solver's lane queue (`fitting.Fitter.fit`: compiled Newton steps on
a fixed number of lanes, each lane taking the next toy when its fit ends): the free fit (its best fit,
-ln L and the Hessian's inverse give the Hessian errors) and the fit with the POI held at its true
value (2 Δ(-ln L) < 1 then says whether the profile-likelihood 68% interval covers the truth).
Toys that do not converge are refitted one by one with MINUIT and counted, none is dropped; a toy
whose fit leaves the likelihood's domain (a bin without events driven to a negative expected
count, see `diffpipe.solver`) is a failure counted as `outside`, not refitted.

A shard is sampled and fitted in chunks of CHUNK_LANES queues' worth of toys, each followed by a
progress line (toys done, rate, time left, refitted and outside so far), so memory follows the
lanes rather than the shard and a long shard job is seen to advance.
"""

import logging
import time

import numpy as np

from diffpipe.fitting import Fitter
from diffpipe.models import build_model
from diffpipe.sampling import make_sampler, sample_toys, toy_starts
from diffpipe.solver import cpu_lanes

log = logging.getLogger("diffpipe")
# toys per chunk: at most this many times the lanes (or MIN_CHUNK), in chunks of equal size
CHUNK_LANES = 64
MIN_CHUNK = 1024


def true_parameters(model, overrides: dict, init=None) -> np.ndarray:
    """The parameters toys are generated at: the initial values with overrides.

    Args:
        model: the pyhf model.
        overrides: parameter name -> value.
        init: the initial values (default: the suggested init; a `ParameterSetup`'s carries
            the held parameters' values).

    Returns:
        One value per parameter.
    """
    pars = np.array(model.config.suggested_init() if init is None else init, float)
    names = list(model.config.par_names)
    for name, value in overrides.items():
        pars[names.index(name)] = value
    return pars


def hessian_errors(hessians: np.ndarray, floating: np.ndarray) -> np.ndarray:
    """Per toy: sqrt(diag(inv(H))) over the floating parameters.

    NaN where H is not invertible or a variance is not positive.

    Args:
        hessians: (n, npars, npars) Hessians of -ln L.
        floating: bool mask of the floating parameters.

    Returns:
        (n, npars) errors (NaN for held parameters).
    """
    idx = np.flatnonzero(floating)
    sub = hessians[:, idx][:, :, idx]
    eye = np.eye(len(idx))
    ok = np.isfinite(sub).all(axis=(1, 2))
    safe = np.where(ok[:, None, None], sub, eye)
    try:
        inv = np.linalg.inv(safe)
    except np.linalg.LinAlgError:  # exactly singular ones (a zero pivot, det = 0): left out
        ok &= np.linalg.det(safe) != 0
        safe = np.where(ok[:, None, None], safe, eye)
        inv = np.linalg.inv(safe)
    with np.errstate(invalid="ignore"):
        # the 1-norm condition number ||H|| ||H^-1|| (within a factor npars of the 2-norm one)
        cond = np.abs(safe).sum(axis=1).max(axis=1) * np.abs(inv).sum(axis=1).max(axis=1)
        ok &= np.nan_to_num(cond, nan=np.inf) < 1e14
        diag = np.diagonal(inv, axis1=1, axis2=2)
        err = np.where(ok[:, None] & (diag > 0), np.sqrt(np.abs(diag)), np.nan)
    out = np.full((len(hessians), hessians.shape[1]), np.nan)
    out[:, idx] = err
    return out


class ShardRunner:
    """One model's toy machinery, compiled once: its sampler and its fitter.

    Args:
        name: the model's name.
        entry: its config entry.
        toys: its `toys` entry (seed, parameters, start: where the free fits start, see
            `sampling.toy_starts`).
    """

    def __init__(self, name: str, entry: dict, toys: dict):
        model, _ = build_model(entry)
        self.fitter = Fitter.of(model, entry)
        self.name, self.seed, self.model = name, toys["seed"], model
        self.truth = true_parameters(model, toys.get("parameters", {}), self.fitter.init)
        self.sampler = make_sampler(model)
        self.fixed = self.fitter.fixed
        # the fits hold the held parameters at their true values (those the toys are drawn at)
        self.fitter.init = self.init = np.where(self.fixed, self.truth, self.fitter.init)
        self.start = toys.get("start", "suggested")

    def run(self, start: int, stop: int) -> dict:
        """Sample and fit toys [start, stop), chunk by chunk with a progress line after each.

        Args:
            start: first global toy index.
            stop: one past the last.

        Returns:
            Arrays per toy (index, bestfit, twice_nll, sigma, twice_nll_true, converged, outside,
            steps) and counts (refitted, refit_max_s: the longest MINUIT refit's seconds,
            parameters, poi, truth).
        """
        most = max(MIN_CHUNK, CHUNK_LANES * cpu_lanes(len(self.truth)))
        chunk = -(-(stop - start) // -(-(stop - start) // most))  # even chunks: no short last one
        parts, refitted, refit_max_s, began = [], 0, 0.0, time.perf_counter()
        for first in range(start, stop, chunk):
            part = self._chunk(first, min(first + chunk, stop))
            parts.append(part)
            refitted += part.pop("refitted")
            refit_max_s = max(refit_max_s, part.pop("refit_max_s"))
            done, elapsed = min(first + chunk, stop) - start, time.perf_counter() - began
            if stop - start > chunk:
                log.info(
                    "%s toys %d-%d: %d of %d done, %.0f toys/s, ~%.0f s left; %d refitted, %d outside the domain",
                    self.name,
                    start,
                    stop,
                    done,
                    stop - start,
                    done / elapsed,
                    (stop - start - done) * elapsed / done,
                    refitted,
                    int(sum(p["outside"].sum() for p in parts)),
                )
        return {
            **{k: np.concatenate([p[k] for p in parts]) for k in parts[0]},
            "refitted": refitted,
            "refit_max_s": refit_max_s,
            "parameters": list(self.model.config.par_names),
            "poi": self.model.config.poi_name,
            "truth": self.truth.tolist(),
        }

    def _chunk(self, start: int, stop: int) -> dict:
        indices = np.arange(start, stop)
        data = sample_toys(self.sampler, self.seed, self.name, indices, self.truth)
        fitter, truth, fixed = self.fitter, self.truth, self.fixed
        x0 = toy_starts(self.model, self.start, self.init, data, fixed, fitter.bounds)
        free = fitter.fit(data, start=x0, batched=True, cold=True)
        at_truth = fitter.fit(data, hold={fitter.poi: truth[fitter.poi]}, start=free.x, batched=True, hessian=False)
        return {
            "index": indices,
            "bestfit": free.x,
            "twice_nll": 2.0 * free.nll,
            "sigma": hessian_errors(free.hessian, ~fixed),
            "twice_nll_true": 2.0 * at_truth.nll,
            "converged": free.converged & at_truth.converged,
            "outside": free.outside | at_truth.outside,
            "steps": free.iterations + at_truth.iterations,
            "refitted": int(free.refitted.sum() + at_truth.refitted.sum()),
            "refit_max_s": float(max(free.refit_seconds.max(), at_truth.refit_seconds.max())),
        }


def run_shard(name: str, entry: dict, toys: dict, start: int, stop: int) -> dict:
    """Sample and fit toys [start, stop) of one model (see `ShardRunner.run`).

    Args:
        name: the model's name.
        entry: its config entry.
        toys: its `toys` entry (seed, parameters).
        start: first global toy index.
        stop: one past the last.

    Returns:
        `ShardRunner.run`'s arrays and counts.
    """
    return ShardRunner(name, entry, toys).run(start, stop)
