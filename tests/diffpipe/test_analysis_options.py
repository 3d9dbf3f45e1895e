"""A model entry's analysis options against pyhf with the same options: `prune` (pyhf's
Workspace.prune) and `fixed` (pyhf's fixed_params with init_pars)."""

import numpy as np
import pyhf
import pytest

from diffpipe.inference.analysis import prepare
from diffpipe.inference.limits import CLsScan, upper_limits
from diffpipe.models import build_model, parameter_setup
from diffpipe.workspaces import ModelError, model_poi, pruned, raw_workspace

MULTICHANNEL = {"workspace": "resources/pyhf/multichan_coupledhistosys_histfactory.json", "data": "observed"}
THREE_L = {
    "workspace": "resources/published/ATLAS-SUSY-2018-06_3L-eRJR/BkgOnly.json",
    "patchset": "resources/published/ATLAS-SUSY-2018-06_3L-eRJR/patchset.json",
    "patch": "ERJR_300p0_100p0",
    "data": "observed",
}
PRUNES = [
    (MULTICHANNEL, {"channels": ["channel2"]}),
    (MULTICHANNEL, {"samples": ["bkg2"], "modifier_types": ["histosys"]}),
    (THREE_L, {"channels": ["SRISR_cuts"], "modifiers": ["SigPDF", "pileup"]}),
    (THREE_L, {"samples": ["fakes"], "modifier_types": ["shapesys", "normsys"]}),
]


def pyhf_pruned(entry: dict, prune: dict) -> dict:
    """The entry's (patched) workspace pruned by pyhf itself."""
    return dict(pyhf.Workspace(raw_workspace(entry)).prune(**prune))


@pytest.mark.parametrize(("entry", "prune"), PRUNES)
def test_prune_is_pyhfs_workspace_prune(entry, prune):
    ours = raw_workspace({**entry, "prune": prune})
    assert ours == pyhf_pruned(entry, prune)
    assert pruned(ours, None) == ours


def test_prune_names_the_key_of_an_unknown_name_or_an_empty_result():
    workspace = raw_workspace(MULTICHANNEL)
    cases = [
        ({"channels": ["SR"]}, "prune.channels", "unknown channels ['SR']; valid: ['channel1', 'channel2']"),
        ({"samples": ["ttbar"]}, "prune.samples", "unknown samples ['ttbar']"),
        ({"modifiers": ["jes"]}, "prune.modifiers", "unknown modifiers ['jes']"),
        ({"modifier_types": ["shapesys"]}, "prune.modifier_types", "unknown modifier types ['shapesys']"),
        ({"samples": ["bkg1"]}, "prune.samples", "channel 'channel2' would have no samples left"),
        ({"channels": ["channel1", "channel2"]}, "prune.channels", "every channel would be pruned"),
    ]
    for prune, key, message in cases:
        with pytest.raises(ModelError, match=message.replace("[", r"\[").replace("]", r"\]")) as err:
            pruned(workspace, prune)
        assert err.value.key == key


def test_a_pruned_channel_or_sample_fits_and_tests_as_pyhfs_pruned_workspace():
    """Fit the control region alone: the pruned model's fit and CLs equal pyhf's on its prune."""
    entry = {**MULTICHANNEL, "prune": {"channels": ["channel1"]}, "poi": None}
    model, data = build_model(entry)
    analysis = prepare(model, data, entry)
    ref = pyhf.Workspace(pyhf_pruned(MULTICHANNEL, {"channels": ["channel1"]}))
    ref_model = ref.model(poi_name=None)
    ref_data = ref.data(ref_model)
    assert list(model.config.par_names) == list(ref_model.config.par_names)
    np.testing.assert_allclose(data, ref_data, rtol=1e-12)
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=1e-7, strategy=2))
    _, twice_nll = pyhf.infer.mle.fit(ref_data, ref_model, return_fitted_val=True)
    assert 2 * analysis.best_fit().nll[0] == pytest.approx(float(twice_nll), abs=1e-3)

    entry = {**MULTICHANNEL, "prune": {"samples": ["bkg2"]}}
    model, data = build_model(entry)
    scan = CLsScan(prepare(model, data, entry))
    ref = pyhf.Workspace(pyhf_pruned(MULTICHANNEL, {"samples": ["bkg2"]}))
    ref_model = ref.model()
    obs, exp = pyhf.infer.hypotest(1.0, ref.data(ref_model), ref_model, return_expected_set=True)
    assert scan.observed(1.0) == pytest.approx(float(obs), rel=1e-3)
    np.testing.assert_allclose([scan.expected(1.0, n) for n in (2, 1, 0, -1, -2)], np.asarray(exp, float), rtol=1e-3)


def test_fixed_holds_scalars_vector_elements_and_whole_vectors():
    model, _ = build_model(THREE_L)
    names = list(model.config.par_names)
    gammas = [n for n in names if n.startswith("shape_") and n.endswith("]")]
    vector = gammas[0].split("[")[0]
    setup = parameter_setup(model, {"fixed": {"EG_SCALE_ALL": 0.5, gammas[0]: 1.1}})
    held = dict(zip(names, zip(setup.fixed, setup.init)))
    assert held["EG_SCALE_ALL"] == (True, 0.5) and held[gammas[0]] == (True, 1.1)
    assert parameter_setup(model, {}).fixed.count(True) == setup.fixed.count(True) - 2
    whole = parameter_setup(model, {"fixed": {vector: 1.0}})
    members = [i for i, n in enumerate(names) if n == vector or n.startswith(vector + "[")]
    assert all(whole.fixed[i] for i in members)
    with pytest.raises(ModelError, match="unknown parameter") as err:
        parameter_setup(model, {"fixed": {"JES_nope": 0.0}})
    assert err.value.key == "fixed.JES_nope"
    with pytest.raises(ModelError, match=r"7 lies outside the bounds \[-5, 5\] of EG_SCALE_ALL") as err:
        parameter_setup(model, {"fixed": {"EG_SCALE_ALL": 7.0}})
    assert err.value.key == "fixed.EG_SCALE_ALL"


def test_a_held_poi_makes_a_fit_at_a_fixed_value_without_a_poi():
    entry = {**MULTICHANNEL, "fixed": {"SigXsecOverSM": 0.0}}
    assert model_poi(entry) == (None, "the measurement's POI 'SigXsecOverSM' is held by the config key fixed")
    model, _ = build_model(entry)
    assert model.config.poi_index is None
    setup = parameter_setup(model, entry)
    index = model.config.par_names.index("SigXsecOverSM")
    assert setup.fixed[index] and setup.init[index] == 0.0
    counting = {"simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]}, "fixed": {"mu": 1}}
    assert build_model(counting)[0].config.poi_index is None


@pytest.fixture(scope="module")
def three_l():
    """The 3L eRJR patch built and compiled once: held parameters and test statistics change
    what is fitted, not the model, so its cases share the compiled fit (`prepare(like=)`)."""
    model, data = build_model(THREE_L)
    return model, data, prepare(model, data, THREE_L)


def _pyhf_reference(model, entry, qtilde: bool = True) -> dict:
    """pyhf's fit arguments for an entry's held parameters and bounds (the POI >= 0 for q̃μ)."""
    setup = parameter_setup(model, entry)
    bounds = [list(b) for b in setup.bounds]
    if qtilde and model.config.poi_index is not None:
        bounds[model.config.poi_index][0] = 0.0
    # pyhf's default optimizer: MINUIT (strategy 2, as cabinetry) fails on the 3L patch
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=1e-10))
    return {"init_pars": setup.init.tolist(), "fixed_params": setup.fixed, "par_bounds": bounds}


def test_a_held_parameter_gives_pyhfs_fixed_params_fit_and_cls():
    entry = {**MULTICHANNEL, "fixed": {"lumi": 1.05}}
    model, data = build_model(entry)
    analysis = prepare(model, data, entry)
    _, twice_nll = pyhf.infer.mle.fit(data, model, return_fitted_val=True, **_pyhf_reference(model, entry, False))
    assert 2 * analysis.best_fit().nll[0] == pytest.approx(float(twice_nll), abs=1e-3)
    kwargs = _pyhf_reference(model, entry)
    obs, exp = pyhf.infer.hypotest(1.0, data, model, test_stat="qtilde", return_expected_set=True, **kwargs)
    scan = CLsScan(analysis)
    assert scan.observed(1.0) == pytest.approx(float(obs), rel=1e-3)
    np.testing.assert_allclose([scan.expected(1.0, n) for n in (2, 1, 0, -1, -2)], np.asarray(exp, float), rtol=1e-3)


@pytest.mark.parametrize(
    "options",
    [{"fixed": {"EG_SCALE_ALL": 1.0, "lumi": 1.02}}, {"prune": {"channels": ["SRISR_cuts"]}}],
    ids=["held", "pruned"],
)
def test_the_3l_patch_held_or_pruned_gives_pyhfs_fit_and_qtilde(three_l, options):
    """pyhf's fit and q̃μ with the same fixed_params, init_pars and bounds (pruned: the same
    specification as pyhf's Workspace.prune, see test_prune_is_pyhfs_workspace_prune).

    CLs itself is compared on the multichannel workspace: on the pruned 3L model pyhf's SLSQP
    μ = 0 fit stops at γ = 0.999 along a flat direction (a shapesys γ of the fakes in CRISR,
    τ ~ 2.6e6) where ours reaches 1.0 with a lower -ln L, so its Asimov data differ by τ Δγ in
    that auxiliary datum and its CLs by 0.7%.
    """
    entry = {**THREE_L, **options}
    if "prune" in options:
        model, data = build_model(entry)
        analysis = prepare(model, data, entry)
    else:
        model, data, shared = three_l
        analysis = prepare(model, data, entry, like=shared)
    _, twice_nll = pyhf.infer.mle.fit(data, model, return_fitted_val=True, **_pyhf_reference(model, entry, False))
    assert 2 * analysis.best_fit().nll[0] == pytest.approx(float(twice_nll), abs=1e-3)
    qmu = pyhf.infer.test_statistics.qmu_tilde(1.0, data, model, **_pyhf_reference(model, entry))
    assert CLsScan(analysis).qmu(1.0, False) == pytest.approx(float(qmu), abs=1e-3)


DEFICIT = {  # a deficit: μ̂ < 0 where the bounds allow it, so q̃μ and qμ differ
    "simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [1.0]},
    "data": "asimov",
    "asimov_parameters": {"mu": -0.6},
    "bounds": {"mu": [-1.5, 10.0]},
}


@pytest.mark.parametrize(
    ("entry", "statistic"),
    [
        ({**MULTICHANNEL, "bounds": {"SigXsecOverSM": [-3.0, 10.0]}}, "q"),
        (DEFICIT, "q"),
        (DEFICIT, "qtilde"),
    ],
)
def test_limits_equal_pyhfs_upper_limit_with_the_same_test_stat(entry, statistic):
    """qμ: the fits use the model's bounds and t = √qμ - √qμ,A; q̃μ: μ̂ bounded below by 0."""
    model, data = build_model(entry)
    analysis = prepare(model, data, entry)
    scan = CLsScan(analysis, test_statistic=statistic)
    bounds = parameter_setup(model, entry).bounds
    assert scan.bounds[analysis.poi, 0] == (bounds[analysis.poi][0] if statistic == "q" else 0.0)
    ours = upper_limits(scan, 0.95, curve_points=0)
    assert ours["test_statistic"] == statistic
    if statistic == "qtilde":
        bounds[analysis.poi] = (0.0, bounds[analysis.poi][1])
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=1e-10))
    obs, exp = pyhf.infer.intervals.upper_limits.upper_limit(
        data, model, rtol=1e-8, par_bounds=bounds, test_stat=statistic
    )
    assert ours["observed"] == pytest.approx(float(obs), rel=1e-3)
    np.testing.assert_allclose(ours["expected"], np.asarray(exp, float), rtol=1e-3)


def test_the_test_statistic_moves_the_limit_of_a_deficit():
    model, data = build_model(DEFICIT)
    analysis = prepare(model, data, DEFICIT)
    q, qtilde = (upper_limits(CLsScan(analysis, test_statistic=s), 0.95, curve_points=0) for s in ("q", "qtilde"))
    assert q["observed"] < qtilde["observed"] - 0.01  # qμ excludes more where the data fall short


def test_q_of_the_3l_patch_equals_pyhfs_qmu(three_l):
    """qμ with the POI allowed below 0 on the 3L patch (its CLs formula: the upper_limit tests)."""
    entry = {**THREE_L, "bounds": {"mu_SIG": [-2.0, 10.0]}}
    model, data, shared = three_l
    scan = CLsScan(prepare(model, data, entry, like=shared), test_statistic="q")
    assert scan.bounds[model.config.poi_index].tolist() == [-2.0, 10.0]
    qmu = pyhf.infer.test_statistics.qmu(0.5, data, model, **_pyhf_reference(model, entry, False))
    assert scan.qmu(0.5, False) == pytest.approx(float(qmu), abs=1e-3)


def test_the_readmes_blinding_recipe_fits_the_control_regions_alone():
    entry = {
        **THREE_L,
        "prune": {"channels": ["SRlow_cuts", "SRISR_cuts"]},
        "fixed": {"mu_SIG": 0.0},
    }
    model, data = build_model(entry)
    assert model.config.poi_index is None and list(model.config.channels) == ["CRISR_cuts", "CRlow_cuts"]
    assert len(data) == model.config.nmaindata + len(model.config.auxdata) and model.config.nmaindata == 2
    analysis = prepare(model, data, entry)
    assert analysis.best_fit().x[0][model.config.par_names.index("mu_SIG")] == 0.0
