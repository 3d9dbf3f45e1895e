"""Tables for papers: PDG rounding, and each table from its artifacts as Markdown and LaTeX."""

import numpy as np
import pandas as pd
import pytest

from diffpipe import artifacts
from diffpipe.tables.build import grid_table, limits_table, ranking_table, render, yields_table
from diffpipe.tables.rounding import pdg_round, with_error


@pytest.mark.parametrize(
    "value, error, shown",
    [
        (1.2345, 0.0123, ("1.234", "0.012")),  # 123: two significant digits
        (5.0, 0.3549, ("5.00", "0.35")),  # 354: still two
        (5.0, 0.355, ("5.0", "0.4")),  # 355: one
        (0.827, 0.949, ("0.8", "0.9")),  # 949: one
        (10.0, 0.951, ("10.0", "1.0")),  # 951: up to 1000, two
        (123456.0, 3456.0, ("123500", "3500")),  # the value to the error's decimal place
        (7.0, 100.0, ("10", "100")),
        (2.0, float("nan"), ("2", "")),
        (float("nan"), 1.0, ("—", "")),
    ],
)
def test_pdg_rounding(value, error, shown):
    assert pdg_round(value, error) == shown


def test_yields_limits_ranking_and_grid_tables_hold_the_artifacts_numbers():
    rows = []
    for stage, shift in (("prefit", 0.0), ("postfit", 1.0)):
        for sample, y, e in (("sig", 5.0, 0.5), ("bkg", 20.0, 2.34), ("total", 25.0, 2.4)):
            rows.append({"stage": stage, "channel": "SR", "scope": "channel", "bin": -1, "sample": sample,
                         "yield": y + shift, "stdev": e, "data": 27.0 if sample == "total" else np.nan})  # fmt: skip
    common = {"model": "m", "definition": {}, "origin": {}}
    yields = artifacts.Yields(
        **common, table=pd.DataFrame(rows), channels=["SR"], samples=["sig", "bkg"], bins={"SR": 1}
    )
    headers, table = yields_table(yields)
    assert headers == ["channel", "sample", "pre-fit", "post-fit"]
    assert table == [
        ["SR", "sig", "5.0 ± 0.5", "6.0 ± 0.5"],
        ["SR", "bkg", "20.0 ± 2.3", "21.0 ± 2.3"],
        ["SR", "total", "25.0 ± 2.4", "26.0 ± 2.4"],
        ["SR", "data", "27", ""],
    ]
    limits = artifacts.Limits(
        **common, poi="mu", cl=0.95, observed=1.234567, expected=[0.5, 0.7, 1.0, 1.4, 1.9], band_sigma=[2, 1, 0, -1, -2],
        failures={}, curves={}, poi_bounds=[0, 10], declared_poi_upper=10, n_fits=1, free_fit_restarts=0,
    )  # fmt: skip
    significance = artifacts.Significance(
        **common, poi="mu", muhat=0.3, observed_z=0.51, observed_p=0.3, expected_z=1.2, expected_p=0.11,
        q0=0.26, q0_asimov=1.44,
    )  # fmt: skip
    _, table = limits_table(limits, significance)
    assert table[0] == ["95% CL upper limit on mu, observed", "1.235"] and table[3][1] == "1"
    assert table[-1] == ["significance Z, expected", "1.2"]
    impacts = artifacts.Impacts(
        **common, poi="mu", poi_bestfit=0.3, poi_uncertainty=0.2,
        table=pd.DataFrame([{"parameter": "syst", "bestfit": 0.1, "uncertainty": 0.9, "postfit_up": 0.05,
                             "postfit_down": -0.04, "prefit_up": 0.06, "prefit_down": -0.05}]),
    )  # fmt: skip
    headers, table = ranking_table(impacts, top=5)
    assert table == [["syst", "0.1 ± 0.9", "0.05", "-0.04", "0.06", "-0.05"]] and headers[2] == "Δmu (+σ)"
    grid = artifacts.SignalGrid(
        grid="g", definition={}, labels=["m1"], cl=0.95, poi="mu", shared_compilation={}, n_excluded=1,
        table=pd.DataFrame([{"patch": "a", "m1": 400.0, "observed": 0.8, "expected": 0.9, "expected_p1": 0.6,
                             "expected_m1": 1.3, "expected_p2": 0.4, "expected_m2": 1.9, "failure": np.nan,
                             "excluded": True}]),
    )  # fmt: skip
    headers, table = grid_table(grid)
    assert table == [["a", "400", "0.8", "0.9", "0.6", "1.3", "yes"]]
    text = render(headers, table, "results/signal/g/limits.csv")
    assert text["md"].splitlines()[1].startswith("| patch") and "| a " in text["md"]
    assert "\\toprule" in text["tex"] and "expected −1σ" in text["tex"] and text["tex"].startswith("% diffpipe: from")
    assert with_error(1.0, 0.0) == "1"
