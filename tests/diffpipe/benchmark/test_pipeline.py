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
    assert base["likelihood"]["models"] != models  # the base config is not edited


def test_snakemake_floor_times_a_one_rule_workflow():
    row = pipeline.snakemake_floor()
    assert row["config"].startswith("one-rule workflow") and 0 < row["noop_dry_run_s"] < 60
