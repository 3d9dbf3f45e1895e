"""Likelihood stage: MLE, autodiff-Hessian errors and their cross-checks (HESSE, MINOS, profile).

Covariance = inverse of the Hessian of the *negative* log-likelihood over the free
parameters. (The notebook's inv(-2 H) is the inverse Hessian of 2NLL: half the covariance.)

Convergence: the kernel's bounded Newton solve (`diffpipe.solver`) finds the minimum, MINUIT's
MIGRAD (strategy 2, with the exact JAX gradient) confirms it from there (its validity and EDM are
recorded, and HESSE and MINOS start from it); when it lies inside the bounds, Newton steps with the
autodiff Hessian polish it until the step is below 1e-12 relative, far past SLSQP's ~1e-3 on
multi-parameter workspaces. Profile fits are Newton solves with the parameter held.
"""

import logging
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from diffpipe.models import ParameterSetup, build_model, make_solver, nll_function, parameter_setup
from diffpipe.runtime import enable_float64
from diffpipe.solver import Solver, fit_all

log = logging.getLogger("diffpipe")
NEWTON_MAX_STEPS = 50
NEWTON_RTOL = 1e-12


@dataclass
class Likelihood:
    """Free-parameter view of a model: nll, gradient and Hessian as compiled callables.

    `solver` fits the model's full parameter vector with parameters held (the profile fits).
    """

    setup: ParameterSetup
    full_nll: object
    free: np.ndarray  # indices of the free parameters
    data: np.ndarray
    solver: Solver
    nll: object = field(init=False)
    grad: object = field(init=False)
    hess: object = field(init=False)

    def __post_init__(self) -> None:
        import jax
        import jax.numpy as jnp

        base = jnp.asarray(self.setup.init)
        free = jnp.asarray(self.free)

        def nll_free(x):
            return self.full_nll(base.at[free].set(x))

        self._nll = jax.jit(nll_free)
        self._grad = jax.jit(jax.grad(nll_free))
        self._hess = jax.jit(jax.hessian(nll_free))
        self.nll = lambda x: float(self._nll(np.asarray(x, float)))
        self.grad = lambda x: np.asarray(self._grad(np.asarray(x, float)))
        self.hess = lambda x: np.asarray(self._hess(np.asarray(x, float)))

    @property
    def names(self) -> list[str]:
        """Names of the free parameters.

        Returns:
            The names, in the order of the free-parameter vector.
        """
        return [self.setup.par_names[i] for i in self.free]

    @property
    def bounds(self) -> list[tuple[float, float]]:
        """Bounds of the free parameters.

        Returns:
            [(low, high)] per free parameter.
        """
        return [self.setup.bounds[i] for i in self.free]

    def full(self, x: np.ndarray) -> np.ndarray:
        """All parameters with the free ones set.

        Args:
            x: free-parameter values.

        Returns:
            Every parameter (fixed ones at their initial values).
        """
        pars = self.setup.init.copy()
        pars[self.free] = x
        return pars

    def solve(self, pars: np.ndarray, held: int | None = None):
        """The Newton solve (MINUIT where it does not converge) from every parameter's `pars`.

        Args:
            pars: start of every parameter (the held one at its value).
            held: free-parameter index of a parameter held at its start (None: none).

        Returns:
            The one-row `FitBatch`.
        """
        fixed = np.asarray(self.setup.fixed, bool).copy()
        if held is not None:
            fixed[self.free[held]] = True
        batch, _ = fit_all(self.solver, pars, self.data, fixed, pars, self.setup.bounds)
        return batch


def make_likelihood(model, data, entry=None) -> Likelihood:
    """The free-parameter likelihood of a model and its data.

    Args:
        model: a pyhf model (jax backend).
        data: its dataset.
        entry: the model's config entry (its `bounds` and `fixed`, see `models.parameter_setup`).

    Returns:
        The `Likelihood` (nll, gradient, Hessian compiled).
    """
    setup = parameter_setup(model, entry)
    free = np.flatnonzero(~np.asarray(setup.fixed))
    solver = make_solver(model, setup.bounds)
    return Likelihood(setup, nll_function(model, data), free, np.asarray(data, float), solver)


def _minuit(lik: Likelihood, start: np.ndarray):
    from iminuit import Minuit

    m = Minuit(lik.nll, np.asarray(start, float), grad=lik.grad, name=lik.names)
    m.errordef = Minuit.LIKELIHOOD  # nll: a 1-sigma change is 0.5
    m.limits = lik.bounds
    m.strategy = 2
    m.tol = 1e-6
    m.print_level = 0
    return m


def newton_polish(lik: Likelihood, x: np.ndarray) -> tuple[np.ndarray, int, bool]:
    """Newton steps with the exact Hessian from an interior point near the minimum.

    Args:
        lik: the likelihood.
        x: starting point (MIGRAD's minimum).

    Returns:
        (x, steps taken, converged): stops at a step below NEWTON_RTOL, at a bound, or when
        the nll would rise.
    """
    lo, hi = np.asarray(lik.bounds).T
    current = lik.nll(x)
    for step_count in range(1, NEWTON_MAX_STEPS + 1):
        try:
            step = np.linalg.solve(lik.hess(x), lik.grad(x))
        except np.linalg.LinAlgError:
            return x, step_count, False
        trial = x - step
        if np.any(trial <= lo) or np.any(trial >= hi):
            return x, step_count, False
        value = lik.nll(trial)
        if not value <= current + 1e-12 * max(1.0, abs(current)):
            return x, step_count, False
        x, current = trial, value
        if np.all(np.abs(step) <= NEWTON_RTOL * np.maximum(1.0, np.abs(x))):
            return x, step_count, True
    return x, NEWTON_MAX_STEPS, False


def fit_mle(lik: Likelihood, start: np.ndarray | None = None) -> dict:
    """The Newton solve, MIGRAD from its minimum (strategy 2, exact gradient), then Newton polish.

    Args:
        lik: the likelihood.
        start: free-parameter start (default: the model's suggested init).

    Returns:
        x (the MLE), migrad (valid, edm, nfcn, ngrad), newton_steps, newton_converged,
        gradient_norm, and the Minuit object under `minuit`.
    """
    start = lik.setup.init[lik.free] if start is None else np.asarray(start, float)
    if len(lik.free) > 1:
        # MIGRAD from the kernel's Newton minimum: it confirms the minimum (valid, edm) in a
        # few iterations instead of ~80 s of descent on a 120-parameter published likelihood
        start = lik.solve(lik.full(start)).x[0][lik.free]
    m = _minuit(lik, start)
    m.migrad()
    x = np.asarray(m.values, float)
    polished, steps, converged = newton_polish(lik, x)
    return {
        "x": polished,
        "migrad": {
            "valid": bool(m.valid),
            "edm": float(m.fmin.edm),
            "nfcn": int(m.nfcn),
            "ngrad": int(m.ngrad),
        },
        "newton_steps": steps,
        "newton_converged": bool(converged),
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


def prior_widths(model, names: list[str]) -> dict[str, tuple[float, float]]:
    """(centre, width) of each constrained parameter's prior, for pulls.

    Args:
        model: the pyhf model.
        names: the free parameters.

    Returns:
        name -> (centre, width) for the constrained ones.
    """
    out = {}
    init = model.config.suggested_init()
    order = list(model.config.par_names)
    for set_name in model.config.par_order:
        pset = model.config.param_set(set_name)
        if not pset.constrained:
            continue
        widths = pset.width()
        sl = model.config.par_slice(set_name)
        for offset, idx in enumerate(range(sl.start, sl.stop)):
            if order[idx] in names:
                out[order[idx]] = (float(init[idx]), float(widths[offset]))
    return out


NEAR_BOUND = "parameter at or near a bound: bounded errors differ from the unbounded Hessian"
NON_PARABOLIC = "non-parabolic likelihood: MINOS/profile follow the likelihood's shape, the Hessian only its curvature at the minimum"
HESSE_DIFFERS = "HESSE's numerical second derivatives differ from the exact ones (check convergence)"
# Causes that are properties of the likelihood (grouped into one line per model) rather than
# signs of a problem a reader should look at parameter by parameter.
PROPERTIES = (NEAR_BOUND, NON_PARABOLIC)


def _flag_reason(value, sigma, bounds, minos, worst) -> str:
    """Most likely cause of a >tolerance disagreement with the autodiff-Hessian sigma."""
    lo, hi = bounds
    lower, upper = minos
    cut = lower is None or upper is None or value + lower <= lo + 1e-6 * sigma or value + upper >= hi - 1e-6 * sigma
    if cut or (worst == "hesse" and min(value - lo, hi - value) < 2.0 * sigma):
        return NEAR_BOUND
    if worst != "hesse":
        return NON_PARABOLIC
    return HESSE_DIFFERS


def flag_groups(crosscheck: list[dict]) -> list[dict]:
    """The flagged cross-checks grouped by cause, as the report lists them.

    Args:
        crosscheck: the rows of `crosscheck_table`.

    Returns:
        One group per cause, in the order causes first appear: reason, attention (False for a
        property of the likelihood, listed as one line; True for what a reader should check
        parameter by parameter), parameters, estimates (the cross-checks that differ most),
        rel_diff ([least, largest] relative difference) and n_parameters (of the model).
    """
    groups: dict[str, dict] = {}
    for row in crosscheck:
        if not row["flagged"]:
            continue
        group = groups.setdefault(
            row["reason"],
            {"reason": row["reason"], "attention": row["reason"] not in PROPERTIES, "parameters": [], "estimates": []},
        )
        group["parameters"].append(row["parameter"])
        if row["worst"] not in group["estimates"]:
            group["estimates"].append(row["worst"])
        low, high = group.get("rel_diff", [row["max_rel_diff"]] * 2)
        group["rel_diff"] = [min(low, row["max_rel_diff"]), max(high, row["max_rel_diff"])]
    for group in groups.values():
        group["n_parameters"] = len(crosscheck)
    return list(groups.values())


def crosscheck_table(lik, x_hat, cov, m, poi_index, profile_iv, rtol) -> list[dict]:
    """Per parameter: autodiff sigma against HESSE, MINOS and (POI) the profile interval.

    Args:
        lik: the likelihood.
        x_hat: the MLE.
        cov: the autodiff covariance.
        m: the Minuit object after HESSE and MINOS.
        poi_index: the POI's free-parameter index (None: no POI).
        profile_iv: the POI's profile interval (absolute ends) or None.
        rtol: relative disagreement that gets flagged.

    Returns:
        One row per parameter (see `artifacts.FitResult.crosscheck`).
    """
    sigma = np.sqrt(np.diag(cov))
    hesse = np.sqrt(np.diag(np.asarray(m.covariance)))
    rows = []
    for i, name in enumerate(lik.names):
        merr = m.merrors[name] if name in m.merrors else None
        minos = (float(merr.lower), float(merr.upper)) if merr is not None and merr.is_valid else (None, None)
        row = {
            "parameter": name,
            "bestfit": float(x_hat[i]),
            "sigma_autodiff": float(sigma[i]),
            "sigma_hesse": float(hesse[i]),
            "minos_lower": minos[0],
            "minos_upper": minos[1],
            "profile_lower": None,
            "profile_upper": None,
        }
        checks = {"hesse": float(hesse[i])}
        if minos[0] is not None:
            checks["minos_lower"], checks["minos_upper"] = -minos[0], minos[1]
        if i == poi_index and profile_iv is not None:
            lower, upper = profile_iv
            if lower is not None:
                row["profile_lower"] = float(lower - x_hat[i])
                checks["profile_lower"] = float(x_hat[i] - lower)
            if upper is not None:
                row["profile_upper"] = float(upper - x_hat[i])
                checks["profile_upper"] = float(upper - x_hat[i])
        rel = {k: abs(v - sigma[i]) / sigma[i] for k, v in checks.items()}
        row["max_rel_diff"] = float(max(rel.values()))
        row["worst"] = max(rel, key=rel.get)
        row["flagged"] = bool(row["max_rel_diff"] > rtol)
        row["reason"] = _flag_reason(x_hat[i], sigma[i], lik.bounds[i], minos, row["worst"]) if row["flagged"] else ""
        rows.append(row)
    return rows


def poi_interval(crosscheck: list[dict], poi: str | None) -> dict | None:
    """The POI's 68% interval as the fit reports it.

    MINOS where both ends are valid, else the profile-likelihood interval, else the symmetric
    autodiff-Hessian error.

    Args:
        crosscheck: the rows of `crosscheck_table`.
        poi: the POI's name (None: no POI).

    Returns:
        parameter, value, lower and upper (offsets from the best fit) and method; None when the
        model has no free POI.
    """
    row = next((r for r in crosscheck if r["parameter"] == poi), None)
    if row is None:
        return None
    candidates = (
        ("MINOS", row["minos_lower"], row["minos_upper"]),
        ("profile likelihood", row["profile_lower"], row["profile_upper"]),
        ("Hessian (autodiff)", -row["sigma_autodiff"], row["sigma_autodiff"]),
    )
    method, lower, upper = next(c for c in candidates if c[1] is not None and c[2] is not None)
    return {"parameter": poi, "value": row["bestfit"], "lower": lower, "upper": upper, "method": method}


def closed_form_errors(spec: dict, names: list[str]) -> dict | None:
    """Fisher-information errors of a one-bin counting model on its nominal Asimov data.

    sigma_mu = sqrt(s + b + sigma_b^2) / s, sigma_gamma = sigma_b / b.

    Args:
        spec: the model's config entry.
        names: its free parameters ([POI, gamma]).

    Returns:
        name -> sigma, or None where no closed form applies.
    """
    simple = spec.get("simple")
    if not simple or len(simple["signal"]) != 1 or spec.get("data", "asimov") != "asimov":
        return None
    if spec.get("asimov_parameters") or spec.get("fixed"):
        return None
    s, b, sb = simple["signal"][0], simple["background"][0], simple["background_uncertainty"][0]
    return {names[0]: float(np.sqrt(s + b + sb**2) / s), names[1]: float(sb / b)}


def analyse(spec: dict, cfg: dict) -> dict:
    """Fit one model entry: MLE, autodiff covariance, HESSE, MINOS, profile, pulls.

    Args:
        spec: the model's config entry (without `grid`).
        cfg: the other `likelihood` keys (flag_rtol, profile_points, profile_span_sigma,
            minos_max_parameters).

    Returns:
        The fields of `artifacts.FitResult` except model, definition and provenance.
    """
    enable_float64()
    model, data = build_model(spec)
    lik = make_likelihood(model, data, spec)
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
    priors = prior_widths(model, lik.names)
    pulls = [
        {
            "parameter": name,
            "pull": (x_hat[i] - priors[name][0]) / priors[name][1],
            "constraint": sigma[i] / priors[name][1],
        }
        for i, name in enumerate(lik.names)
        if name in priors
    ]
    crosscheck = crosscheck_table(lik, x_hat, cov, m, poi, interval, cfg["flag_rtol"])
    return {
        "closed_form": closed_form_errors(spec, lik.names),
        "parameters": lik.names,
        "all_parameters": lik.setup.par_names,
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
        "held": {n: float(v) for n, v, f in zip(lik.setup.par_names, lik.setup.init, lik.setup.fixed) if f},
    }


def run_fit(job, name: str, spec: dict, settings: dict, output: str) -> None:
    """Rule `fit`: fit one model and write its fit.json.

    Args:
        job: the `runtime.Job`.
        name: the model's name.
        spec: its config entry (without `grid`).
        settings: the other `likelihood` keys.
        output: path of fit.json.
    """
    from diffpipe.artifacts import FitResult
    from diffpipe.provenance import Provenance
    from diffpipe.runtime import compute_job

    with compute_job(job) as device:
        started = time.perf_counter()
        result = analyse(spec, settings)
        for row in result["crosscheck"]:
            if row["flagged"]:
                log.warning(
                    "%s: %s differs by %.2g%% (%s)",
                    row["parameter"],
                    row["worst"],
                    100 * row["max_rel_diff"],
                    row["reason"],
                )
        prov = Provenance.record({"model": spec, "settings": settings}, device, time.perf_counter() - started)
        FitResult(model=name, definition=spec, **result, provenance=prov).write(output)
