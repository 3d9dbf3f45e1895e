"""The expected sensitivity of a design as a differentiable function of its selection parameters.

The data are Asimov: the design has simulated events only. With A_m the expected data at μ = m
and every nuisance parameter at its nominal value, the expected median CLs at μ_test comes
from q̃μ,A = 2 (ℓ(μ, θ̂̂_μ | A_0) - ℓ(0, θ_0 | A_0)) (θ_0 is A_0's best fit), the expected upper
limit is the root of √q̃μ,A = Φ⁻¹(1 - α/2) (pyhf's median band), and Z_A = √q0 with
q0 = 2 (ℓ(0, θ̂̂_0 | A_1) - ℓ(1, θ_0 | A_1)). The Asimov data depend on the parameters only
through the histograms, never through a fit, so by the envelope theorem (∂ℓ/∂θ = 0 at θ̂̂ over
its floating parameters; one at a bound stays there) the gradient of q needs the fit's value,
not its derivative: q is differentiated with θ̂̂ held, and a limit's gradient is
-(∂q/∂φ) / (∂q/∂μ) at its root.
"""

import math

import numpy as np
from scipy.stats import norm

from diffpipe.design.design_model import kernel_numbers, workspace
from diffpipe.design.soft import soft_histograms
from diffpipe.teststat import increasing_root

LOSSES = ("cls", "limit", "inverse_significance")


class DesignError(ValueError):
    """A design whose expected sensitivity cannot be computed (no limit below the POI bound, a failed fit)."""


class Objective:
    """One design's likelihood, fits and loss.

    Args:
        events: the `events.Events`.
        binning: the `soft.Binning`.
        template: histograms giving the model's structure (any positive ones: the start's).
        loss: one of `LOSSES`.
        cl: confidence level of the limit (and of CLs's test).
        mu_test: the μ of the expected CLs.
        mu_max: the POI's upper bound (the limit search stops there).
    """

    def __init__(self, events, binning, template: dict, loss: str, cl: float, mu_test: float, mu_max: float):
        import jax
        import jax.numpy as jnp
        import pyhf

        from diffpipe.compiled import kernel
        from diffpipe.fitting import Fitter
        from diffpipe.runtime import enable_float64

        if loss not in LOSSES:
            raise ValueError(f"loss {loss!r} is not one of {LOSSES}")
        enable_float64()
        self.events, self.binning, self.loss = events, binning, loss
        self.level, self.mu_test, self.mu_max = 1.0 - cl, float(mu_test), float(mu_max)
        self.crossing = float(norm.isf(self.level / 2.0))  # median expected: CLs = 2 Φ(-√q̃μ,A)
        model = pyhf.Workspace(workspace(template, mu_max)).model()
        self.hf = hf = kernel(model)
        self.fitter = Fitter.of(model)
        self.init, self.poi = self.fitter.init, self.fitter.poi
        poi, init = self.poi, jnp.asarray(self.init)

        def at(mu):
            return init.at[poi].set(mu)

        def prepare(hists, mu_asimov):
            derived = hf.derive(kernel_numbers(hf, hists))
            data = hf.expected(at(mu_asimov), derived)
            return derived, data, hf.nll(at(mu_asimov), data, derived)

        def q(hists, theta, mu, mu_asimov):
            derived, data, reference = prepare(hists, mu_asimov)
            held = jax.lax.stop_gradient(theta).at[poi].set(mu)
            return 2.0 * (hf.nll(held, data, derived) - reference)

        def q_soft(params, theta, mu, mu_asimov):
            return q(soft_histograms(params, events, binning), theta, mu, mu_asimov)

        self._prepare = jax.jit(prepare)
        self._soft = jax.jit(lambda params: soft_histograms(params, events, binning))
        self._q_grad = jax.jit(jax.value_and_grad(q_soft, argnums=(0, 2)))
        self._warm = self.init.copy()

    # -- fits ---------------------------------------------------------------------------------

    def _held_fit(self, derived, data, mu: float) -> float:
        """-ln L of the fit with the POI held at mu (warm-started from the last fit)."""
        batch = self.fitter.sharing(derived).fit(np.asarray(data), hold={self.poi: mu}, start=self._warm)
        if not batch.converged[0]:
            raise DesignError(f"the fit with {mu=:.4g} held did not converge")
        self._warm = batch.x[0]
        return float(batch.nll[0])

    def _q(self, derived, data, reference, mu: float) -> float:
        return max(2.0 * (self._held_fit(derived, data, mu) - reference), 0.0)

    def _limit(self, derived, data, reference, guess: float | None) -> float:
        """The root of √q̃μ,A(μ) = crossing (`teststat.increasing_root`, its bracket from the guess)."""

        def excess(mu):
            return math.sqrt(self._q(derived, data, reference, mu)) - self.crossing

        value, why = increasing_root(excess, min(guess or 1.0, self.mu_max), self.mu_max, "expected CLs > 1 - CL")
        if why:
            raise DesignError(f"no expected limit: {why}")
        return value

    def solve(self, hists: dict, guess: float | None = None) -> dict:
        """The loss of a set of histograms and where its statistic was evaluated (fits, no gradient).

        Args:
            hists: the histograms (soft or hard).
            guess: a nearby expected limit (loss "limit": its bracket starts there).

        Returns:
            {"value": the loss, "mu": the μ tested, "mu_asimov": the Asimov data's μ,
            "q": q there, "theta": the held fit's parameters}.

        Raises:
            DesignError: a fit failed or no limit was found.
        """
        mu_asimov = 1.0 if self.loss == "inverse_significance" else 0.0
        derived, data, reference = self._prepare(hists, mu_asimov)
        reference = float(reference)
        if self.loss == "cls":
            mu = self.mu_test
            q = self._q(derived, data, reference, mu)
            value = 2.0 * float(norm.sf(math.sqrt(q)))
        elif self.loss == "limit":
            mu = self._limit(derived, data, reference, guess)
            q = self._q(derived, data, reference, mu)
            value = mu
        else:
            mu = 0.0
            q = self._q(derived, data, reference, mu)
            if q <= 0:
                raise DesignError("the expected significance is 0")
            value = 1.0 / math.sqrt(q)
        return {"value": value, "mu": mu, "mu_asimov": mu_asimov, "q": q, "theta": self._warm.copy()}

    def expected_limit(self, hists: dict, guess: float | None = None) -> float:
        """The expected median upper limit of a set of histograms (the compiled fits).

        Args:
            hists: the histograms.
            guess: a nearby limit.

        Returns:
            The limit on μ.
        """
        derived, data, reference = self._prepare(hists, 0.0)
        return self._limit(derived, data, float(reference), guess)

    def value_and_grad(self, params: dict, guess: float | None = None) -> tuple[dict, dict]:
        """The soft histograms' loss and its gradient with respect to the parameters.

        Args:
            params: {"cut", "logits"}.
            guess: as for `solve`.

        Returns:
            (`solve`'s dict, the gradient pytree shaped like params).
        """
        point = self.solve(self._soft(params), guess)
        q, (dq, dq_dmu) = self._q_grad(params, point["theta"], point["mu"], point["mu_asimov"])
        q = float(q)
        dq = {k: np.asarray(v, float) for k, v in dq.items()}
        if self.loss == "cls":
            root = math.sqrt(q)
            # d(2 Φ(-√q))/dq = -φ(√q) / √q
            factor = -float(norm.pdf(root)) / root if root > 0 else 0.0
        elif self.loss == "limit":
            factor = -1.0 / float(dq_dmu)
        else:
            factor = -0.5 * q**-1.5
        return point, {k: factor * v for k, v in dq.items()}
