"""Model entries: files read with the key named, patch selection, POIs, sizes, and the kernel's
functions against pyhf's own log-pdf."""

import numpy as np
import pyhf
import pytest
from conftest import ROOT

from diffpipe import compiled, models, workspaces

PYHF = ROOT / "resources" / "pyhf"
COUNTING = {"simple": {"signal": [5.0], "background": [10.0], "background_uncertainty": [3.5]}, "data": "asimov"}
WORKSPACE = {"workspace": str(PYHF / "example_bkgonly.json"), "measurement": "GaussExample", "data": "observed"}
PUBLISHED_3L = {"workspace": str(ROOT / "resources/published/ATLAS-SUSY-2018-06_3L-eRJR/BkgOnly.json")}


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "cannot be read as JSON"),
        ('{"a": NaN}', "NaN is not JSON"),
        ("[1, 2]", "must hold a JSON object, not a list"),
    ],
)
def test_read_json_names_the_file_and_the_key(tmp_path, content, message):
    path = tmp_path / "w.json"
    path.write_text(content)
    with pytest.raises(workspaces.ModelError) as err:
        workspaces.read_json(path, "likelihood.models.x.workspace")
    assert (
        err.value.key == "likelihood.models.x.workspace" and str(path) in str(err.value) and message in str(err.value)
    )
    with pytest.raises(workspaces.ModelError, match="file not found"):
        workspaces.read_json(tmp_path / "missing.json", "k")


def test_read_json_parses_a_content_once_and_a_changed_file_again(tmp_path):
    path = tmp_path / "w.json"
    path.write_text('{"a": [1, 2]}')
    first = workspaces.read_json(path, "k")
    assert workspaces.read_json(path, "k") is first  # shared: its callers do not modify it
    path.write_text('{"a": [1, 3]}')  # same size, written at once: the content decides
    assert workspaces.read_json(path, "k") == {"a": [1, 3]}
    (tmp_path / "copy.json").write_text('{"a": [1, 2]}')
    assert workspaces.read_json(tmp_path / "copy.json", "k") is first
    path.write_text('{"a": NaN}')  # an error is not kept: the file is read again after it is fixed
    with pytest.raises(workspaces.ModelError, match="NaN is not JSON"):
        workspaces.read_json(path, "k")
    path.write_text('{"a": [1, 3]}')
    assert workspaces.read_json(path, "k") == {"a": [1, 3]}


def test_select_patches_by_all_names_and_values_with_the_valid_ones_listed():
    patchset = {"patches": [{"metadata": {"name": n, "values": v}} for n, v in (("a", [1, 2]), ("b", [3, 4]))]}
    assert [p["name"] for p in workspaces.select_patches(patchset, "all")] == ["a", "b"]
    assert [p["name"] for p in workspaces.select_patches(patchset, ["b"])] == ["b"]
    assert [p["name"] for p in workspaces.select_patches(patchset, {"values": [[3, 4], [1.0, 2.0]]})] == ["b", "a"]
    with pytest.raises(workspaces.ModelError, match=r"unknown patch\(es\) \['c'\]; valid: \['a', 'b'\]"):
        workspaces.select_patches(patchset, ["c"])
    with pytest.raises(workspaces.ModelError, match=r"no patch has values \[\[5.0, 6.0\]\]"):
        workspaces.select_patches(patchset, {"values": [[5, 6]]})


def test_model_poi_from_the_measurement_the_config_or_none_for_background_only():
    assert workspaces.model_poi(COUNTING) == ("mu", "simple model")
    assert workspaces.model_poi({**WORKSPACE, "poi": None}) == (None, "poi: null in the config")
    poi, reason = workspaces.model_poi(WORKSPACE)
    assert poi == "SigXsecOverSM" and "GaussExample" in reason
    poi, reason = workspaces.model_poi(PUBLISHED_3L)
    assert poi is None and "not declared in the workspace (background-only)" in reason


@pytest.mark.parametrize("spec", [COUNTING, WORKSPACE, PUBLISHED_3L], ids=["counting", "workspace", "published_3l"])
def test_count_parameters_from_the_json_equals_pyhf(spec):
    model, data = models.build_model(spec)
    npars, ndata = workspaces.count_parameters(spec)
    assert npars == model.config.npars and ndata == len(data)


@pytest.mark.pyhf_jax
def test_the_kernel_functions_equal_pyhf_logpdf():
    model, data = models.build_model(WORKSPACE)
    pars = np.asarray(model.config.suggested_init(), float) * 1.05
    reference = float(model.logpdf(pyhf.tensorlib.astensor(pars), pyhf.tensorlib.astensor(data))[0])
    assert float(compiled.nll_function(model, data)(pars)) == pytest.approx(-reference, rel=1e-12)
    nll = compiled.make_nll(model)
    assert float(nll(pars, data, None)) == pytest.approx(-reference, rel=1e-12)
    value, grad, hess = compiled.make_derivatives(model)(pars, data, None)
    assert float(value) == pytest.approx(-reference, rel=1e-12) and np.shape(hess) == (len(pars), len(pars))
    expected = np.asarray(compiled.make_expected(model)(pars, None))
    np.testing.assert_allclose(expected, np.asarray(model.expected_data(pars)), rtol=1e-12)


def test_clip_options_reach_pyhf_and_the_kernel():
    model, data = models.build_model({**WORKSPACE, "clip_sample_data": 0.0, "clip_bin_data": 0.5})
    assert model.main_model.clip_sample_data == 0.0 and model.main_model.clip_bin_data == 0.5
    structure = compiled.kernel(model).structure
    assert structure.clip_sample == 0.0 and structure.clip_bin == 0.5
    plain, _ = models.build_model(WORKSPACE)
    assert plain.main_model.clip_bin_data is None and compiled.kernel(plain).structure.clip_bin is None


def test_the_grid_evaluator_gives_lnl_and_its_gradient_at_each_point():
    model, data = models.build_model(COUNTING)
    base = np.asarray(model.config.suggested_init(), float)
    xs, ys = np.array([0.5, 1.0, 1.5]), np.array([0.9, 1.0, 1.1])
    lnl, grad = compiled.make_grid_evaluator(model, data, base, 0, 1, with_grad=True)(xs, ys)
    for k in range(3):
        point = np.array([xs[k], ys[k]])
        assert float(lnl[k]) == pytest.approx(-float(compiled.nll_function(model, data)(point)), rel=1e-12)
        step = 1e-6
        fd = [
            (
                -float(compiled.nll_function(model, data)(point + step * e))
                + float(compiled.nll_function(model, data)(point - step * e))
            )
            / (2 * step)
            for e in np.eye(2)
        ]
        np.testing.assert_allclose(np.asarray(grad[k]), fd, rtol=1e-6, atol=1e-8)


def test_model_origin_says_what_a_fit_used():
    origin = workspaces.model_origin({**WORKSPACE, "poi": None})
    assert origin["source"].endswith("example_bkgonly.json") and origin["measurement"] == "GaussExample"
    assert origin["poi"] is None and origin["data"] == "observed"
    assert workspaces.model_origin(COUNTING)["source"] == "simple counting model"


def test_a_plain_patch_file_builds_the_model_its_patchset_patch_builds(tmp_path):
    import json

    patchset = json.loads((PYHF / "example_patchset.json").read_text())
    patch = patchset["patches"][0]
    plain, single = tmp_path / "signal.json", tmp_path / "single.json"
    plain.write_text(json.dumps(patch["patch"]))  # what SModelS and MadAnalysis write
    single.write_text(json.dumps(patch))  # pyhf's single-patch object
    by_patchset = {**WORKSPACE, "patchset": str(PYHF / "example_patchset.json"), "patch": patch["metadata"]["name"]}
    expected = pyhf.PatchSet(patchset).apply(
        pyhf.Workspace(workspaces.read_json(WORKSPACE["workspace"], "w")), patch["metadata"]["name"]
    )
    for path in (plain, single):
        entry = {**WORKSPACE, "patch_file": str(path)}
        assert workspaces.raw_workspace(entry) == workspaces.raw_workspace(by_patchset) == dict(expected)
        assert workspaces.entry_files(entry) == [WORKSPACE["workspace"], str(path)]
        model, data = models.build_model(entry)
        reference = expected.model(measurement_name="GaussExample")
        pars = reference.config.suggested_init()
        assert model.logpdf(pars, data)[0] == pytest.approx(
            reference.logpdf(pars, expected.data(reference))[0], rel=1e-12
        )


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"a": 1}', "not a JSON Patch"),
        ("[]", "not a JSON Patch"),
        ('[{"path": "/channels/0"}]', "operation 0 is not a JSON Patch operation"),
        ('[{"op": "remove", "path": "/channels/7"}]', "cannot be applied"),
        ('[{"op": "remove", "path": "/channels/0/samples"}]', "the patched workspace is not valid"),
    ],
)
def test_a_bad_patch_file_is_refused_naming_it(tmp_path, content, message):
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(workspaces.ModelError) as err:
        models.build_model({**WORKSPACE, "patch_file": str(path)})
    assert err.value.key == "patch_file" and str(path) in str(err.value) and message in str(err.value)
