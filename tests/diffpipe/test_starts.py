"""Optimizer starts: points, tiles and likelihood inits."""

import pytest

from diffpipe import starts


def test_starts_expand_tiles_and_likelihood_inits():
    spec = {"starts": [{"tile": [-1.2, 1.0], "dimension": 6}, [0.0] * 6]}
    assert starts.expand_starts(spec, "w") == [[-1.2, 1.0] * 3, [0.0] * 6]
    assert starts.expand_starts({"starts": ["init"]}, "w", [1.0, 2.0]) == [[1.0, 2.0]]
    with pytest.raises(ValueError, match=r"w.starts\[0\].dimension': 5 is not a multiple"):
        starts.expand_starts({"starts": [{"tile": [1.0, 2.0], "dimension": 5}]}, "w")
    with pytest.raises(ValueError, match="'init' starts need a likelihood_model"):
        starts.expand_starts({"starts": ["init"]}, "w")
