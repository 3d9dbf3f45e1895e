import base64

import jinja2
import numpy as np
import pandas as pd
from conftest import ROOT

from diffpipe.report import benchmark, html, likelihood, optimizers

TEMPLATE = ROOT / "workflow" / "report" / "macros.html.j2"


def runs(rows):
    cols = ["method", "start", "gradient_mode", "evals_to_target"]
    frame = pd.DataFrame([dict(zip(cols, r)) for r in rows])
    frame["evals_to_target"] = frame["evals_to_target"].astype("Int64")
    return frame.assign(family="scipy", repetition=0)


def macros():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE.parent), autoescape=True)
    return env.get_template(TEMPLATE.name).module


def test_optimizer_conclusion_is_computed_from_the_table():
    table = runs(
        [
            ("BFGS", "[1]", "none", 40),
            ("BFGS", "[1]", "jax", 10),
            ("CG", "[1]", "none", 30),
            ("CG", "[1]", "jax", None),
            ("Newton-CG", "[0]", "none", 1),
            ("Newton-CG", "[0]", "jax", 1),
        ]
    )
    result = optimizers.optimizer_conclusion(table, "p", "a note")
    assert "1 of 3 method/start pairs" in result["text"] and "Note: a note." in result["text"]
    assert "CG from [1]: the exact-gradient run did not reach the target" in result["exceptions"]
    assert (
        "Newton-CG from [0]: the start already is a minimum (f - f* = 0 at the first evaluation)"
        in result["exceptions"]
    )


def test_optimizer_conclusion_counts_scipy_pairs_once_whatever_the_repetitions():
    table = runs([("BFGS", "[1]", "none", 40), ("BFGS", "[1]", "jax", 10)])
    repeated = pd.concat([table, table.assign(repetition=1)])
    native = runs([("optimistix-BFGS", "[1]", "jax", 5)]).assign(family="optimistix")
    result = optimizers.optimizer_conclusion(pd.concat([repeated, native]), "p")
    assert result["pairs"] == 1 and result["better"] == 1


def test_ranking_table_shows_median_and_range_and_fails_the_never_reached():
    stats = {"median": 0.002, "q05": 0.001, "q95": 0.004}
    summary = [
        {
            "family": "optimistix",
            "method": "optimistix-BFGS",
            "gradient_mode": "jax",
            "runs": 3,
            "reached": 3,
            "time_to_target_s": stats,
            "evals_to_target": {"median": 40.0, "q05": 40.0, "q95": 40.0},
            "gradient_evals_to_target": {"median": 40.0, "q05": 40.0, "q95": 40.0},
            "wall_time_s": stats,
            "rank_time": 1,
            "rank_evaluations": 1,
        },
        {
            "family": "optax",
            "method": "optax-adam",
            "gradient_mode": "jax",
            "runs": 3,
            "reached": 0,
            "time_to_target_s": None,
            "evals_to_target": None,
            "gradient_evals_to_target": None,
            "wall_time_s": stats,
            "rank_time": None,
            "rank_evaluations": None,
        },
    ]
    ranking = optimizers.ranking_table(summary)
    assert ranking.rows[0][:7] == ["1", "1", "optimistix", "optimistix-BFGS", "jax", "3 of 3", "0.002 [0.001, 0.004]"]
    assert ranking.rows[0][7] == "40"  # a point range is the median alone
    assert ranking.rows[1][6] == "not reached" and ranking.status == ["pass", "fail"]


def test_tables_escape_content_and_mark_status():
    frame = pd.DataFrame({"name": ["<b>x</b>", "y"], "value": [1.5, np.nan], "ok": [True, False]})
    page = str(macros().render_table(html.table(frame, "ok")))
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert page.count('class="pass"') == 1 and page.count('class="fail"') == 1
    assert "<td></td>" in page  # NaN is an empty cell


def test_figures_are_embedded_as_data_uris(tmp_path):
    png = tmp_path / "a.png"
    png.write_bytes(b"\x89PNG fake")
    svg = tmp_path / "b.svg"
    svg.write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert base64.b64encode(png.read_bytes()).decode() in html.embed(png).uri
    assert html.embed(svg).uri.startswith("data:image/svg+xml;base64,")
    page = str(macros().render_figure(html.embed(png, "cap <i>")))
    assert 'src="data:image/png;base64,' in page and "cap &lt;i&gt;" in page


def test_runtimes_come_from_the_declared_benchmark_files_only(tmp_path):
    (tmp_path / "fit").mkdir()
    (tmp_path / "fit" / "m.tsv").write_text("s\th:m:s\tmax_rss\n1.25\t0:00:01\t100\n")
    (tmp_path / "fit" / "old.tsv").write_text("s\th:m:s\tmax_rss\n9\t0:00:09\t1\n")  # not declared: not listed
    table = benchmark.runtimes_table([str(tmp_path / "fit" / "m.tsv")], root=str(tmp_path))
    assert table.to_dict("records") == [{"job": "fit/m", "seconds": 1.25, "max_rss_mb": 100}]


def test_flags_read_as_one_line_per_cause_and_one_per_parameter_only_where_a_reader_should_look():
    from types import SimpleNamespace

    from diffpipe.likelihood.crosscheck import HESSE_DIFFERS, NON_PARABOLIC, flag_groups

    def row(name, rel, reason, worst="minos_lower"):
        return {"parameter": name, "max_rel_diff": rel, "worst": worst, "flagged": bool(reason), "reason": reason}

    crosscheck = [row(f"np_{i}", 0.01 + 0.002 * i, NON_PARABOLIC) for i in range(38)]
    crosscheck += [row("gamma_0", 0.2, HESSE_DIFFERS, "hesse"), row("lumi", 0.001, "")]
    groups = flag_groups(crosscheck)
    assert [(g["reason"], g["attention"], len(g["parameters"])) for g in groups] == [
        (NON_PARABOLIC, False, 38),
        (HESSE_DIFFERS, True, 1),
    ]
    lines = likelihood.flag_lines(SimpleNamespace(crosscheck=crosscheck, flag_groups=groups))
    assert lines == [
        f"38 of 40 parameters: minos_lower differs from the autodiff σ by 1%–8.4%: {NON_PARABOLIC}",
        f"gamma_0: hesse differs by 20% from the autodiff σ: {HESSE_DIFFERS}",
    ]


def test_a_design_that_misses_its_checks_is_flagged_and_one_without_a_result_fails():
    from design_artifact import design as make_design

    from diffpipe.report import design

    good, missing = make_design(True), make_design(False)
    worse = make_design(True)
    worse.validation = {**worse.validation, "within_grid": False}
    rows, notes = design.design_summary([{"name": "d", "design": d} for d in (good, worse, missing)])
    assert [r["status"] for r in rows] == ["pass", "flag", "fail"]
    assert "0.4 trained, 1.5 at the start, 0.5 at the grid's best cut" in rows[0]["headline"]
    assert [n["status"] for n in notes] == ["flag", "fail"]
    assert "worse than the grid's best" in notes[0]["text"] and "did not converge" in notes[1]["text"]
