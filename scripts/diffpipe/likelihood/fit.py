"""Likelihood stage: MLE, Hessian errors and their cross-checks (HESSE, MINOS, profile).

Covariance = inverse of the Hessian of the *negative* log-likelihood over the free
parameters. (The notebook's inv(-2 H) is the inverse Hessian of 2NLL: half the covariance.)

The stage is a view on the model's `fitting.Fitter` (its -ln L, gradient and exact Hessian, the
inference stage's too, restricted to the free parameters). Convergence: the fitter's bounded Newton
solve finds the minimum, MINUIT's MIGRAD (strategy 2, with the exact gradient) confirms it from there
(its validity and EDM are recorded, and HESSE and MINOS start from it), and the fitter's Newton solve
from MIGRAD's minimum ends it at a projected gradient of ~1e-12 σ, far past SLSQP's ~1e-3 on
multi-parameter workspaces. Profile fits are the fitter's solves with the parameter held.
"""

import logging
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from diffpipe.fitting import Fitter, minuit
from diffpipe.likelihood.crosscheck import crosscheck_table, flag_groups, poi_interval
from diffpipe.models import build_model
from diffpipe.runtime import enable_float64

log = logging.getLogger("diffpipe")


@dataclass
class Likelihood:
    """The free parameters' view of a model's fitter and data: -ln L, gradient and Hessian.

    Attributes:
        fitter: the model's `Fitter` (bounds, held parameters, compiled fits).
        data: the dataset.
        free: indices of the free parameters.
    """

    fitter: Fitter
    data: np.ndarray
    free: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.free = np.flatnonzero(self.fitter.free_mask())

    @property
    def names(self) -> list[str]:
        """Names of the free parameters.

        Returns:
            The names, in the order of the free-parameter vector.
        """
        return [self.fitter.names[i] for i in self.free]

    @property
    def bounds(self) -> list[tuple[float, float]]:
        """Bounds of the free parameters.

        Returns:
            [(low, high)] per free parameter.
        """
        return [tuple(map(float, self.fitter.bounds[i])) for i in self.free]

    def full(self, x: np.ndarray) -> np.ndarray:
        """All parameters with the free ones set.

        Args:
            x: free-parameter values.

        Returns:
            Every parameter (held ones at their values).
        """
        pars = self.fitter.init.copy()
        pars[self.free] = x
        return pars

    def nll(self, x) -> float:
        """-ln L of free-parameter values.

        Args:
            x: free-parameter values.

        Returns:
            The value.
        """
        return self.fitter.nll(self.full(np.asarray(x, float)), self.data)

    def grad(self, x) -> np.ndarray:
        """The gradient of -ln L over the free parameters.

        Args:
            x: free-parameter values.

        Returns:
            One component per free parameter.
        """
        return self.fitter.grad(self.full(np.asarray(x, float)), self.data)[self.free]

    def hess(self, x) -> np.ndarray:
        """The exact Hessian of -ln L over the free parameters (the fitter's, as inference's).

        Args:
            x: free-parameter values.

        Returns:
            (nfree, nfree).
        """
        return self.fitter.hessian(self.full(np.asarray(x, float)), self.data)[np.ix_(self.free, self.free)]

    def solve(self, pars: np.ndarray, held: int | None = None):
        """The fitter's solve (MINUIT where it does not converge) from every parameter's `pars`.

        Args:
            pars: start of every parameter (the held one at its value).
            held: free-parameter index of a parameter held at its start (None: none).

        Returns:
            The one-row `FitBatch`.
        """
        hold = None if held is None else {int(self.free[held]): float(pars[self.free[held]])}
        return self.fitter.fit(self.data, hold=hold, start=pars)


def make_likelihood(model, data, entry=None) -> Likelihood:
    """The free-parameter likelihood of a model and its data.

    Args:
        model: a pyhf model.
        data: its dataset.
        entry: the model's config entry (its `bounds` and `fixed`, see `models.parameter_setup`).

    Returns:
        The `Likelihood`.
    """
    return Likelihood(Fitter.of(model, entry), np.asarray(data, float))


def _minuit(lik: Likelihood, start: np.ndarray):
    """MINUIT over the free parameters, named (`fitting.minuit`)."""
    return minuit(lik.nll, lik.grad, start, lik.bounds, names=lik.names)


def fit_mle(lik: Likelihood, start: np.ndarray | None = None) -> dict:
    """The fitter's Newton solve, MIGRAD from its minimum (strategy 2, exact gradient), then Newton again.

    Args:
        lik: the likelihood.
        start: free-parameter start (default: the model's suggested init).

    Returns:
        x (the MLE), migrad (valid, edm, nfcn, ngrad), newton_steps and newton_converged (the
        last solve's), gradient_norm, and the Minuit object under `minuit`.
    """
    start = lik.fitter.init[lik.free] if start is None else np.asarray(start, float)
    if len(lik.free) > 1:
        # MIGRAD from the kernel's Newton minimum: it confirms the minimum (valid, edm) in a
        # few iterations instead of ~80 s of descent on a 120-parameter published likelihood
        start = lik.solve(lik.full(start)).x[0][lik.free]
    m = _minuit(lik, start)
    m.migrad()
    polish = lik.solve(lik.full(np.asarray(m.values, float)))
    polished = polish.x[0][lik.free]
    return {
        "x": polished,
        "migrad": {
            "valid": bool(m.valid),
            "edm": float(m.fmin.edm),
            "nfcn": int(m.nfcn),
            "ngrad": int(m.ngrad),
        },
        "newton_steps": int(polish.iterations[0]),
        "newton_converged": bool(polish.converged[0]),
        "gradient_norm": float(np.linalg.norm(lik.grad(polished))),
        "minuit": m,
    }


def hessian_covariance(lik: Likelihood, x: np.ndarray) -> np.ndarray:
    """Cov = inv(H) with H the Hessian of -lnL at the minimum (no numbers minimisation).

    Args:
        lik: the likelihood.
        x: the MLE.

    Returns:
        The covariance of the free parameters.
    """
    return np.linalg.inv(lik.hess(x))


def correlation(cov: np.ndarray) -> np.ndarray:
    """The correlation matrix of a covariance.

    Args:
        cov: a covariance matrix.

    Returns:
        cov / outer(sigma, sigma).
    """
    sigma = np.sqrt(np.diag(cov))
    return cov / np.outer(sigma, sigma)


def profile_nll(lik: Likelihood, index: int, value: float, start: np.ndarray) -> float:
    """Min over the other free parameters of nll with parameter `index` fixed at `value`.

    The fit is the kernel's bounded Newton solve (`Likelihood.solve`: MINUIT for a fit that does
    not converge), ~100x faster than MIGRAD on a 120-parameter published likelihood.

    Args:
        lik: the likelihood.
        index: the profiled parameter (free-parameter index).
        value: its fixed value.
        start: start of the other parameters.

    Returns:
        The profiled nll.
    """
    if len(lik.free) == 1:
        return lik.nll(np.array([value], float))
    x = lik.full(np.asarray(start, float))
    x[lik.free[index]] = value
    return float(lik.solve(x, held=index).nll[0])


def profile_scan(lik: Likelihood, index: int, x_hat: np.ndarray, sigma: float, span: float, points: int):
    """-2 Delta ln L of the profile on a grid of `points` values around the best fit.

    Args:
        lik: the likelihood.
        index: free-parameter index of the scanned parameter.
        x_hat: the MLE (start of every profile fit).
        sigma: the parameter's autodiff error (unit of `span`).
        span: half-width of the scan in units of sigma (cut at the bounds).
        points: grid points.

    Returns:
        (grid, -2 Delta ln L at each grid point, clipped at 0).
    """
    lo, hi = lik.bounds[index]
    grid = np.linspace(max(lo, x_hat[index] - span * sigma), min(hi, x_hat[index] + span * sigma), points)
    nll_hat = lik.nll(x_hat)
    delta = np.array([2.0 * (profile_nll(lik, index, v, x_hat) - nll_hat) for v in grid])
    return grid, np.maximum(delta, 0.0)


def profile_interval(lik: Likelihood, index: int, x_hat: np.ndarray, sigma: float, level: float = 1.0):
    """Roots of -2 Delta lnL = level on either side of the best fit.

    Args:
        lik: the likelihood.
        index: free-parameter index of the interval's parameter.
        x_hat: the best fit, where the search starts.
        sigma: the Hessian error, which sets the search brackets (1.5 to 12 sigma).
        level: -2 Delta ln L of the interval (1: 68% CL).

    Returns:
        (lower end, upper end), absolute; None where a bound cuts the interval.
    """
    nll_hat = lik.nll(x_hat)
    lo_bound, hi_bound = lik.bounds[index]

    def excess(v):
        return 2.0 * (profile_nll(lik, index, v, x_hat) - nll_hat) - level

    ends = []
    for direction, bound in ((-1, lo_bound), (1, hi_bound)):
        centre = x_hat[index]
        edge = centre
        root = None
        for k in (1.5, 3.0, 6.0, 12.0):
            edge = centre + direction * k * sigma
            if (direction < 0 and edge <= bound) or (direction > 0 and edge >= bound):
                edge = bound - direction * 1e-9 * max(1.0, abs(bound))
            if excess(edge) > 0:
                a, b = sorted((centre, edge))
                root = brentq(excess, a, b, xtol=1e-10, rtol=1e-12)
                break
            if edge != centre + direction * k * sigma:
                break
        ends.append(root)
    return ends[0], ends[1]


def closed_form_errors(entry: dict, names: list[str]) -> dict | None:
    """Fisher-information errors of a one-bin counting model on its nominal Asimov data.

    sigma_mu = sqrt(s + b + sigma_b^2) / s, sigma_gamma = sigma_b / b.

    Args:
        entry: the model's config entry.
        names: its free parameters ([POI, gamma]).

    Returns:
        name -> sigma, or None where no closed form applies.
    """
    simple = entry.get("simple")
    if not simple or len(simple["signal"]) != 1 or entry.get("data", "asimov") != "asimov":
        return None
    if entry.get("asimov_parameters") or entry.get("fixed"):
        return None
    s, b, sb = simple["signal"][0], simple["background"][0], simple["background_uncertainty"][0]
    return {names[0]: float(np.sqrt(s + b + sb**2) / s), names[1]: float(sb / b)}


def analyse(entry: dict, cfg: dict) -> dict:
    """Fit one model entry: MLE, autodiff covariance, HESSE, MINOS, profile, pulls.

    Args:
        entry: the model's config entry (without `grid`).
        cfg: the other `likelihood` keys (flag_rtol, profile_points, profile_span_sigma,
            minos_max_parameters).

    Returns:
        The fields of `artifacts.FitResult` except model, definition and provenance.
    """
    enable_float64()
    model, data = build_model(entry)
    lik = make_likelihood(model, data, entry)
    fit = fit_mle(lik)
    x_hat, m = fit.pop("x"), fit.pop("minuit")
    m.values = x_hat
    m.hesse()
    poi_name = model.config.poi_name
    poi = lik.names.index(poi_name) if poi_name in lik.names else None
    # MINOS costs two minimisations per parameter: every parameter up to minos_max_parameters,
    # above that the POI alone.
    if len(lik.names) <= cfg["minos_max_parameters"]:
        m.minos()
    elif poi is not None:
        m.minos(poi_name)
    cov = hessian_covariance(lik, x_hat)
    sigma = np.sqrt(np.diag(cov))
    profile, interval = None, None
    if poi is not None:
        grid, delta = profile_scan(lik, poi, x_hat, sigma[poi], cfg["profile_span_sigma"], cfg["profile_points"])
        interval = profile_interval(lik, poi, x_hat, sigma[poi])
        profile = {"parameter": poi_name, "values": grid, "delta_2nll": delta, "interval_68": interval}
    # pulls of the constrained parameters against their pre-fit centres (pyhf's suggested init)
    centres = np.asarray(model.config.suggested_init(), float)[lik.free]
    widths = lik.fitter.prior_widths()[lik.free]
    pulls = [
        {
            "parameter": name,
            "pull": (x_hat[i] - centres[i]) / widths[i],
            "constraint": sigma[i] / widths[i],
        }
        for i, name in enumerate(lik.names)
        if widths[i] > 0
    ]
    crosscheck = crosscheck_table(lik, x_hat, cov, m, poi, interval, cfg["flag_rtol"])
    return {
        "closed_form": closed_form_errors(entry, lik.names),
        "parameters": lik.names,
        "all_parameters": lik.fitter.names,
        "bestfit_all": lik.full(x_hat),
        "bestfit": x_hat,
        "bounds": lik.bounds,
        "poi": poi_name,
        "twice_nll": 2.0 * lik.nll(x_hat),
        "sigma_autodiff": sigma,
        "covariance": cov,
        "correlation": correlation(cov),
        "covariance_hesse": np.asarray(m.covariance),
        "crosscheck": crosscheck,
        "flag_groups": flag_groups(crosscheck),
        "poi_interval": poi_interval(crosscheck, poi_name if poi is not None else None),
        "profile": profile,
        "pulls": pulls,
        "convergence": fit,
        "data": data,
        "held": {n: float(v) for n, v, f in zip(lik.fitter.names, lik.fitter.init, lik.fitter.fixed) if f},
    }


def run_fit(job, name: str, entry: dict, settings: dict, output: str) -> None:
    """Rule `fit`: fit one model and write its fit.json.

    Args:
        job: the `runtime.Job`.
        name: the model's name.
        entry: its config entry (without `grid`).
        settings: the other `likelihood` keys.
        output: path of fit.json.
    """
    from diffpipe.artifacts import FitResult
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job

    with compute_job(job) as device:
        started = time.perf_counter()
        result = analyse(entry, settings)
        for row in result["crosscheck"]:
            if row["flagged"]:
                log.warning(
                    "%s: %s differs by %.2g%% (%s)",
                    row["parameter"],
                    row["worst"],
                    100 * row["max_rel_diff"],
                    row["reason"],
                )
        prov = Provenance.record({"model": entry, "settings": settings}, device, time.perf_counter() - started)
        FitResult(model=name, definition=entry, **result, provenance=prov).write(output)
