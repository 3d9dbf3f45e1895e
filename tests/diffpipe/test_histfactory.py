"""The HistFactory kernel against pyhf (jax backend, float64): value, gradient, Hessian, expected data.

Every modifier kind and interpolation code on small specifications, modifiers shared across
samples and channels, every shipped workspace, the generated likelihood and both published
likelihoods (background-only and a sample of patches; every patch's layout).
"""

import json
from decimal import Decimal, getcontext
from fractions import Fraction

import numpy as np
import pytest
from conftest import ROOT

from diffpipe.histfactory import HistFactory, KernelError

pytestmark = pytest.mark.pyhf_jax  # pyhf's JAX graph is the reference
POINTS = 100
PUBLISHED = ROOT / "resources" / "published"


def _references(model, data, hessian=True):
    """pyhf's -ln L, gradient, Hessian (None without) and expected data, vmapped over points (one compilation)."""
    import jax

    def nll(p):
        return -model.logpdf(p, data)[0]

    def everything(p):
        value, grad = jax.value_and_grad(nll)(p)
        return value, grad, jax.hessian(nll)(p) if hessian else None, model.expected_data(p)

    return jax.jit(jax.vmap(everything))


def _ours(hf, data, derived):
    """The kernel's -ln L, autodiff gradient, structured value/gradient/Hessian and expected data,
    vmapped over points (one compilation)."""
    import jax

    def everything(p):
        return (
            hf.nll(p, data, derived),
            jax.grad(lambda q: hf.nll(q, data, derived))(p),
            *hf.nll_grad_hess(p, data, derived),
            hf.expected(p, derived),
        )

    return jax.jit(jax.vmap(everything))


def _points(model, n, seed=0, start=True):
    lo, hi = np.asarray(model.config.suggested_bounds(), float).T
    # the ranges pyhf suggests for normsys/histosys (-5, 5) include both extrapolation branches
    rng = np.random.default_rng(seed)
    points = lo + (hi - lo) * rng.uniform(0.02, 0.98, (n, len(lo)))
    if start:
        points[0] = model.config.suggested_init()
    return points


def assert_agrees(model, data=None, n=POINTS, seed=0, start=True, pyhf_hessian=True):
    """Kernel and pyhf agree to 1e-10 relative at n points (the first one the suggested start).

    Without `pyhf_hessian` (pyhf's Hessian graph of a published likelihood takes most of a
    minute to compile) the structured Hessian is checked against central differences of the
    structured gradient, itself checked against pyhf's.
    """
    import jax.numpy as jnp

    data = np.asarray(model.expected_data(model.config.suggested_init()) if data is None else data, float)
    hf = HistFactory(model)
    derived = hf.default()
    points = _points(model, n, seed, start)
    ref_f, ref_g, ref_h, ref_e = (
        None if a is None else np.asarray(a) for a in _references(model, jnp.asarray(data), pyhf_hessian)(points)
    )
    ours = _ours(hf, data, derived)
    f, g_auto, sf, sg, sh, expected = (np.asarray(a) for a in ours(points))
    assert_close_to_pyhf(f, ref_f, pyhf_rounding(hf, points, data, derived))
    assert_close_to_pyhf(sf, ref_f, pyhf_rounding(hf, points, data, derived))
    # gradient components are differences of terms up to shapesys' tau (1e11 in a published
    # likelihood): compare relative to the size of the terms they are made of
    scale = np.abs(ref_g) + np.max(np.abs(ref_g), axis=1, keepdims=True) + _tau_scale(hf)[None, :]
    assert np.all(np.abs(g_auto - ref_g) <= 1e-10 * scale)
    assert np.all(np.abs(sg - ref_g) <= 1e-10 * scale)
    np.testing.assert_allclose(expected, ref_e, rtol=1e-10, atol=1e-300)
    if pyhf_hessian:
        h_scale = np.abs(ref_h) + np.max(np.abs(ref_h), axis=(1, 2), keepdims=True)
        assert np.all(np.abs(sh - ref_h) <= 1e-10 * h_scale)
        return
    # H v against (g(x + e v) - g(x - e v)) / 2e along random directions, at the first points
    rng = np.random.default_rng(seed)
    for i in range(3):
        v = rng.normal(size=points.shape[1])
        step = 1e-5 * (1.0 + np.abs(points[i]))
        moved = np.stack([points[i] + step * v, points[i] - step * v])
        g_plus, g_minus = np.asarray(ours(moved)[3])
        fd = (g_plus - g_minus) / 2.0
        hv = sh[i] @ (step * v)
        assert np.linalg.norm(hv - fd) <= 1e-6 * np.linalg.norm(hv), (i, np.linalg.norm(hv - fd) / np.linalg.norm(hv))


def assert_values_agree(model, data, n=10, seed=0):
    """-ln L equals pyhf's (jax backend) at n points; structured and autodiff gradients agree."""
    import jax
    import jax.numpy as jnp

    hf = HistFactory(model)
    derived = hf.default()
    points = _points(model, n, seed)
    data = np.asarray(data, float)
    ref = -np.asarray(jax.jit(jax.vmap(lambda p: model.logpdf(p, jnp.asarray(data))[0]))(points))
    _, g_auto, f, g, _, _ = (np.asarray(a) for a in _ours(hf, data, derived)(points))
    assert_close_to_pyhf(f, ref, pyhf_rounding(hf, points, data, derived))
    scale = np.abs(g_auto) + np.max(np.abs(g_auto), axis=1, keepdims=True) + _tau_scale(hf)[None, :]
    assert np.all(np.abs(g - g_auto) <= 1e-10 * scale)


def assert_close_to_pyhf(ours, ref, rounding):
    """Values equal to 1e-10 relative plus pyhf's own rounding; NaN (a negative rate) where pyhf's is."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    finite = ~np.isnan(ref)
    assert np.all(np.abs(ours - ref)[finite] <= (1e-10 * np.abs(ref) + rounding)[finite])


def pyhf_rounding(hf, points, data, derived):
    """A bound on the float64 rounding of pyhf's -ln L at each point.

    pyhf sums lam - n ln lam + lgamma(n + 1) per Poisson term; where n is ~1e11 (shapesys
    auxiliary data) each part is ~1e12 and the sum is off by up to a few 1e-4. The kernel
    computes the same quantity without that cancellation (`poisson.poisson_nll`), so the
    two agree to the size of the parts pyhf adds, times a few ulps.
    """
    import jax
    from scipy.special import gammaln

    st, data = hf.structure, np.asarray(data, float)
    lam = np.asarray(jax.vmap(lambda p: hf.expected_main(p, derived))(points))
    n, aux = data[: st.nbins], data[st.nbins :]
    parts = np.sum(np.abs(lam) + np.abs(n * np.log(np.maximum(np.abs(lam), 1e-300))) + gammaln(n + 1.0), axis=1)
    if len(st.poisson_par):
        a, rate = aux[st.poisson_aux], points[:, st.poisson_par] * np.asarray(derived["tau"])
        parts = parts + np.sum(np.abs(rate) + np.abs(a * np.log(np.abs(rate))) + gammaln(a + 1.0), axis=1)
    return 8 * np.finfo(float).eps * parts


def _tau_scale(hf):
    scale = np.zeros(hf.structure.npars)
    if len(hf.structure.poisson_par):
        scale[hf.structure.poisson_par] = np.asarray(hf.default()["tau"])
    return scale


def _workspace(samples, channels=("SR",), poi="mu", settings=None, measurement_parameters=(), **options):
    """A pyhf model from {channel: [(sample, data, modifiers)]} with observations at the nominal.

    `options` go to pyhf's model (e.g. clip_sample_data).
    """
    import pyhf

    spec = {
        "channels": [
            {"name": c, "samples": [{"name": s, "data": list(d), "modifiers": list(m)} for s, d, m in samples[c]]}
            for c in channels
        ],
        "observations": [
            {"name": c, "data": list(np.sum([d for _, d, _ in samples[c]], axis=0) + 1.0)} for c in channels
        ],
        "measurements": [{"name": "m", "config": {"poi": poi, "parameters": list(measurement_parameters)}}],
        "version": "1.0.0",
    }
    workspace = pyhf.Workspace(spec)
    kwargs = {} if settings is None else {"modifier_settings": settings}
    model = workspace.model(**kwargs, **options)
    return model, workspace.data(model)


def _norm(name="mu"):
    return {"name": name, "type": "normfactor", "data": None}


NORMSYS = {"name": "ns", "type": "normsys", "data": {"hi": 1.12, "lo": 0.91}}
HISTOSYS = {"name": "hs", "type": "histosys", "data": {"hi_data": [22.0, 33.0, 9.0], "lo_data": [18.0, 26.0, 8.5]}}


@pytest.mark.parametrize(
    "settings",
    [
        None,  # pyhf's defaults: normsys code4, histosys code4p
        {"normsys": {"interpcode": "code1"}, "histosys": {"interpcode": "code0"}},
        {"normsys": {"interpcode": "code4"}, "histosys": {"interpcode": "code2"}},
    ],
    ids=["code4-code4p", "code1-code0", "code4-code2"],
)
def test_normsys_and_histosys_every_interpolation_code(settings):
    samples = {
        "SR": [
            ("signal", [5.0, 8.0, 2.0], [_norm(), NORMSYS]),
            ("bkg", [20.0, 30.0, 9.0], [HISTOSYS, {**NORMSYS, "data": {"hi": 1.3, "lo": 0.8}}]),
        ]
    }
    model, data = _workspace(samples, settings=settings)
    data = np.asarray(data, float)
    code1 = settings is not None and settings["normsys"]["interpcode"] == "code1"
    # code1 has a kink at alpha = 0, where pyhf's autodiff gradient is ln(lo) (d|alpha|/dalpha = 1
    # on the lower branch): neither one-sided derivative. Compared away from it; at the kink the
    # kernel gives the left derivative, checked against a one-sided difference below.
    assert_agrees(model, data, start=not code1)
    if code1:
        import jax

        hf = HistFactory(model)
        pars = np.asarray(model.config.suggested_init(), float)
        k = model.config.par_names.index("ns")
        grad = np.asarray(jax.grad(lambda p: hf.nll(p, data, hf.default()))(pars))[k]
        step = np.zeros_like(pars)
        step[k] = 1e-7
        left = (float(hf.nll(pars, data, hf.default())) - float(hf.nll(pars - step, data, hf.default()))) / 1e-7
        assert grad == pytest.approx(left, rel=1e-5)


@pytest.mark.parametrize("option", [{"clip_sample_data": 0.0}, {"clip_bin_data": 0.5}], ids=["sample", "bin"])
def test_clipped_rates_equal_pyhf(option):
    """pyhf's clip_sample_data / clip_bin_data: value, gradient and Hessian where clipping acts and where not.

    The background's histosys drives its first bin negative beyond alpha ~ -1.5, and that bin has
    no events: unclipped, -ln L would fall without bound there.
    """
    falling = {"name": "hs", "type": "histosys", "data": {"hi_data": [6.0, 31.0, 9.5], "lo_data": [0.5, 29.0, 8.5]}}
    samples = {"SR": [("signal", [1.0, 8.0, 2.0], [_norm(), NORMSYS]), ("bkg", [3.0, 30.0, 9.0], [falling])]}
    model, data = _workspace(samples, **option)
    data = np.asarray(data, float)
    data[0] = 0.0
    assert_agrees(model, data)
    hf = HistFactory(model)
    points = _points(model, POINTS)
    key = "sample" if "clip_sample_data" in option else "bin"
    raw = np.stack([np.asarray(hf.rates(p, hf.default()) if key == "bin" else _unclipped(hf, p)) for p in points])
    if key == "bin":
        raw = raw.sum(axis=1)
    clipped = np.any(raw < next(iter(option.values())), axis=tuple(range(1, raw.ndim)))
    assert 0 < clipped.sum() < len(points)  # both regimes were compared


def _unclipped(hf, pars):
    additive, g, norm, _, _ = hf.parts(pars, hf.default(), order=0)
    return additive * np.prod(np.asarray(g), axis=0) * norm


def test_a_parameter_that_is_both_normsys_and_histosys():
    """ROOT-made workspaces give one nuisance parameter an overall and a shape variation."""
    shared = {"name": "jes", "type": "histosys", "data": {"hi_data": [21.0, 34.0, 9.5], "lo_data": [19.5, 27.0, 8.0]}}
    samples = {
        "SR": [
            (
                "signal",
                [5.0, 8.0, 2.0],
                [_norm(), {"name": "jes", "type": "normsys", "data": {"hi": 1.05, "lo": 0.97}}],
            ),
            ("bkg", [20.0, 30.0, 9.0], [shared, {"name": "jes", "type": "normsys", "data": {"hi": 1.1, "lo": 0.95}}]),
        ]
    }
    model, data = _workspace(samples)
    assert_agrees(model, data)


def test_staterror_shared_by_samples_with_an_empty_bin():
    """staterror's width combines the samples it covers; a bin with no uncertainty is fixed at width 1."""
    samples = {
        "SR": [
            ("signal", [5.0, 8.0, 2.0], [_norm()]),
            ("b1", [20.0, 30.0, 9.0], [{"name": "stat", "type": "staterror", "data": [2.0, 3.0, 0.0]}]),
            ("b2", [10.0, 0.0, 4.0], [{"name": "stat", "type": "staterror", "data": [1.5, 0.0, 0.0]}]),
        ]
    }
    model, data = _workspace(samples)
    assert_agrees(model, data)


def test_shapesys_shapefactor_lumi_across_channels():
    """Modifiers shared across channels and samples, shapesys with an invalid (fixed) bin, lumi from the measurement."""
    lumi = {"name": "lumi", "type": "lumi", "data": None}
    samples = {
        "CR": [
            ("signal", [0.5, 1.0], [_norm(), lumi]),
            ("bkg", [50.0, 60.0], [lumi, {"name": "sf", "type": "shapefactor", "data": None}, _norm("mu_b")]),
        ],
        "SR": [
            ("signal", [5.0, 8.0], [_norm(), lumi, NORMSYS]),
            (
                "bkg",
                [20.0, 30.0],
                [lumi, {"name": "sf", "type": "shapefactor", "data": None}, _norm("mu_b"), NORMSYS],
            ),
            ("other", [4.0, 0.0], [{"name": "ss", "type": "shapesys", "data": [1.0, 0.0]}]),
        ],
    }
    parameters = [{"name": "lumi", "auxdata": [1.0], "sigmas": [0.02], "bounds": [[0.8, 1.2]], "inits": [1.0]}]
    model, data = _workspace(samples, channels=("CR", "SR"), measurement_parameters=parameters)
    assert_agrees(model, data)


@pytest.mark.parametrize(
    "path",
    [
        "resources/pyhf/2-bin_1-channel.json",
        "resources/pyhf/example_bkgonly.json",
        "resources/pyhf/multichan_coupledhistosys_histfactory.json",
        "resources/generated/bkgonly.json",
    ],
)
def test_shipped_workspaces(path):
    import pyhf

    workspace = pyhf.Workspace(json.loads((ROOT / path).read_text()))
    declared = {m["name"] for c in workspace["channels"] for s in c["samples"] for m in s["modifiers"]}
    poi = workspace.get_measurement()["config"]["poi"]
    model = workspace.model(poi_name=poi if poi in declared else None)  # a background-only workspace has none
    assert_agrees(model, workspace.data(model))


def test_patches_of_the_shipped_patchsets():
    import jax
    import jax.numpy as jnp
    import pyhf

    for bkg, patchset in (
        ("resources/pyhf/example_bkgonly.json", "resources/pyhf/example_patchset.json"),
        ("resources/generated/bkgonly.json", "resources/generated/patchset.json"),
    ):
        workspace = pyhf.Workspace(json.loads((ROOT / bkg).read_text()))
        patches = pyhf.PatchSet(json.loads((ROOT / patchset).read_text()))
        first, compiled = None, None
        # the first patch in full, then every sixth (each builds a pyhf model, ~1 s)
        for k, patch in enumerate(patches.patches):
            if k % 6:
                continue
            patched = patches.apply(workspace, patch.name)
            model = patched.model()
            data = np.asarray(patched.data(model), float)
            if k == 0:
                assert_agrees(model, data)
                first = HistFactory(model)
                compiled = jax.jit(jax.vmap(first.nll_grad_hess, in_axes=(0, None, None)))
                continue
            # every other patch: its numbers under the first patch's compiled kernel (one compilation)
            numbers = first.derive({key: jnp.asarray(v) for key, v in first.layout(patched).items()})
            points = _points(model, 5, seed=k)
            ref = np.asarray([-float(np.asarray(model.logpdf(p, data)).reshape(-1)[0]) for p in points])
            np.testing.assert_allclose(np.asarray(compiled(points, data, numbers)[0]), ref, rtol=1e-10)


@pytest.mark.parametrize("analysis", ["ATLAS-SUSY-2018-06_3L-eRJR", "ATLAS-SUSY-2019-08_1Lbb"])
def test_published_likelihoods(analysis):
    """Background-only against pyhf (values, gradients, expected data; the structured Hessian
    against differences of the gradient); one patch's values and structured gradients (a patch
    changes numbers, not the structure whose derivatives the background-only comparison checks);
    its numbers laid out as pyhf's."""
    import pyhf

    workspace = pyhf.Workspace(json.loads((PUBLISHED / analysis / "BkgOnly.json").read_text()))
    model = workspace.model(poi_name=None)
    assert_agrees(model, workspace.data(model), n=POINTS, pyhf_hessian=False)
    patchset = pyhf.PatchSet(json.loads((PUBLISHED / analysis / "patchset.json").read_text()))
    patches = patchset.patches
    for k in [len(patches) // 2]:  # building a 1Lbb patch's model takes ~5-10 s
        patch = patches[k]
        # not validated again (the patchset's schema fixes its operations): 2 s instead of 8 for 1Lbb
        patched = pyhf.Workspace(patch.apply(workspace), validate=False)
        model = patched.model(validate=False)
        assert_values_agree(model, patched.data(model), seed=k)
        own = HistFactory(model)
        for key, value in own.layout(patched).items():
            np.testing.assert_array_equal(value, own.numbers[key], err_msg=f"{patch.name}: {key}")


def test_specifications_that_do_not_fit_are_refused():
    samples = {"SR": [("signal", [5.0, 8.0, 2.0], [_norm()]), ("bkg", [20.0, 30.0, 9.0], [NORMSYS])]}
    model, _ = _workspace(samples)
    hf = HistFactory(model)
    spec = json.loads(json.dumps(model.spec))
    spec["channels"][0]["samples"][1]["modifiers"].append(
        {"name": "new", "type": "normsys", "data": {"hi": 1, "lo": 1}}
    )
    with pytest.raises(KernelError, match="normsys 'new' is not in the model"):
        hf.layout(spec)
    spec = json.loads(json.dumps(model.spec))
    spec["channels"][0]["samples"][1]["data"] = [1.0, 2.0]
    with pytest.raises(KernelError, match="has 2 bins, not 3"):
        hf.layout(spec)


def test_gradients_with_respect_to_the_numbers_equal_finite_differences():
    """The numbers are inputs: d(-ln L)/d(normsys hi, histosys hi, staterror, nominal) by autodiff and by differences."""
    import jax
    import jax.numpy as jnp

    samples = {
        "SR": [
            ("signal", [5.0, 8.0, 2.0], [_norm(), NORMSYS]),
            ("bkg", [20.0, 30.0, 9.0], [HISTOSYS, {"name": "stat", "type": "staterror", "data": [2.0, 3.0, 1.0]}]),
        ]
    }
    model, data = _workspace(samples)
    hf = HistFactory(model)
    pars = jnp.asarray(_points(model, 2, seed=3)[1])
    numbers = {k: jnp.asarray(v) for k, v in hf.numbers.items()}

    def f(nums):
        return hf.nll(pars, jnp.asarray(data), hf.derive(nums))

    grads = jax.grad(f)(numbers)
    for key in ("nominal", "normsys_hi", "histosys_hi", "staterror"):
        index = tuple(int(i) for i in np.argwhere(np.asarray(grads[key]) != 0)[0])
        step = 1e-6 * max(1.0, abs(float(numbers[key][index])))
        up = {**numbers, key: numbers[key].at[index].add(step)}
        down = {**numbers, key: numbers[key].at[index].add(-step)}
        fd = (float(f(up)) - float(f(down))) / (2 * step)
        assert float(grads[key][index]) == pytest.approx(fd, rel=1e-6), key


def _log_gamma(z: Decimal) -> Decimal:
    """ln Gamma(z) to ~40 digits: the recurrence up to z >= 40, then Stirling's series."""
    shift = Decimal(0)
    while z < 40:
        shift += z.ln()
        z += 1
    bernoulli = [Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30), Fraction(5, 66)]
    bernoulli += [Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510), Fraction(43867, 798)]
    series = sum(
        Decimal(b.numerator) / Decimal(b.denominator) / (Decimal(2 * k) * Decimal(2 * k - 1) * z ** (2 * k - 1))
        for k, b in enumerate(bernoulli, 1)
    )
    two_pi = 2 * Decimal("3.14159265358979323846264338327950288419716939937510")
    return (z - Decimal("0.5")) * z.ln() - z + (two_pi.ln() / 2) + series - shift


def test_poisson_nll_equals_a_40_digit_reference_and_has_no_cancellation_at_large_counts():
    """-ln Pois(n | lam) against decimal arithmetic, from n = 0 to shapesys-size counts (1.2e11)."""
    import jax.numpy as jnp

    from diffpipe.poisson import poisson_nll

    getcontext().prec = 50
    cases = [(0.0, 0.1), (0.0, 3.0)]
    for n in (0.5, 1.0, 3.0, 9.5, 10.0, 17.0, 1e3, 1e7, 1.2e11):
        cases += [(n, n * (1.0 + u)) for u in (-0.5, -1e-4, -1e-9, 0.0, 1e-9, 1e-4, 0.3, 5.0)]
    n, lam = (np.array(v) for v in zip(*cases))
    ours = np.asarray(poisson_nll(jnp.asarray(n), jnp.asarray(lam)))
    for value, (k, mu) in zip(ours, cases):
        k_, mu_ = Decimal(k), Decimal(mu)  # the exact float64 values
        ref = mu_ - (k_ * mu_.ln() if k else 0) + _log_gamma(k_ + 1)
        assert abs(Decimal(float(value)) - ref) <= Decimal(4e-15) * max(1, abs(ref)), (k, mu, value, ref)


def test_published_likelihood_is_smooth_where_pyhf_steps():
    """One ulp of a shapesys gamma with tau ~1e11 moves pyhf's -ln L by ~1e-3; the kernel's by nothing visible."""
    import jax
    import pyhf

    workspace = pyhf.Workspace(json.loads((PUBLISHED / "ATLAS-SUSY-2018-06_3L-eRJR" / "BkgOnly.json").read_text()))
    model = workspace.model(poi_name=None)
    data = np.asarray(workspace.data(model), float)
    hf = HistFactory(model)
    derived = hf.default()
    stiff = hf.structure.poisson_par[np.argmax(np.asarray(derived["tau"]))]
    assert float(np.max(derived["tau"])) > 1e10
    steps = np.asarray(model.config.suggested_init(), float) + np.zeros((64, 1))
    steps[:, stiff] = 1.0 - 1e-6 + np.arange(64) * np.spacing(1.0)  # 64 consecutive float64 values
    ours = np.asarray(jax.jit(jax.vmap(lambda p: hf.nll(p, data, derived)))(steps))
    theirs = -np.asarray(jax.jit(jax.vmap(lambda p: model.logpdf(p, data)[0]))(steps))
    assert np.max(np.abs(np.diff(ours))) < 1e-9  # a smooth function: its change over 64 ulps
    assert np.max(np.abs(np.diff(theirs))) > 1e-5  # pyhf's rounding steps (documents why)


def test_float32_hessian_products_change_the_hessian_by_a_float32_rounding_only():
    """1Lbb background-only: value and gradient identical, the Hessian within ~1e-6 of its scale."""
    import jax
    import jax.numpy as jnp
    import pyhf

    workspace = pyhf.Workspace(json.loads((PUBLISHED / "ATLAS-SUSY-2019-08_1Lbb/BkgOnly.json").read_text()))
    model = workspace.model(poi_name=None)
    hf = HistFactory(model)
    data = jnp.asarray(workspace.data(model))
    init, (lo, hi) = np.asarray(model.config.suggested_init()), np.asarray(model.config.suggested_bounds()).T
    for pars in np.clip(init + np.random.default_rng(4).normal(0.0, 0.3, (3, len(init))), lo, hi):
        exact = jax.jit(lambda p: hf.nll_grad_hess(p, data, hf.default()))(pars)
        cheap = jax.jit(lambda p: hf.nll_grad_hess(p, data, hf.default(), products=jnp.float32))(pars)
        assert float(exact[0]) == float(cheap[0])
        np.testing.assert_array_equal(np.asarray(exact[1]), np.asarray(cheap[1]))
        diff = np.abs(np.asarray(exact[2]) - np.asarray(cheap[2]))
        scale = np.sqrt(np.outer(np.abs(np.diag(exact[2])), np.abs(np.diag(exact[2]))))
        assert 0 < diff.max() and (diff / scale).max() < 1e-5
