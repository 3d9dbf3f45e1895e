"""requirements.txt and environment.yml carry the same pins."""

import yaml
from conftest import ROOT


def pins_from_requirements():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_environment_yml_pins_equal_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert set(pip_section) == pins_from_requirements()
    assert "python=3.11" in env["dependencies"]


def test_every_requirement_is_pinned_exactly():
    assert all("==" in pin for pin in pins_from_requirements())
