"""Fits as differentiable functions of the specification: implicit differentiation at the optimum.

The best fit θ̂(φ) of ℓ(θ, φ) = -ln L(θ | data(φ), φ), free or with some parameters held, is a
root of the gradient over its floating parameters F; by the implicit function theorem
dθ̂_F/dφ = -H_FF⁻¹ ∂²ℓ/∂θ_F∂φ at the optimum (a parameter at an active bound is held: its bound
does not move with φ). The fits run once, at the published specification, in the compiled
solver (`solver.Solver`); what the derivatives need of them is a `FitPoint`.

Products are assembled from a few compiled partial derivatives (`Differentiable.functions`),
never by differentiating through a solver: at a fit, -ln L moves with φ only explicitly (the
envelope theorem: ∂ℓ/∂θ_F = 0 there), so q̃μ and q0 need first derivatives alone, and only a
dataset that is itself a fit's expected data (an Asimov dataset) needs dθ̂/dφ, as one adjoint
solve (`asimov_vjp`). Each compiled function is traced once per model, whatever the number of
fits or products.

Scales φ are those of `diffpipe.scales` ({"modifiers", "yields"}); the published specification
is every scale 1.
"""

from dataclasses import dataclass

import numpy as np

from diffpipe.compiled import kernel
from diffpipe.teststat import statistic_bounds

# A parameter within this fraction of its range from a bound, with the gradient pushing it
# out, is held there (an active bound).
ACTIVE_BOUND = 1e-9


@dataclass(frozen=True)
class FitPoint:
    """A fit found at the published specification, and what its implicit derivative needs.

    Attributes:
        x: best-fit parameters (npars,).
        free: the parameters that float there (not held, not at an active bound).
        hessian: the Hessian of -ln L at x over the free parameters, the identity elsewhere
            (so that one linear solve of fixed shape serves every fit).
    """

    x: np.ndarray
    free: np.ndarray
    hessian: np.ndarray


class Differentiable:
    """One prepared model's likelihood and fits as JAX functions of the specification scales.

    Args:
        analysis: the `inference.analysis.Analysis` (fits at the published specification).
        scales: the model's `scales.Scales`.
        data_mode: "observed" (main counts fixed; shapesys auxiliary data follow the scales, as
            pyhf builds them from the specification) or "asimov" (the data are the expected data
            at `asimov_pars`, recomputed for every φ).
        asimov_pars: parameters the Asimov data are generated at (data_mode "asimov").
        test_statistic: "qtilde" (μ̂ bounded below by 0) or "q" (the model's bounds).
    """

    def __init__(self, analysis, scales, data_mode: str = "observed", asimov_pars=None, test_statistic="qtilde"):
        self.a = analysis
        self.hf = kernel(analysis.model)
        self.scales = scales
        self.poi = analysis.poi
        self.test_statistic = test_statistic
        self.bounds = analysis.bounds.copy()
        if self.poi is not None:
            self.bounds = statistic_bounds(analysis.bounds, self.poi, test_statistic)
        self.data_mode = data_mode
        self.asimov_pars = None if asimov_pars is None else np.asarray(asimov_pars, float)
        self._nbins = self.hf.structure.nbins
        self._functions = None
        self._grad_hess = None
        if data_mode == "observed":
            st, tau = self.hf.structure, self.hf.default()["tau"]
            aux = analysis.data[self._nbins :]
            if len(st.poisson_aux) and not np.allclose(aux[st.poisson_aux], tau, rtol=1e-10, atol=0):
                raise ValueError("the shapesys auxiliary data are not the specification's (the model's own data?)")

    # -- the likelihood as a function of phi -----------------------------------------------

    def derived(self, phi):
        """The kernel's derived numbers at scales phi.

        Args:
            phi: the scales.

        Returns:
            The derived pytree.
        """
        return self.hf.derive(self.scales.numbers(phi))

    def data(self, phi, derived):
        """The dataset the model is fitted to, at scales phi.

        Args:
            phi: the scales.
            derived: `derived(phi)`.

        Returns:
            Main + auxiliary data.
        """
        import jax.numpy as jnp

        if self.data_mode == "asimov":
            return self.hf.expected(jnp.asarray(self.asimov_pars), derived)
        st = self.hf.structure
        aux = jnp.asarray(self.a.data[self._nbins :])
        if len(st.poisson_aux):
            aux = aux.at[st.poisson_aux].set(derived["tau"])
        return jnp.concatenate([jnp.asarray(self.a.data[: self._nbins]), aux])

    def nll(self, pars, data, derived):
        """-ln L (the kernel's).

        Args:
            pars: parameters.
            data: main + auxiliary data.
            derived: derived numbers.

        Returns:
            The scalar.
        """
        return self.hf.nll(pars, data, derived)

    # -- fits -------------------------------------------------------------------------------

    def fit_point(self, data=None, hold: dict | None = None, start=None) -> FitPoint:
        """Fit at the published specification (POI bounded below at 0) and find its free set.

        Args:
            data: the dataset (default: the model's).
            hold: {parameter index: value} held besides the model's fixed parameters.
            start: a start point, or several (rows: the fit with the lowest -ln L counts).

        Returns:
            The `FitPoint`.

        Raises:
            ValueError: the fit did not converge (its derivative would be meaningless).
        """
        data = self.a.data if data is None else np.asarray(data, float)
        starts = None if start is None else np.atleast_2d(np.asarray(start, float))  # None: the analysis's default
        fits = self.a.fit(data=data, hold=hold, start=starts, bounds=self.bounds)
        nll = np.where(fits.converged, fits.nll, np.inf)
        if not np.isfinite(nll).any():
            raise ValueError("a fit did not converge")
        x = fits.x[int(np.argmin(nll))]
        _, grad, hess = self._derivatives(x, data)
        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        margin = ACTIVE_BOUND * (hi - lo)
        active = ((x <= lo + margin) & (grad > 0)) | ((x >= hi - margin) & (grad < 0))
        free = ~np.asarray(self.a.fixed, bool) & ~active
        for index in hold or {}:
            free[index] = False
        padded = np.where(np.outer(free, free), hess, np.eye(len(x)))
        return FitPoint(x=x, free=free, hessian=padded)

    def _derivatives(self, x, data):
        if self._grad_hess is None:
            import jax

            self._grad_hess = jax.jit(self.hf.nll_grad_hess)
        value, grad, hess = self._grad_hess(x, data, self.hf.default())
        return float(value), np.asarray(grad), np.asarray(hess)

    def functions(self) -> dict:
        """The compiled partial derivatives every product is assembled from (built once).

        Returns:
            {"observed": (nll, (∂θ, ∂φ)) of -ln L(θ | data(φ), φ), batched over θ;
            "given": (nll, (∂θ, ∂data, ∂φ)) of -ln L(θ | data, φ), batched over θ;
            "expected_vjp": (θ, φ, w) -> wᵀ ∂(expected data)/∂(θ, φ);
            "implicit": (θ, free, padded Hessian, v, φ) -> vᵀ dθ̂/dφ of a fit to the data(φ)
            at θ (-(H⁻¹ v)ᵀ ∂∇θℓ/∂φ over the free parameters)}.
        """
        if self._functions is None:
            import jax
            import jax.numpy as jnp

            hf = self.hf

            def nll_observed(theta, phi):
                derived = self.derived(phi)
                return hf.nll(theta, self.data(phi, derived), derived)

            def nll_given(theta, data, phi):
                return hf.nll(theta, data, self.derived(phi))

            def expected_vjp(theta, phi, w):
                return jax.vjp(lambda t, p: hf.expected(t, self.derived(p)), theta, phi)[1](w)

            def implicit(theta, free, hessian, v, phi):
                lam = jnp.where(free, jnp.linalg.solve(hessian, jnp.where(free, v, 0.0)), 0.0)
                (dphi,) = jax.vjp(lambda p: jax.grad(nll_observed)(theta, p), phi)[1](lam)
                return jax.tree_util.tree_map(jnp.negative, dphi)

            self._functions = {
                "observed": jax.jit(jax.vmap(jax.value_and_grad(nll_observed, argnums=(0, 1)), in_axes=(0, None))),
                "given": jax.jit(jax.vmap(jax.value_and_grad(nll_given, argnums=(0, 1, 2)), in_axes=(0, None, None))),
                "expected_vjp": jax.jit(expected_vjp),
                "implicit": jax.jit(implicit),
            }
        return self._functions

    def fit_vjp(self, point: FitPoint, v, phi) -> dict:
        """vᵀ dθ̂/dφ of a fit to the data (implicit differentiation at the optimum).

        Args:
            point: the fit (its held parameters do not move).
            v: a cotangent over the parameters.
            phi: the scales.

        Returns:
            A pytree shaped like phi.
        """
        return self.functions()["implicit"](point.x, point.free, point.hessian, np.asarray(v, float), phi)

    def asimov_vjp(self, point: FitPoint, w, phi) -> dict:
        """wᵀ dA/dφ for A the expected data of a fit to the data (the fit moves with φ).

        Args:
            point: the fit whose expected data A is.
            w: a cotangent over the data.
            phi: the scales.

        Returns:
            A pytree shaped like phi.
        """
        dtheta, dphi = self.functions()["expected_vjp"](point.x, phi, np.asarray(w, float))
        return _add(dphi, self.fit_vjp(point, dtheta, phi))


def _add(a: dict, b: dict) -> dict:
    return {k: np.asarray(a[k]) + np.asarray(b[k]) for k in a}
