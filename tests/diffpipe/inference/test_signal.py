"""Signal grids, patchsets and POI-less workspaces."""

import filecmp
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from diffpipe.compiled import kernel
from diffpipe.inference.analysis import prepare
from diffpipe.inference.limits import CLsScan, upper_limits
from diffpipe.inference.signal import grid_limits
from diffpipe.models import build_model
from diffpipe.patches import GridLayout, patch_data, patch_derived
from diffpipe.teststat import BAND_COLUMNS
from diffpipe.workspaces import ModelError, model_poi, read_json, select_patches

GENERATED = {
    "workspace": "resources/generated/bkgonly.json",
    "patchset": "resources/generated/patchset.json",
    "data": "observed",
}


@pytest.fixture(autouse=True)
def _root(monkeypatch):
    monkeypatch.chdir(ROOT)


def test_generator_is_deterministic_and_its_outputs_are_the_shipped_ones(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "resources" / "generate_likelihood.py"), str(tmp_path)], check=True)
    for name in ("bkgonly.json", "patchset.json"):
        assert filecmp.cmp(tmp_path / name, ROOT / "resources" / "generated" / name, shallow=False), name


def test_generated_likelihood_is_realistic():
    workspace = read_json(GENERATED["workspace"], "workspace")
    assert [c["name"] for c in workspace["channels"]] == ["SR_low", "SR_high", "CR"]
    assert all(len(s["data"]) == 10 for c in workspace["channels"] for s in c["samples"])
    kinds = {m["type"] for c in workspace["channels"] for s in c["samples"] for m in s["modifiers"]}
    assert kinds == {"lumi", "normfactor", "shapefactor", "normsys", "histosys", "staterror", "shapesys"}
    model, _ = build_model({"workspace": GENERATED["workspace"], "data": "observed"})
    assert model.config.npars >= 50 and model.config.poi_index is None
    patches = select_patches(read_json(GENERATED["patchset"], "patchset"), "all")
    assert len(patches) == 25 and len({tuple(p["values"]) for p in patches}) == 25


def test_background_only_workspace_has_no_poi_and_says_why():
    spec = {"workspace": GENERATED["workspace"], "data": "observed"}
    poi, reason = model_poi(spec)
    assert poi is None and "'mu_sig' is not declared" in reason
    assert model_poi({**spec, "poi": None}) == (None, "poi: null in the config")
    patched = {**GENERATED, "patch": "sig_800_200"}
    assert model_poi(patched)[0] == "mu_sig"
    model, _ = build_model(patched)
    assert model.config.poi_name == "mu_sig"


def test_patch_selection_by_name_and_by_values():
    patchset = read_json(GENERATED["patchset"], "patchset")
    assert [p["name"] for p in select_patches(patchset, ["sig_600_100", "sig_400_0"])] == ["sig_600_100", "sig_400_0"]
    assert [p["name"] for p in select_patches(patchset, {"values": [[1200, 400]]})] == ["sig_1200_400"]
    with pytest.raises(ModelError, match="unknown patch"):
        select_patches(patchset, ["sig_1_2"])
    with pytest.raises(ModelError, match=r"no patch has values \[\[1.0, 2.0\]\]"):
        select_patches(patchset, {"values": [[1, 2]]})


def test_bad_patchsets_are_one_clear_error(tmp_path):
    with pytest.raises(ModelError) as err:
        build_model({**GENERATED, "patch": "nope"})
    assert err.value.key == "patch" and "sig_400_0" in str(err.value)
    with pytest.raises(ModelError) as err:
        build_model(
            {**GENERATED, "patchset": "resources/pyhf/example_patchset.json", "patch": "patch_channel1_signal_syst1"}
        )
    assert err.value.key == "patchset" and "does not belong" in str(err.value)
    broken = tmp_path / "ps.json"
    broken.write_text("{not json")
    with pytest.raises(ModelError) as err:
        build_model({**GENERATED, "patchset": str(broken), "patch": "x"})
    assert err.value.key == "patchset" and "cannot be read as JSON" in str(err.value)


def test_shared_compilation_gives_each_patch_its_own_limits():
    """One compiled likelihood with the nominal rates as input equals compiling each patch."""
    grid = {**GENERATED, "patches": ["sig_600_100", "sig_1000_300", "sig_1200_0"]}
    rows, shared, poi = grid_limits("g", grid, {"cl": 0.95})
    assert shared["shared"] and poi == "mu_sig"
    for row in rows[::2]:  # the first and the last patch, compiled on their own
        model, data = build_model({**GENERATED, "patch": row["patch"]})
        own = upper_limits(CLsScan(prepare(model, data)), 0.95, curve_points=2)
        assert row["observed"] == pytest.approx(own["observed"], rel=1e-8)
        np.testing.assert_allclose(
            [row[c] for c in ("expected_p2", "expected_p1", "expected", "expected_m1", "expected_m2")],
            own["expected"],
            rtol=1e-8,
        )


def test_a_grids_prune_and_held_parameters_give_each_patch_its_own_models_limits():
    """`prune` and `fixed` on a grid: the shared model laid out after pruning equals each patch's
    own model pruned and held (the job also checks its first patch against its own model)."""
    options = {"prune": {"modifiers": ["jes"], "channels": ["SR_high"]}, "fixed": {"ttbar_xsec": 0.5}}
    grid = {**GENERATED, **options, "patches": ["sig_600_100"]}
    rows, shared, _ = grid_limits("g", grid, {"cl": 0.95})
    assert shared["shared"]
    plain, _, _ = grid_limits("g", {**GENERATED, "patches": ["sig_600_100"]}, {"cl": 0.95})
    assert abs(rows[0]["observed"] - plain[0]["observed"]) > 1e-3  # the options matter
    for row in rows:
        entry = {**GENERATED, **options, "patch": row["patch"]}
        model, data = build_model(entry)
        assert "SR_high" not in model.config.channels and "jes" not in model.config.par_names
        own = upper_limits(CLsScan(prepare(model, data, entry)), 0.95, curve_points=2)
        assert row["observed"] == pytest.approx(own["observed"], rel=1e-8)
        np.testing.assert_allclose(
            [row[c] for c in ("expected_p2", "expected_p1", "expected", "expected_m1", "expected_m2")],
            own["expected"],
            rtol=1e-8,
        )


def test_a_grid_split_into_blocks_merges_into_the_one_job_table():
    """The generated grid's three patches in one job, and in blocks of two and one (each block
    compiling its own model): the merged rows equal the one-job rows to 1e-8, in order."""
    import pandas as pd

    from diffpipe.artifacts import SignalGridBlock
    from diffpipe.inference.signal import merge_blocks

    names = ["sig_600_100", "sig_1000_300", "sig_1200_0"]
    whole, _, poi = grid_limits("g", {**GENERATED, "patches": names}, {"cl": 0.95})
    blocks = []
    for k, part in enumerate((names[:2], names[2:])):
        rows, shared, _ = grid_limits("g", {**GENERATED, "patches": part}, {"cl": 0.95})
        blocks.append(
            SignalGridBlock(
                table=pd.DataFrame(rows),
                grid="g",
                block=k,
                definition={},
                labels=[],
                cl=0.95,
                poi=poi,
                shared_compilation=shared,
            )
        )
    merged, shared = merge_blocks(blocks)
    assert [r["patch"] for r in merged] == names and shared["blocks"] == 2
    assert shared["shared"] and "one model for all patches" in shared["reason"]
    columns = ["observed", "expected_p2", "expected_p1", "expected", "expected_m1", "expected_m2"]
    np.testing.assert_allclose(
        [[r[c] for c in columns] for r in merged], [[r[c] for c in columns] for r in whole], rtol=1e-8
    )
    with pytest.raises(ValueError, match="not 0..1 in order"):
        merge_blocks(blocks[::-1])


def _under_the_grid(names: list[str]):
    layout = GridLayout.of(GENERATED, names)
    background = {k: v for k, v in GENERATED.items() if k != "patchset"}
    return layout, *build_model({**background, "workspace": layout.model_specification()})


def test_patch_numbers_give_a_patch_its_own_model_s_likelihood():
    """A patch's numbers under the grid's compiled model give its own model's -ln L and expected data."""
    layout, grid, grid_data = _under_the_grid(["sig_400_0", "sig_1200_400"])
    other, data = build_model({**GENERATED, "patch": "sig_1200_400"})
    assert grid.config.par_names == other.config.par_names  # the generated patches have one structure
    numbers = patch_derived(grid, layout.specification("sig_1200_400"))
    np.testing.assert_array_equal(patch_data(grid, grid_data, numbers), data)
    own = kernel(other)
    pars = np.asarray(other.config.suggested_init(), float) * 1.05
    assert float(kernel(grid).nll(pars, data, numbers)) == pytest.approx(float(-other.logpdf(pars, data)[0]), rel=1e-13)
    np.testing.assert_allclose(kernel(grid).expected(pars, numbers), own.expected(pars, own.default()), rtol=1e-14)
    # numbers that change more than yields (a systematic's magnitude) are laid out as well
    changed = json.loads(json.dumps(layout.specification("sig_1200_400")))
    normsys = next(
        m for c in changed["channels"] for s in c["samples"] for m in s["modifiers"] if m["type"] == "normsys"
    )
    normsys["data"]["hi"] = 1.3
    assert not np.allclose(patch_derived(grid, changed)["normsys_log_hi"], numbers["normsys_log_hi"])


def test_shared_expected_data_is_the_patch_s_own():
    """The Asimov data of a patch come from its own numbers, not the grid model's."""
    layout, grid, data = _under_the_grid(["sig_400_0", "sig_1200_400"])
    other, _ = build_model({**GENERATED, "patch": "sig_1200_400"})
    base = prepare(grid, data, derived=patch_derived(grid, layout.specification("sig_400_0")))
    shared = prepare(grid, data, derived=patch_derived(grid, layout.specification("sig_1200_400")), like=base)
    pars = base.init.copy()
    pars[base.poi] = 2.0
    np.testing.assert_allclose(shared.expected_data(pars), np.asarray(other.expected_data(pars)), rtol=1e-13)
    assert not np.allclose(base.expected_data(pars), shared.expected_data(pars))
    assert shared.derived is not base.derived and shared.solver is base.solver


def test_a_patch_whose_likelihood_is_not_finite_is_one_clear_error(tmp_path):
    patchset = json.loads(Path(GENERATED["patchset"]).read_text())  # a copy: read_json's value is shared
    patchset["patches"] = patchset["patches"][:3]
    patchset["patches"][2]["patch"][0]["value"]["data"][0] = -1e6  # a negative expected yield
    path = tmp_path / "patchset.json"
    path.write_text(json.dumps(patchset))
    with pytest.raises(ModelError) as err:
        grid_limits("g", {**GENERATED, "patchset": str(path), "patches": "all"}, {"cl": 0.95})
    assert err.value.key == "patchset" and patchset["patches"][2]["metadata"]["name"] in str(err.value)


PUBLISHED_GRIDS = {"atlas_1lbb": "ATLAS-SUSY-2019-08_1Lbb", "atlas_3l": "ATLAS-SUSY-2018-06_3L-eRJR"}


@pytest.mark.parametrize("grid", list(PUBLISHED_GRIDS))
def test_published_grid_limits_equal_pyhf_upper_limit(grid):
    """The sampled patches of each published grid (10, evenly spaced; pyhf's numbers stored by
    published_reference.py: 40-220 s a patch for pyhf; every other one of 1Lbb, whose fits cost
    ~8 times 3L's) have pyhf's toms748 `upper_limit`, observed
    and expected band, within 1e-3, all patches fitted under the grid's one union model. (pyhf
    holds 3L's two shapesys γ of τ ~ 1e11 at 1, where its own fits do not move: the reference
    script says why; diffpipe fits them.)"""
    import pyhf

    stored = json.loads((ROOT / "tests" / "data" / "published_limits.json").read_text())
    reference = stored["grids"][grid]["patches"]
    assert len(reference) >= 10 and stored["pyhf"] == pyhf.__version__
    folder = f"resources/published/{PUBLISHED_GRIDS[grid]}"
    entry = {
        "workspace": f"{folder}/BkgOnly.json",
        "patchset": f"{folder}/patchset.json",
        "data": "observed",
        "patches": list(reference)[:: 2 if grid == "atlas_1lbb" else 1],
    }
    rows, shared, _ = grid_limits(grid, entry, {"cl": 0.95, "poi_bound_max": 1000.0})
    assert len(rows) == len(entry["patches"]) >= 5
    assert shared["shared"], shared
    for row in rows:
        ref = reference[row["patch"]]
        assert row["failure"] == "" and "failure" not in ref, (row, ref)
        assert row["observed"] == pytest.approx(ref["observed"], rel=1e-3), row["patch"]
        np.testing.assert_allclose([row[c] for c in BAND_COLUMNS], ref["expected"], rtol=1e-3, err_msg=row["patch"])
