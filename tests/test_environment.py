"""The pins: requirements.txt (the pipeline) = environment.yml; requirements-dev.txt (tools) apart."""

import importlib.metadata
import re

import yaml
from conftest import ROOT
from packaging.requirements import Requirement


def pins(name):
    lines = (ROOT / name).read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def names(pinset):
    return {norm(pin.split("==")[0]) for pin in pinset}


def test_environment_yml_pins_equal_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert set(pip_section) == pins("requirements.txt")
    assert "python=3.11" in env["dependencies"]


def test_every_requirement_is_pinned_exactly_once():
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    assert all("==" in pin for pin in runtime | dev)
    assert not names(runtime) & names(dev), "a package is pinned in both files"


def installed_requirements(name):
    dist = importlib.metadata.distribution(name)
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            yield norm(req.name)


def test_pipeline_pins_are_closed_and_tools_stay_out_of_them():
    """Every dependency of a pipeline pin is a pipeline pin; test tools are not pipeline pins."""
    runtime, dev = names(pins("requirements.txt")), names(pins("requirements-dev.txt"))
    for name in runtime:
        missing = set(installed_requirements(name)) - runtime
        assert not missing, f"{name} needs {missing}, not pinned in requirements.txt"
    for name in dev:
        missing = set(installed_requirements(name)) - runtime - dev
        assert not missing, f"{name} needs {missing}, pinned nowhere"
    assert {"pytest", "selenium", "snakefmt", "ruff"} <= dev and not {"pytest", "selenium", "snakefmt"} & runtime
