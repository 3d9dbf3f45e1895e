import yaml
from conftest import ROOT

from diffpipe.benchmark import pipeline


def test_targets_are_attached_with_whether_they_were_met():
    row = pipeline.with_targets(
        {"clean_run_s": 30.0, "noop_dry_run_s": 1.2}, {"clean_run_s": 28.0, "noop_dry_run_s": 1.5, "other_s": 1}
    )
    assert row["clean_run_s_met"] is False and row["noop_dry_run_s_met"] is True
    assert row["clean_run_s_target"] == 28.0 and "other_s_target" not in row


def test_the_dry_run_is_measured_against_snakemakes_floor():
    row = pipeline.with_targets(pipeline.over_floor({"noop_dry_run_s": 2.45}, 2.2), {"dry_run_over_floor_s": 0.3})
    assert row["floor_dry_run_s"] == 2.2 and row["dry_run_over_floor_s"] == 0.25 and row["dry_run_over_floor_s_met"]
    assert pipeline.over_floor({"script_s": 30.0}, 2.2) == {"script_s": 30.0}  # rows without a dry run


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


def test_clean_runs_with_a_target_are_compared_with_the_notebook_script():
    rows = [{"config": "notebook", "clean_run_s": 50.0}, {"config": "default", "clean_run_s": 90.0}, {"config": "x"}]
    out = [pipeline.versus_notebook(dict(r), 40.0, {"notebook": 1.0, "x": 1.0}) for r in rows]
    assert out[0]["vs_notebook_script"] == 1.25 and out[0]["vs_notebook_script_met"] is False
    assert out[1] == rows[1]  # the default experiment does far more than the notebook: no ratio
    assert out[2] == {"config": "x"}  # no clean run, no ratio


def test_the_notebook_script_runs_every_cell_and_renders_its_figures(tmp_path):
    """The baseline is the notebook as written, fixed only where a cell cannot run (its fractals at
    20 iterations here: the 1000 of the benchmark take half a minute of TensorFlow steps)."""
    import os
    import subprocess
    import sys

    script = ROOT / "resources" / "notebook_script.py"
    env = {**os.environ, "NOTEBOOK_FRACTAL_ITERATIONS": "20"}
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=900, check=True, env=env
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["controlflow.png", "fractals.png", "likelihood_grid.png"]
    assert "ValueError" in out.stdout  # the notebook's raising f_dx(np.linspace(...)) cell, caught


def test_import_seconds_sums_the_top_level_imports_only():
    lines = [
        "import time: self [us] | cumulative | imported package",
        "import time:       100 |        100 |     numpy._core",
        "import time:       200 |     300000 | numpy",
        "import time:        50 |    1500000 | tensorflow",
        "import time:        10 |     200000 | numpy",  # a second top-level entry of the same name adds up
        "INFO some log record",
    ]
    total, modules = pipeline.import_seconds(lines)
    assert modules == {"tensorflow": 1.5, "numpy": 0.5}
    assert total == 2.0


def test_kept_job_scripts_are_profiled_with_their_lazy_imports_from_the_job_log(tmp_path):
    scripts = tmp_path / ".snakemake" / "scripts"
    scripts.mkdir(parents=True)
    log = "results/logs/plot_demo/one.log"
    (tmp_path / "results" / "logs" / "plot_demo").mkdir(parents=True)
    # A job that imports one module itself and whose log receives a lazily imported one.
    (scripts / "tmpab12.plot_demo.py").write_text(
        f"import colorsys\nopen({log!r}, 'w').write('import time:       5 |     250000 | jax\\n')\n"
    )
    (scripts / "tmpcd34.fit.py").write_text("import json\n")
    floor, *rows = pipeline.profile_jobs(tmp_path, "plots")
    assert floor["rule"] == "(floor)" and floor["job_s"] > 0  # matplotlib's import, for scale
    assert [(r["rule"], r["job"]) for r in rows] == [("plot_demo", "plot_demo/one")]
    row = rows[0]
    assert row["import_s"] >= 0.25 and row["top_imports"].startswith("jax 0.25")
    assert 0 < row["import_share"] and row["job_s"] > 0
    assert {r["rule"] for r in pipeline.profile_jobs(tmp_path, "rules")} == {"plot_demo", "fit"}
    flagged = pipeline.with_plot_target(dict(row, job_s=2.5), 2.0)
    assert (flagged["job_s_target"], flagged["job_s_met"]) == (2.0, False)
    assert "job_s_target" not in pipeline.with_plot_target({"rule": "fit", "job_s": 9.0}, 2.0)
