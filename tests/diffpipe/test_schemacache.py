"""pyhf's schema validation, once per distinct specification (diffpipe.schemacache)."""

import copy
import json

import pytest
from conftest import ROOT

from diffpipe import schemacache


def test_a_specification_is_validated_once_and_an_edited_one_again():
    import pyhf

    schemacache.install()
    schemacache.install()  # idempotent: one wrapper, not a chain
    assert pyhf.schema.validate.__name__ == "validate_once"
    spec = json.loads((ROOT / "resources/pyhf/example_bkgonly.json").read_text())
    pyhf.Workspace(spec)
    passed = len(schemacache._passed)
    pyhf.Workspace(copy.deepcopy(spec))  # same content: not validated again
    assert len(schemacache._passed) == passed

    broken = copy.deepcopy(spec)
    broken["channels"][0]["samples"][0]["data"] = "not a list"
    for _ in range(2):  # a failure is not remembered: it fails every time
        with pytest.raises(pyhf.exceptions.InvalidSpecification):
            pyhf.Workspace(broken)
    assert len(schemacache._passed) == passed
