"""A signal grid's patches in one structure: the union layout, the numbers and data it gives each
patch, its check against each patch's own model, and the config-time patch check."""

import json
from pathlib import Path

import jax
import numpy as np
import pytest
from conftest import ROOT

from diffpipe import compiled, models, workspaces
from diffpipe.patches import GridLayout, check_patches, grid_derived, patch_data, patch_derived, verify_patch

GENERATED_GRID = {
    "workspace": str(ROOT / "resources/generated/bkgonly.json"),
    "patchset": str(ROOT / "resources/generated/patchset.json"),
    "data": "observed",
}
GRID_PATCHES = ["sig_400_0", "sig_800_200", "sig_1200_0"]
ERJR = ROOT / "resources/published/ATLAS-SUSY-2018-06_3L-eRJR"
PUBLISHED_3L = {"workspace": str(ERJR / "BkgOnly.json"), "patchset": str(ERJR / "patchset.json"), "data": "observed"}


def _doctored_grid(tmp_path, edit) -> dict:
    """The generated grid's entry with `edit(patches)` applied to a copy of its patchset."""
    patchset = json.loads(Path(GENERATED_GRID["patchset"]).read_text())
    edit({p["metadata"]["name"]: p for p in patchset["patches"]})
    path = tmp_path / "patchset.json"
    path.write_text(json.dumps(patchset))
    return {**GENERATED_GRID, "patchset": str(path)}


def _under_the_grid(entry: dict, layout: GridLayout, name: str):
    """(grid model, the patch's data and numbers under it, its own model and data)."""
    background = {k: v for k, v in entry.items() if k != "patchset"}
    model, data = models.build_model({**background, "workspace": layout.model_specification()})
    numbers = patch_derived(model, layout.specification(name))
    own, own_data = models.build_model({**entry, "patch": name})
    return model, patch_data(model, data, numbers), numbers, own, own_data


def _verify(model, data, numbers, own, own_data, renamed: dict) -> None:
    """`verify_patch` with the grid model's -ln L and gradient for the patch."""
    nll = jax.jit(compiled.make_nll(model))
    grad = jax.jit(jax.grad(compiled.make_nll(model)))
    bounds = models.parameter_setup(own).bounds
    verify_patch(
        lambda p: nll(p, data, numbers), lambda p: grad(p, data, numbers), model, own, own_data, renamed, bounds
    )


def _aux_by_name(model, data) -> dict:
    """{constrained parameter: its auxiliary data}."""
    out, k = {}, model.config.nmaindata
    for name in model.config.auxdata_order:
        n = model.config.param_set(name).n_parameters
        out[name], k = data[k : k + n], k + n
    return out


def _signal(patch: dict) -> dict:
    return patch["patch"][0]["value"]


def test_the_published_3l_patches_share_one_union_model_each_with_its_own_likelihood():
    """Every one of the 64 patches fits the union (the signal and its MC-stat shapesys renamed per
    channel); two patches with different channels and systematics are their own models under it."""
    patchset = workspaces.read_json(PUBLISHED_3L["patchset"], "patchset")
    names = [p["metadata"]["name"] for p in patchset["patches"]]
    layout = GridLayout.of(PUBLISHED_3L, names)
    assert layout.reason == ""
    renamed = layout.renamed("ERJR_100p0_20p0")
    assert renamed["shape_mcstat_MGPy8EG_A14N23LO_WZ_100p0_20p0_3L_3L3_MadSpin_SRlow_obs_cuts"] == (
        "shape_mcstat_signal_SRlow_obs_cuts"
    )
    for name in ("ERJR_100p0_20p0", "ERJR_100p0_40p0"):  # the signal in 4 and in 3 channels
        model, data, numbers, own, own_data = _under_the_grid(PUBLISHED_3L, layout, name)
        assert model.config.npars > own.config.npars
        renamed = layout.renamed(name)
        _verify(model, data, numbers, own, own_data, renamed)
        # the same counts, and the auxiliary data of the patch's own yields (shapesys τ)
        nmain = own.config.nmaindata
        np.testing.assert_array_equal(data[:nmain], own_data[:nmain])
        grid_aux, own_aux = _aux_by_name(model, data), _aux_by_name(own, own_data)
        for par, values in own_aux.items():
            np.testing.assert_allclose(grid_aux[renamed.get(par, par)], values, rtol=1e-12, err_msg=par)


def test_a_patch_s_signal_laid_out_over_the_shared_background_gives_its_whole_layout():
    """`grid_derived` lays the background out once: every patch's numbers equal its full layout's,
    bit for bit (the 3L patches: the signal in 3 or 4 channels, systematics from point to point)."""
    patchset = workspaces.read_json(PUBLISHED_3L["patchset"], "patchset")
    names = [p["metadata"]["name"] for p in patchset["patches"]][:12]
    layout = GridLayout.of(PUBLISHED_3L, names)
    background = {k: v for k, v in PUBLISHED_3L.items() if k != "patchset"}
    model, _ = models.build_model({**background, "workspace": layout.model_specification()})
    for name in [*names, names[0]]:  # the first one again: laid out over the background too
        whole, shared = patch_derived(model, layout.specification(name)), grid_derived(model, layout, name)
        assert whole.keys() == shared.keys()
        for key in whole:
            np.testing.assert_array_equal(np.asarray(shared[key]), np.asarray(whole[key]), err_msg=f"{name}: {key}")
    # a signal the structure lacks is still refused, naming it
    spec = layout.signal_specification(names[1])
    spec["channels"][0]["samples"][0]["modifiers"].append(
        {"name": "alien", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}}
    )
    layout.signal_specification = lambda name: spec
    with pytest.raises(workspaces.ModelError, match="normsys 'alien' is not in the model"):
        grid_derived(model, layout, names[1])


def test_a_modifier_only_some_patches_have_is_neutral_in_the_others(tmp_path):
    def add_a_modifier(patches):
        _signal(patches["sig_800_200"])["modifiers"].append(
            {"name": "extra", "type": "normsys", "data": {"hi": 1.3, "lo": 0.8}}
        )

    entry = _doctored_grid(tmp_path, add_a_modifier)
    layout = GridLayout.of(entry, GRID_PATCHES)
    assert layout.reason == ""
    padded = [m for c in layout.specification("sig_400_0")["channels"] for s in c["samples"] for m in s["modifiers"]]
    assert {"name": "extra", "type": "normsys", "data": {"hi": 1.0, "lo": 1.0}} in padded
    for name in ("sig_400_0", "sig_800_200"):
        model, data, numbers, own, own_data = _under_the_grid(entry, layout, name)
        assert "extra" in model.config.par_names and ("extra" in own.config.par_names) == (name == "sig_800_200")
        _verify(model, data, numbers, own, own_data, {})


def test_the_check_against_the_own_model_fails_when_the_numbers_are_wrong():
    layout = GridLayout.of(GENERATED_GRID, GRID_PATCHES)
    model, data, _, own, own_data = _under_the_grid(GENERATED_GRID, layout, "sig_400_0")
    wrong = patch_derived(model, layout.specification("sig_1200_0"))
    with pytest.raises(RuntimeError, match="another"):
        _verify(model, data, wrong, own, own_data, {})


def test_what_cannot_share_the_union_is_named(tmp_path):
    def drop_a_factor(patches):  # the signal keeps its yields but loses a factor the others carry
        signal = _signal(patches["sig_800_200"])
        assert any(m["type"] == "lumi" for m in signal["modifiers"])
        signal["modifiers"] = [m for m in signal["modifiers"] if m["type"] != "lumi"]

    def replace_a_background(patches):
        patches["sig_800_200"]["patch"].append({"op": "replace", "path": "/channels/0/samples/0/data/0", "value": 1.0})

    layout = GridLayout.of(_doctored_grid(tmp_path, drop_a_factor), GRID_PATCHES)
    assert "patch 'sig_800_200'" in layout.reason and "lacks lumi (lumi)" in layout.reason
    layout = GridLayout.of(_doctored_grid(tmp_path, replace_a_background), GRID_PATCHES)
    assert "replace /channels/0/samples/0/data/0 is not a sample added" in layout.reason


def test_patches_are_checked_under_the_grid_s_model():
    checked = list(check_patches(GENERATED_GRID, GRID_PATCHES))
    assert [name for name, _ in checked] == GRID_PATCHES
    assert all(model is checked[0][1] for _, model in checked)


def test_patches_that_cannot_share_are_checked_under_their_own_models(tmp_path):
    def replace_a_background(patches):
        patches["sig_800_200"]["patch"].append({"op": "replace", "path": "/channels/0/samples/0/data/0", "value": 1.0})

    checked = dict(check_patches(_doctored_grid(tmp_path, replace_a_background), GRID_PATCHES))
    assert len({id(model) for model in checked.values()}) == 3


def test_a_patch_whose_likelihood_is_not_finite_is_named(tmp_path):
    def negative_signal(patches):
        _signal(patches["sig_800_200"])["data"][0] = -1.0e6

    with pytest.raises(workspaces.ModelError, match="patch 'sig_800_200': the log-likelihood at the suggested start"):
        list(check_patches(_doctored_grid(tmp_path, negative_signal), GRID_PATCHES))


def test_a_patch_lays_its_numbers_out_for_its_own_model():
    pyhf_dir = ROOT / "resources" / "pyhf"
    patched = {
        "workspace": str(pyhf_dir / "example_bkgonly.json"),
        "measurement": "GaussExample",
        "data": "observed",
        "patchset": str(pyhf_dir / "example_patchset.json"),
        "patch": "patch_channel1_signal_syst1",
    }
    model, data = models.build_model(patched)
    numbers = patch_derived(model, json.loads(json.dumps(workspaces.raw_workspace(patched))))
    pars = np.asarray(model.config.suggested_init(), float)
    nll = compiled.make_nll(model)
    assert float(nll(pars, data, numbers)) == pytest.approx(float(nll(pars, data, None)), rel=1e-12)


def test_the_config_checks_patches_in_float64_when_jax_starts_in_float32():
    """At Snakemake's parse time JAX may still be in float32: the check computes each patch's
    -ln L in the jobs' float64 (no truncation warning, x64 on afterwards)."""
    import subprocess
    import sys

    code = (
        "import sys, json; sys.path.insert(0, 'scripts')\n"
        "import jax; assert not jax.config.jax_enable_x64\n"
        "from diffpipe.patches import check_patches\n"
        f"entry = json.loads({json.dumps(json.dumps(GENERATED_GRID))})\n"
        f"assert len(list(check_patches(entry, {GRID_PATCHES!r}))) == {len(GRID_PATCHES)}\n"
        "assert jax.config.jax_enable_x64\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "JAX_ENABLE_X64"}
    done = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
