"""HistFactory likelihoods compiled into fused JAX functions of (parameters, data, numbers).

pyhf parses and validates a workspace and fixes the parameter order; `HistFactory` takes the
built pyhf model and lays every number of its specification out as dense arrays (`numbers`):
each sample's nominal yields, normsys hi/lo factors, histosys hi/lo yields, staterror and
shapesys uncertainties, and the Gaussian constraint widths of the measurement (lumi among
them). Modifiers of one kind are one tensor over (modifier, sample, bin), so an evaluation is a
handful of array operations whatever the number of modifiers, and the numbers are an input:
the likelihood can be differentiated with respect to the analysis itself, and patches of one
structure share one compiled function.

Layout: S samples (`model.config.samples`), B main bins (the channels of
`model.config.channels` in turn), data = main counts (B) + auxiliary data (pyhf's
`auxdata_order`). Every interpolation code pyhf implements is reproduced exactly as its
vectorised code computes it (normsys: code1, code4; histosys: code0, code2, code4p), and so are
pyhf's model options that clip rates from below (clip_sample_data, clip_bin_data).

Two stages: `derive(numbers)` computes what does not depend on the parameters (interpolation
coefficients, constraint widths, shapesys scale factors); `nll(pars, data, derived)` and
`nll_grad_hess(pars, data, derived)` evaluate. `nll_grad_hess` gives the value, gradient and
Hessian from the structure of the model (rates are products of per-parameter factors times
sums of per-parameter shifts; constraint terms are diagonal) in a few matrix products, instead
of one forward pass per parameter through the graph.
"""

import numpy as np

from diffpipe.derivatives import GatherMaps, nll_grad_hess
from diffpipe.interpolation import derive_terms, derive_terms_np, histosys_shift, normsys_factor
from diffpipe.poisson import poisson_nll
from diffpipe.structure import (
    KernelError,
    Structure,
    bin_ranks,
    clip_value,
    interpolation_codes,
    layout_numbers,
    pack,
)

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


class HistFactory:
    """A pyhf model compiled into fused JAX functions with its specification's numbers as inputs.

    Args:
        model: a pyhf model (built with any backend; its spec and config are read, never its
            tensors).

    Raises:
        KernelError: the model uses a construct the layout does not cover.
    """

    def __init__(self, model):
        main = model.main_model
        config = model.config
        self.par_names = list(config.par_names)
        self._slices = {name: config.par_slice(name) for name in config.par_order}
        samples = tuple(config.samples)
        offsets, first = {}, 0
        for channel in config.channels:
            offsets[channel] = (first, config.channel_nbins[channel])
            first += config.channel_nbins[channel]
        self._offsets = offsets
        self._sample_index = {name: i for i, name in enumerate(samples)}
        nbins, nsamples = first, len(samples)
        kinds: dict[str, list[str]] = {}
        for name, kind in config.modifiers:
            kinds.setdefault(kind, []).append(name)
        unknown = set(kinds) - {"normsys", "histosys", "normfactor", "lumi", "shapefactor", "staterror", "shapesys"}
        if unknown:
            raise KernelError(f"unsupported modifier types {sorted(unknown)}")
        self._index = {kind: {name: k for k, name in enumerate(names)} for kind, names in kinds.items()}
        normsys, histosys = tuple(kinds.get("normsys", [])), tuple(kinds.get("histosys", []))
        staterror, shapesys = tuple(kinds.get("staterror", [])), tuple(kinds.get("shapesys", []))

        def masks(names, kind):
            out = np.zeros((len(names), nsamples, nbins), bool)
            for channel, sample, modifier in self._entries(model.spec, kind):
                lo, n = offsets[channel]
                out[self._index[kind][modifier["name"]], self._sample_index[sample["name"]], lo : lo + n] = True
            return out

        normsys_mask, histosys_mask = masks(normsys, "normsys"), masks(histosys, "histosys")
        staterror_mask, shapesys_mask = masks(staterror, "staterror"), masks(shapesys, "shapesys")
        npars = len(self.par_names)
        layers = []
        per_kind = {"staterror": staterror_mask, "shapesys": shapesys_mask}
        for kind in ("normfactor", "lumi", "shapefactor", "staterror", "shapesys"):
            kind_masks = per_kind.get(kind)
            if kind_masks is None:
                kind_masks = masks(kinds.get(kind, []), kind)
            for name in kinds.get(kind, []):
                mask = kind_masks[self._index[kind][name]]
                layer = np.full((nsamples, nbins), npars)
                start = self._slices[name].start
                if kind in ("normfactor", "lumi"):
                    layer[mask] = start
                elif kind == "shapefactor":
                    # pyhf: bin i of every channel it applies to takes the modifier's parameter i
                    local = np.concatenate([np.arange(config.channel_nbins[c]) for c in config.channels])
                    if local[mask.any(axis=0)].max(initial=-1) >= self._slices[name].stop - start:
                        raise KernelError(f"shapefactor {name!r} applies to more bins than its parameters")
                    layer = np.where(mask, start + local[None, :], npars)
                else:
                    ranks = bin_ranks(mask.any(axis=0))
                    if int(mask.any(axis=0).sum()) != self._slices[name].stop - start:
                        raise KernelError(
                            f"{kind} {name!r}: its bins do not match its {start}..{self._slices[name].stop} parameters"
                        )
                    per_bin = np.where(ranks >= 0, start + ranks, npars)
                    layer = np.where(mask, per_bin[None, :], npars)
                layers.append(layer)
        direct = pack(layers, npars, (nsamples, nbins))

        # the constraint terms, once: which parameter and auxiliary datum each is on, and pyhf's
        # widths and scale factors (the derived ones are checked against them)
        gauss_par, gauss_aux, gauss_stat, poisson_par, poisson_aux, poisson_source = [], [], [], [], [], []
        pyhf_sigmas, pyhf_factors = [], []
        aux = 0
        for name in config.auxdata_order:
            parset = config.param_set(name)
            start = self._slices[name].start
            for i in range(parset.n_parameters):
                if parset.pdf_type == "normal":
                    pyhf_sigmas.append((getattr(parset, "sigmas", None) or [1.0] * parset.n_parameters)[i])
                    gauss_par.append(start + i)
                    gauss_aux.append(aux + i)
                    if name in self._index.get("staterror", {}):
                        k = self._index["staterror"][name]
                        bins = np.flatnonzero(staterror_mask[k].any(axis=0))
                        gauss_stat.append((k, bins[i]))
                    else:
                        gauss_stat.append((-1, -1))
                elif parset.pdf_type == "poisson":
                    k = self._index["shapesys"][name]
                    bins = np.flatnonzero(shapesys_mask[k].any(axis=0))
                    pyhf_factors.append(parset.factors[i])
                    poisson_par.append(start + i)
                    poisson_aux.append(aux + i)
                    poisson_source.append((k, bins[i]))
                else:
                    raise KernelError(f"constraint type {parset.pdf_type!r} of {name!r} is not supported")
            aux += parset.n_parameters
        normsys_code, histosys_code = interpolation_codes(model)
        self.structure = Structure(
            npars=npars,
            nbins=nbins,
            samples=samples,
            channels=tuple((c, *offsets[c]) for c in config.channels),
            normsys=normsys,
            normsys_par=np.asarray([self._slices[n].start for n in normsys], int),
            normsys_mask=normsys_mask,
            histosys=histosys,
            histosys_par=np.asarray([self._slices[n].start for n in histosys], int),
            histosys_mask=histosys_mask,
            direct=direct,
            staterror=staterror,
            staterror_mask=staterror_mask,
            shapesys=shapesys,
            shapesys_mask=shapesys_mask,
            gauss_par=np.asarray(gauss_par, int),
            gauss_aux=np.asarray(gauss_aux, int),
            gauss_staterror=np.asarray(gauss_stat, int).reshape(-1, 2),
            poisson_par=np.asarray(poisson_par, int),
            poisson_aux=np.asarray(poisson_aux, int),
            poisson_source=np.asarray(poisson_source, int).reshape(-1, 2),
            normsys_code=normsys_code,
            histosys_code=histosys_code,
            clip_sample=clip_value(main, "clip_sample_data"),
            clip_bin=clip_value(main, "clip_bin_data"),
        )
        self.naux = aux
        self._gauss_sigma_default = np.asarray(pyhf_sigmas, float)
        self.numbers = self.layout(model.spec)
        self._default = derive_terms_np(self.structure, self.numbers)
        self._cache: dict = {}
        self.gather = GatherMaps(self.structure)
        self._check_widths(np.asarray(pyhf_factors, float))

    @staticmethod
    def _entries(workspace, kind: str):
        for channel in workspace["channels"]:
            for sample in channel["samples"]:
                for modifier in sample["modifiers"]:
                    if modifier["type"] == kind:
                        yield channel["name"], sample, modifier

    def _check_widths(self, factors: np.ndarray) -> None:
        """The widths and scale factors derived from the yields equal pyhf's (else a measurement overrode them)."""
        derived = self._default
        stat = self.structure.gauss_staterror[:, 0] >= 0
        if not np.allclose(derived["gauss_sigma"][stat], self._gauss_sigma_default[stat], rtol=1e-12, atol=0):
            raise KernelError("staterror widths differ from the yields' (overridden by the measurement?)")
        if not np.allclose(derived["tau"], factors.reshape(-1), rtol=1e-12, atol=0):
            raise KernelError("shapesys scale factors differ from the yields'")

    def layout(self, workspace, base: dict | None = None) -> dict:
        """The numbers of a workspace specification laid out for this structure (`structure.layout_numbers`).

        Args:
            workspace: a (patched) workspace specification with this model's channels, samples and
                modifiers (a patch of the same signal grid, say).
            base: numbers `workspace` changes in its samples only (see `layout_numbers`).

        Returns:
            The numbers (see `layout_numbers`).
        """
        return layout_numbers(
            self.structure, self._offsets, self._sample_index, self._index, self._gauss_sigma_default, workspace, base
        )

    # -- the JAX functions ------------------------------------------------------------------

    def derive(self, numbers: dict) -> dict:
        """What the likelihood needs of the numbers besides the parameters (JAX-traceable).

        Args:
            numbers: as `layout` returns (arrays or tracers).

        Returns:
            A dict of arrays (a pytree): nominal, the interpolation terms, gauss_sigma, tau.
        """
        return derive_terms(self.structure, numbers)

    def derive_compiled(self, numbers: dict) -> dict:
        """`derive` as one compiled call (a signal grid derives every patch's numbers).

        Args:
            numbers: as `layout` returns.

        Returns:
            The derived pytree.
        """
        import jax

        return self.cached("derive", lambda: jax.jit(self.derive))(numbers)

    def cached(self, name: str, build):
        """A function compiled once per kernel (the kernel is built once per model: `compiled.kernel`).

        Args:
            name: what it is ("expected", "sampler", ...).
            build: () -> the function, called the first time.

        Returns:
            The function.
        """
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    def default(self) -> dict:
        """`derive` of the model's own numbers (NumPy arrays: constants wherever they are traced).

        Returns:
            The derived pytree.
        """
        return self._default

    def parts(self, pars, derived, order: int):
        """The pieces of every rate nu = A G N (see `nll_grad_hess`), with derivatives for order 2.

        Args:
            pars: parameters (npars,).
            derived: `derive`'s output.
            order: 0 (values only) or 2 (first and second derivatives too).

        Returns:
            (A (S, B), per-layer value factors g (L, S, B), N (S, B), histosys (d1, d2),
            normsys (l, q)); the derivative pairs are None for order 0.
        """
        import jax.numpy as jnp

        st = self.structure
        shift, d1, d2 = histosys_shift(st.histosys_code, pars[st.histosys_par], derived, order)
        factor, lfac, qfac = normsys_factor(st.normsys_code, pars[st.normsys_par], derived, order)
        ext = jnp.concatenate([pars, jnp.ones(1, pars.dtype)])
        additive = derived["nominal"] + jnp.sum(shift, axis=0)
        return additive, ext[st.direct], jnp.prod(factor, axis=0), (d1, d2), (lfac, qfac)

    def rates(self, pars, derived):
        """Expected main rates per sample and bin.

        Args:
            pars: parameters (npars,).
            derived: `derive`'s output.

        Returns:
            nu (S, B).
        """
        import jax.numpy as jnp

        additive, g, norm, _, _ = self.parts(pars, derived, order=0)
        return self.clipped(additive * jnp.prod(g, axis=0) * norm)[0]

    def expected_main(self, pars, derived):
        """Expected counts per main bin.

        Args:
            pars: parameters (npars,).
            derived: `derive`'s output.

        Returns:
            The counts (B,).
        """
        import jax.numpy as jnp

        additive, g, norm, _, _ = self.parts(pars, derived, order=0)
        return self.clipped(additive * jnp.prod(g, axis=0) * norm)[1]

    def clipped(self, nu):
        """Rates per cell and bin totals under pyhf's clip options, and which cells still move.

        Args:
            nu: unclipped rates (S, B).

        Returns:
            (rates (S, B), totals (B,), bool (S, B): the cells whose rate varies with the parameters).
        """
        import jax.numpy as jnp

        st = self.structure
        live = jnp.ones(nu.shape, dtype=bool)
        if st.clip_sample is not None:
            live = nu > st.clip_sample
            nu = jnp.where(live, nu, st.clip_sample)
        lam = jnp.sum(nu, axis=0)
        if st.clip_bin is not None:
            live = live & (lam > st.clip_bin)[None, :]
            lam = jnp.maximum(lam, st.clip_bin)
        return nu, lam, live

    def expected_aux(self, pars, derived):
        """Expected auxiliary data (pyhf's `expected_auxdata`): θ for Gaussian terms, γτ for Poisson ones.

        Args:
            pars: parameters (npars,).
            derived: `derive`'s output.

        Returns:
            The auxiliary data (naux,).
        """
        import jax.numpy as jnp

        st = self.structure
        out = jnp.zeros(self.naux, pars.dtype)
        out = out.at[st.gauss_aux].set(pars[st.gauss_par])
        return out.at[st.poisson_aux].set(pars[st.poisson_par] * derived["tau"])

    def expected(self, pars, derived):
        """Expected data, main + auxiliary (pyhf's `expected_data`).

        Args:
            pars: parameters (npars,).
            derived: `derive`'s output.

        Returns:
            The data (B + naux,).
        """
        import jax.numpy as jnp

        return jnp.concatenate([self.expected_main(pars, derived), self.expected_aux(pars, derived)])

    def logpdf(self, pars, data, derived):
        """Ln L(pars | data) as pyhf's `model.logpdf` computes it (a scalar).

        Args:
            pars: parameters (npars,).
            data: main + auxiliary data.
            derived: `derive`'s output.

        Returns:
            The scalar.
        """
        return -self.nll(pars, data, derived)

    def nll(self, pars, data, derived):
        """-ln L(pars | data) (JAX-traceable in all three arguments).

        Args:
            pars: parameters (npars,).
            data: main + auxiliary data.
            derived: `derive`'s output.

        Returns:
            The scalar.
        """
        import jax.numpy as jnp

        st = self.structure
        lam = self.expected_main(pars, derived)
        n = data[: st.nbins]
        return jnp.sum(poisson_nll(n, lam)) + self.constraint_nll(pars, data[st.nbins :], derived)

    def in_domain(self, pars, data, derived):
        """Whether -ln L is pyhf's likelihood of a distribution here: no bin without events has a negative expected count.

        (A bin with events and a negative expected count gives NaN, which no fit accepts.)

        Args:
            pars: parameters (npars,).
            data: main + auxiliary data.
            derived: `derive`'s output.

        Returns:
            A scalar bool.
        """
        import jax.numpy as jnp

        lam = self.expected_main(pars, derived)
        return jnp.all((data[: self.structure.nbins] > 0) | (lam >= 0))

    def constraint_nll(self, pars, aux, derived):
        """-ln of the constraint terms alone (Gaussian and Poisson).

        Args:
            pars: parameters (npars,).
            aux: auxiliary data (naux,).
            derived: `derive`'s output.

        Returns:
            The scalar.
        """
        import jax.numpy as jnp

        st = self.structure
        value = jnp.zeros((), pars.dtype)
        if len(st.gauss_par):
            z = (aux[st.gauss_aux] - pars[st.gauss_par]) / derived["gauss_sigma"]
            value = value + jnp.sum(0.5 * z * z + jnp.log(derived["gauss_sigma"]) + _LOG_SQRT_2PI)
        if len(st.poisson_par):
            a, rate = aux[st.poisson_aux], pars[st.poisson_par] * derived["tau"]
            value = value + jnp.sum(poisson_nll(a, rate))
        return value

    def constraint_maxima(self, aux, derived) -> np.ndarray:
        """Where each constraint term alone is largest, given auxiliary data (NumPy, rows of datasets).

        A Gaussian term N(a | θ, σ) is largest at θ = a, a Poisson one Pois(a | γτ) at γ = a/τ.

        Args:
            aux: auxiliary data (..., naux).
            derived: `derive`'s output (its `tau`).

        Returns:
            (..., npars): those values, NaN for the parameters without a constraint term.
        """
        st = self.structure
        aux = np.asarray(aux, float)
        out = np.full((*aux.shape[:-1], st.npars), np.nan)
        out[..., st.gauss_par] = aux[..., st.gauss_aux]
        if len(st.poisson_par):
            out[..., st.poisson_par] = aux[..., st.poisson_aux] / np.asarray(derived["tau"], float)
        return out

    def constraint_widths(self, derived) -> np.ndarray:
        """Each constraint term's width: σ of a Gaussian one, 1/√τ of a Poisson one (pyhf's `width()`).

        Args:
            derived: `derive`'s output (its `gauss_sigma` and `tau`).

        Returns:
            (npars,): the widths, 0 for the parameters without a constraint term.
        """
        st = self.structure
        out = np.zeros(st.npars)
        out[st.gauss_par] = np.asarray(derived["gauss_sigma"], float)
        if len(st.poisson_par):
            out[st.poisson_par] = 1.0 / np.sqrt(np.asarray(derived["tau"], float))
        return out

    def nll_grad_hess(self, pars, data, derived, products=None):
        """-ln L, its gradient and its Hessian from the model's structure (`derivatives.nll_grad_hess`).

        Args:
            pars: parameters (npars,).
            data: main + auxiliary data.
            derived: `derive`'s output.
            products: dtype of the Hessian's matrix products (None: the parameters').

        Returns:
            (value, gradient (npars,), Hessian (npars, npars)).
        """
        return nll_grad_hess(self, pars, data, derived, products)
