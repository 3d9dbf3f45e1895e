"""Gradients of fits, q̃μ, CLs, upper limits and Z with respect to the specification, against
central finite differences of the non-differentiated pipeline: the scaled specification is
written into the workspace JSON, pyhf rebuilds the model from it, and every fit and root is
found again (`sensitivity.refit`)."""

import numpy as np
import pytest

from diffpipe.inference.analysis import prepare
from diffpipe.inference.gradients import InferenceGradients
from diffpipe.inference.limits import CLsScan, upper_limits
from diffpipe.inference.sensitivity import differentiable, refit
from diffpipe.models import build_model
from diffpipe.teststat import BAND
from diffpipe.workspaces import specification

STEP = 1e-4
# one model per modifier kind: normsys + staterror (observed data), shapesys (Asimov data of a
# simple model), histosys, and the generated published-style likelihood with every kind
MODELS = {
    "example_patch": {
        "spec": {
            "workspace": "resources/pyhf/example_bkgonly.json",
            "patchset": "resources/pyhf/example_patchset.json",
            "patch": "patch_channel1_signal_syst1",
            "measurement": "GaussExample",
            "data": "observed",
        },
        "modifiers": ["syst1", "syst2", "staterror_channel1"],
    },
    "simple": {
        "spec": {
            "simple": {"signal": [5.0, 3.0], "background": [10.0, 8.0], "background_uncertainty": [3.5, 2.0]},
            "data": "asimov",
        },
        "modifiers": ["uncorr_bkguncrt"],
    },
    "multichannel": {
        "spec": {"workspace": "resources/pyhf/multichan_coupledhistosys_histfactory.json", "data": "observed"},
        "modifiers": ["coupled_histosys"],
    },
    "generated": {
        "spec": {
            "workspace": "resources/generated/bkgonly.json",
            "patchset": "resources/generated/patchset.json",
            "patch": "sig_800_200",
            "data": "observed",
        },
        "modifiers": None,  # the lumi and a histosys (the other kinds: above), chosen below
    },
}


def _close(ours, reference, rel=1e-4, abs_=1e-6):
    ours, reference = np.asarray(ours, float), np.asarray(reference, float)
    assert np.all(np.abs(ours - reference) <= np.maximum(rel * np.abs(reference), abs_)), (ours, reference)


@pytest.fixture(scope="module", params=list(MODELS))
def case(request):
    entry = MODELS[request.param]
    spec = entry["spec"]
    model, data = build_model(spec)
    analysis = prepare(model, data, spec)
    scan = CLsScan(analysis)
    limits = upper_limits(scan, 0.95, curve_points=0)
    dm = differentiable(analysis, spec)
    grads = InferenceGradients(dm)
    names = entry["modifiers"]
    if names is None:
        names = [next(m.name for m in dm.scales.modifiers if kind in m.kinds) for kind in ("lumi", "histosys")]
    return {
        "name": request.param,
        "spec": spec,
        "analysis": analysis,
        "limits": limits,
        "model": dm,
        "grads": grads,
        "limit_grads": grads.limits(limits, scan),
        "z_grads": grads.significance(),
        "modifiers": names,
    }


def _central(case, modifiers=None, yields=None):
    """Central differences of (limits, Z) for one direction of scales."""
    results = []
    for sign in (1.0, -1.0):
        mods = {k: 1.0 + sign * STEP * v for k, v in (modifiers or {}).items()}
        ys = {k: 1.0 + sign * STEP * np.asarray(v, float) for k, v in (yields or {}).items()}
        limits, z = refit(case["spec"], case["analysis"], mods, ys)
        results.append(
            (np.array([limits["observed"], *limits["expected"]]), np.array([z["observed_z"], z["expected_z"]]))
        )
    return [(a - b) / (2 * STEP) for a, b in zip(results[0], results[1])]


LIMIT_KEYS = ["observed", *[f"expected_{n:+d}sigma" for n in BAND]]


def test_the_kinds_of_modifiers_covered(case):
    kinds = {k for m in case["model"].scales.modifiers if m.name in case["modifiers"] for k in m.kinds}
    want = {
        "example_patch": {"normsys", "staterror"},
        "simple": {"shapesys"},
        "multichannel": {"histosys"},
        "generated": {"histosys", "lumi"},
    }[case["name"]]
    assert want <= kinds


def test_limit_and_significance_gradients_equal_finite_differences_per_modifier(case):
    index = {m.name: i for i, m in enumerate(case["model"].scales.modifiers)}
    for name in case["modifiers"]:
        d_limits, d_z = _central(case, modifiers={name: 1.0})
        ours = [case["limit_grads"][k]["modifiers"][index[name]] for k in LIMIT_KEYS]
        _close(ours, d_limits)
        for j, key in enumerate(("observed_z", "expected_z")):
            if key in case["z_grads"]:
                _close(case["z_grads"][key]["modifiers"][index[name]], d_z[j])


def test_gradients_with_respect_to_sample_yields_equal_finite_differences(case):
    dm = case["model"]
    st = dm.hf.structure
    s = len(st.samples) - 1
    channel, first, n = st.channels[0]
    per_bin = np.linspace(1.0, 2.0, n)  # a direction that differs per bin
    d_limits, d_z = _central(case, yields={(channel, st.samples[s]): per_bin})
    ours = [np.sum(case["limit_grads"][k]["yields"][s, first : first + n] * per_bin) for k in LIMIT_KEYS]
    _close(ours, d_limits)
    if "expected_z" in case["z_grads"]:
        _close(np.sum(case["z_grads"]["expected_z"]["yields"][s, first : first + n] * per_bin), d_z[1])


def test_scaling_a_signal_that_has_only_normalisation_modifiers_divides_its_limit(case):
    """For observed data and a signal sample with only normalisation modifiers, the limit on μ
    times the signal's yield scale k is constant: d ln(limit) / d ln k = -1."""
    if case["spec"].get("data") != "observed":
        pytest.skip("Asimov data move with the signal yields (identity for observed data only)")
    dm = case["model"]
    poi = case["analysis"].names[case["analysis"].poi]
    s = dm.scales.signal_sample(specification(case["spec"])[0], poi)
    kinds = {
        m["type"]
        for c in specification(case["spec"])[0]["channels"]
        for smp in c["samples"]
        if smp["name"] == dm.scales.samples[s]
        for m in smp["modifiers"]
    }
    # every observed-data model here has such a signal: the identity is checked on each of them
    assert kinds <= {"normfactor", "normsys", "lumi"}, f"the signal has modifiers in events ({sorted(kinds)})"
    for key in LIMIT_KEYS:
        limit = (
            case["limits"]["observed"] if key == "observed" else case["limits"]["expected"][LIMIT_KEYS.index(key) - 1]
        )
        _close(np.sum(case["limit_grads"][key]["yields"][s]) / limit, -1.0, rel=1e-7)


def test_fit_and_cls_gradients_equal_finite_differences(case):
    """dθ̂/dφ of the free fit (implicit differentiation) and d ln CLs/dφ at one μ."""
    dm, grads, analysis = case["model"], case["grads"], case["analysis"]
    name = case["modifiers"][0]
    i = [m.name for m in dm.scales.modifiers].index(name)
    mu = float(case["limits"]["expected"][2])
    ours_cls = grads.log_cls(mu).dphi["modifiers"][i]
    free = grads.free
    v = np.zeros(len(free.x))
    v[np.flatnonzero(free.free)] = np.linspace(1.0, 2.0, int(free.free.sum()))
    ours_fit = dm.fit_vjp(free, v, dm.scales.ones())["modifiers"][i]
    values = []
    for sign in (1.0, -1.0):
        import jax.numpy as jnp

        from diffpipe.compiled import kernel
        from diffpipe.scales import scaled_entry

        model, data = build_model(scaled_entry(case["spec"], {name: 1.0 + sign * STEP}))
        numbers = {k: jnp.asarray(val) for k, val in kernel(model).default().items()}
        other = prepare(model, data, case["spec"], derived=numbers, like=analysis)
        scan = CLsScan(other)
        fit = other.fit(bounds=dm.bounds, start=free.x)
        values.append((np.log(scan.observed(mu)), float(v @ fit.x[0])))
    _close(ours_cls, (values[0][0] - values[1][0]) / (2 * STEP))
    _close(ours_fit, (values[0][1] - values[1][1]) / (2 * STEP))


def test_a_published_likelihood_s_limit_gradient_equals_finite_differences_along_every_systematic():
    """The published 3L eRJR likelihood with one signal patch (69 parameters: normsys, histosys,
    shapesys): the gradient of every limit with respect to all its systematics,
    contracted with one random direction of scales, against the central difference of the
    limits of the pyhf models rebuilt at 1 ± step along that direction (two refits check every
    component at once)."""
    spec = {
        "workspace": "resources/published/ATLAS-SUSY-2018-06_3L-eRJR/BkgOnly.json",
        "patchset": "resources/published/ATLAS-SUSY-2018-06_3L-eRJR/patchset.json",
        "patch": "ERJR_300p0_100p0",
        "data": "observed",
    }
    model, data = build_model(spec)
    analysis = prepare(model, data)
    scan = CLsScan(analysis)
    limits = upper_limits(scan, 0.95, curve_points=0)
    dm = differentiable(analysis, spec)
    grads = InferenceGradients(dm).limits(limits, scan)
    kinds = {k for m in dm.scales.modifiers for k in m.kinds}
    assert {"normsys", "histosys", "shapesys"} <= kinds and len(dm.scales.modifiers) > 50
    direction = np.random.default_rng(5).uniform(-1.0, 1.0, len(dm.scales.modifiers))
    case = {"spec": spec, "analysis": analysis}
    d_limits, _ = _central(case, modifiers={m.name: v for m, v in zip(dm.scales.modifiers, direction)})
    ours = [float(np.asarray(grads[k]["modifiers"]) @ direction) for k in LIMIT_KEYS]
    _close(ours, d_limits)


@pytest.mark.parametrize("statistic", ["qtilde", "q"])
@pytest.mark.parametrize(("q", "qa"), [(0.8, 2.5), (6.0, 2.5), (3.1, 3.0)])
def test_log_cls_partials_are_the_derivatives_of_log_cls(statistic, q, qa):
    """Both branches of q̃μ's t and qμ's √qμ - √qμ,A, against central differences."""
    from diffpipe.teststat import log_cls, log_cls_partials

    dq, dqa = log_cls_partials(q, qa, statistic)
    h = 1e-6
    fd_q = (log_cls(q + h, qa, statistic) - log_cls(q - h, qa, statistic)) / (2 * h)
    fd_qa = (log_cls(q, qa + h, statistic) - log_cls(q, qa - h, statistic)) / (2 * h)
    assert dq == pytest.approx(fd_q, rel=1e-6) and dqa == pytest.approx(fd_qa, rel=1e-6)
