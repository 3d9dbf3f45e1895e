import yaml
from conftest import ROOT

from diffpipe.benchmark import pipeline


def test_targets_are_attached_with_whether_they_were_met():
    row = pipeline.with_targets(
        {"clean_run_s": 30.0, "noop_dry_run_s": 1.2}, {"clean_run_s": 28.0, "noop_dry_run_s": 1.5, "other_s": 1}
    )
    assert row["clean_run_s_met"] is False and row["noop_dry_run_s_met"] is True
    assert row["clean_run_s_target"] == 28.0 and "other_s_target" not in row


def test_many_models_config_copies_the_first_model_and_drops_problems_that_need_others():
    base = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config = pipeline.many_models_config(base, 20)
    models = config["likelihood"]["models"]
    assert len(models) == 20 and all(m == next(iter(base["likelihood"]["models"].values())) for m in models.values())
    assert not any("likelihood_model" in p for p in config["optimizers"]["problems"].values())
    assert config["toys"] == {} and base["toys"]  # toy studies name the replaced models
    assert base["likelihood"]["models"] != models  # the base config is not edited


def test_snakemake_floor_times_a_one_rule_workflow():
    row = pipeline.snakemake_floor()
    assert row["config"].startswith("one-rule workflow") and 0 < row["noop_dry_run_s"] < 60


def test_clean_runs_are_compared_with_the_notebook_script():
    rows = [{"config": "default", "clean_run_s": 90.0}, {"config": "notebook", "clean_run_s": 20.0}, {"config": "x"}]
    out = [pipeline.versus_notebook(dict(r), 40.0, {"default": 1.5, "notebook": 0.6}) for r in rows]
    assert out[0]["vs_notebook_script"] == 2.25 and out[0]["vs_notebook_script_met"] is False
    assert out[1]["vs_notebook_script"] == 0.5 and out[1]["vs_notebook_script_met"] is True
    assert out[2] == {"config": "x"}  # no clean run, no ratio


def test_the_notebook_script_runs_every_cell_and_renders_its_figures(tmp_path):
    """The baseline is the notebook as written, fixed only where a cell cannot run."""
    import subprocess
    import sys

    script = ROOT / "resources" / "notebook_script.py"
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=900, check=True
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["controlflow.png", "fractals.png", "likelihood_grid.png"]
    assert "ValueError" in out.stdout  # the notebook's raising f_dx(np.linspace(...)) cell, caught
