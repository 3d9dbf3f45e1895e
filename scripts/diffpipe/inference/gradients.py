"""Gradients of q̃μ, CLs, the CLs upper limits and the discovery significance with respect to the specification.

Everything is differentiated at the published specification (every scale 1) from fits made
there (`diffpipe.implicit`):

- q̃μ = 2 (ℓ(θ̂_μ) - ℓ(θ̂)) moves with φ only explicitly (envelope theorem), and with μ through
  the held POI: dq̃μ/dμ = 2 ∂ℓ/∂μ at θ̂_μ. On the Asimov data A(φ), the expected data of the
  μ = 0 fit to the data, the data's own dependence is added: dq̃μ,A gains wᵀ dA/dφ with
  w = ∂q̃μ,A/∂A, which moves the μ = 0 fit (one adjoint solve).
- CLs (pyhf's q̃μ test statistic t) is a function of q̃μ and q̃μ,A: chain rule.
- An upper limit μ̂ is the root of h(μ, φ) = ln CLs - ln(1 - CL) (observed) or
  √q̃μ,A - s_n (expected at n σ, `limits.expected_crossing`): dμ̂/dφ = -(∂h/∂φ) / (∂h/∂μ).
- Z = √q0: the observed q0 from the fits with μ = 0 and free; the expected one on the Asimov
  data of the μ = 1 fit (pyhf's convention).
"""

import math
from dataclasses import dataclass

import numpy as np

from diffpipe.implicit import Differentiable, FitPoint
from diffpipe.inference.limits import expected_crossing
from diffpipe.teststat import BAND, log_cls, log_cls_partials


@dataclass(frozen=True)
class Statistic:
    """A test statistic at the published specification and its derivatives.

    Attributes:
        value: its value.
        dphi: d value / dφ (a pytree shaped like φ).
        dmu: d value / dμ (the μ tested).
    """

    value: float
    dphi: dict
    dmu: float


def _combine(*terms) -> dict:
    """Σ c · pytree over (c, pytree) pairs."""
    keys = terms[0][1].keys()
    return {k: sum(c * np.asarray(tree[k]) for c, tree in terms) for k in keys}


def _zero(phi: dict) -> dict:
    return {k: np.zeros_like(np.asarray(v, float)) for k, v in phi.items()}


class InferenceGradients:
    """Gradients of one model's inference products with respect to its specification scales.

    Args:
        model: the `Differentiable` model (must have a POI).
        cl: confidence level of the limits.

    Raises:
        ValueError: the model has no POI, or a fit the gradients need did not converge.
    """

    def __init__(self, model: Differentiable, cl: float = 0.95):
        if model.poi is None:
            raise ValueError("the model has no POI")
        self.m = model
        self.cl = cl
        self.poi = model.poi
        self.phi = model.scales.ones()
        self.free = model.fit_point()  # started as `CLsScan`'s free fit is
        self.bkg = model.fit_point(hold={self.poi: 0.0}, start=self.free.x)
        self.asimov = model.a.expected_data(self.bkg.x)
        self.free_asimov = model.fit_point(data=self.asimov, start=self.bkg.x)

    # -- test statistics ----------------------------------------------------------------------

    def _observed(self, free: FitPoint, held: FitPoint) -> Statistic:
        """2 (ℓ(held) - ℓ(free)) on the data, which depend on φ only through the specification."""
        values, (dtheta, dphi) = self.m.functions()["observed"](np.stack([held.x, free.x]), self.phi)
        values, dtheta = np.asarray(values), np.asarray(dtheta)
        dphi = {k: np.asarray(v) for k, v in dphi.items()}
        return Statistic(
            value=max(2.0 * float(values[0] - values[1]), 0.0),
            dphi=_combine((2.0, {k: v[0] for k, v in dphi.items()}), (-2.0, {k: v[1] for k, v in dphi.items()})),
            dmu=2.0 * float(dtheta[0, self.poi]),
        )

    def _on_asimov(self, source: FitPoint, data, free: FitPoint, held: FitPoint) -> Statistic:
        """2 (ℓ(held) - ℓ(free)) on the Asimov data of the fit `source`, which moves with φ."""
        values, (dtheta, ddata, dphi) = self.m.functions()["given"](np.stack([held.x, free.x]), data, self.phi)
        values, dtheta, ddata = np.asarray(values), np.asarray(dtheta), np.asarray(ddata)
        dphi = {k: np.asarray(v) for k, v in dphi.items()}
        through_data = self.m.asimov_vjp(source, 2.0 * (ddata[0] - ddata[1]), self.phi)
        return Statistic(
            value=max(2.0 * float(values[0] - values[1]), 0.0),
            dphi=_combine(
                (2.0, {k: v[0] for k, v in dphi.items()}),
                (-2.0, {k: v[1] for k, v in dphi.items()}),
                (1.0, through_data),
            ),
            dmu=2.0 * float(dtheta[0, self.poi]),
        )

    def _excluded_side(self, muhat: float, mu: float) -> Statistic | None:
        """q̃μ is 0 for μ̂ > μ (no gradient there)."""
        return Statistic(0.0, _zero(self.phi), 0.0) if muhat > mu else None

    def qmu(self, mu: float, start=None) -> tuple[Statistic, Statistic]:
        """Q̃μ on the data and on the background-only Asimov data, with their gradients.

        Args:
            mu: the μ tested.
            start: (data start, Asimov start) for the fits at μ (default: the free fits).

        Returns:
            (q̃μ, q̃μ,A) as `Statistic`s.
        """
        # the fits at μ start as `CLsScan`'s do: from the nearest fit (or the free fit) and from
        # the model's initial values (a likelihood with several minima may trap one of them)
        near = start or (self.free.x, self.free_asimov.x)
        starts = [np.stack([x, self.m.a.init]) for x in near]
        q = self._excluded_side(self.free.x[self.poi], mu)
        if q is None:
            q = self._observed(self.free, self.m.fit_point(hold={self.poi: mu}, start=starts[0]))
        qa = self._excluded_side(self.free_asimov.x[self.poi], mu)
        if qa is None:
            held = self.m.fit_point(data=self.asimov, hold={self.poi: mu}, start=starts[1])
            qa = self._on_asimov(self.bkg, self.asimov, self.free_asimov, held)
        return q, qa

    def log_cls(self, mu: float, start=None) -> Statistic:
        """Ln CLs on the data at μ (pyhf's asymptotic q̃μ calculator), with its gradient.

        Args:
            mu: the μ tested.
            start: as for `qmu`.

        Returns:
            The `Statistic` of ln CLs.
        """
        q, qa = self.qmu(mu, start)
        dq, dqa = log_cls_partials(q.value, qa.value, self.m.test_statistic)
        return Statistic(
            value=log_cls(q.value, qa.value, self.m.test_statistic),
            dphi=_combine((dq, q.dphi), (dqa, qa.dphi)),
            dmu=dq * q.dmu + dqa * qa.dmu,
        )

    # -- products -----------------------------------------------------------------------------

    def limits(self, limits: dict, scan=None) -> dict:
        """dμ̂/dφ of every upper limit found (observed, expected band), by implicit differentiation of its root.

        Args:
            limits: `inference.limits.upper_limits`' result at the published specification.
            scan: its `CLsScan`, whose fits at nearby μ start the fits at each limit.

        Returns:
            {"observed" | "expected_{n:+d}sigma": gradient pytree}; a limit not found has none.
        """
        level = 1.0 - self.cl
        out = {}
        if math.isfinite(limits["observed"]):
            mu = float(limits["observed"])
            h = self.log_cls(mu, _starts(scan, mu))
            out["observed"] = _root_gradient(h)
        for n, mu in zip(BAND, limits["expected"]):
            if not math.isfinite(mu):
                continue
            _, qa = self.qmu(float(mu), _starts(scan, float(mu)))
            root = math.sqrt(qa.value)
            s_n = expected_crossing(n, level)
            h = Statistic(root - s_n, _combine((0.5 / root, qa.dphi)), 0.5 / root * qa.dmu)
            out[f"expected_{n:+d}sigma"] = _root_gradient(h)
        return out

    def significance(self) -> dict:
        """dZ/dφ of the observed and the expected (Asimov data of the μ = 1 fit) discovery significance.

        Returns:
            {"observed_z", "expected_z": gradient pytree}; a Z of 0 has none.
        """
        m, poi = self.m, self.poi
        out = {}
        if self.free.x[poi] > 0:
            q0 = self._observed(self.free, m.fit_point(hold={poi: 0.0}, start=self.free.x))
            if q0.value > 0:
                out["observed_z"] = _combine((0.5 / math.sqrt(q0.value), q0.dphi))
        signal = m.fit_point(hold={poi: 1.0}, start=self.free.x)
        asimov = m.a.expected_data(signal.x)
        free_a = m.fit_point(data=asimov, start=signal.x)
        if free_a.x[poi] > 0:
            null_a = m.fit_point(data=asimov, hold={poi: 0.0}, start=signal.x)
            q0a = self._on_asimov(signal, asimov, free_a, null_a)
            if q0a.value > 0:
                out["expected_z"] = _combine((0.5 / math.sqrt(q0a.value), q0a.dphi))
        return out


def _starts(scan, mu: float):
    """Warm starts for the fits at μ from a scan's nearest fits (None: the free fits)."""
    if scan is None:
        return None
    return scan.warm_start(mu, False), scan.warm_start(mu, True)


def _root_gradient(h: Statistic) -> dict:
    """dμ/dφ of the root of h(μ, φ) = 0: -(∂h/∂φ) / (∂h/∂μ)."""
    return _combine((-1.0 / h.dmu, h.dphi))
