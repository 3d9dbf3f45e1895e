import base64

import numpy as np
import pandas as pd

import report


def runs(rows):
    cols = ["problem", "method", "start", "gradient_mode", "evals_to_target", "unique_minimiser", "note"]
    return pd.DataFrame([dict(zip(cols, ("p", *r, True, ""))) for r in rows])


def test_optimizer_conclusion_is_computed_from_the_table():
    table = runs([
        ("BFGS", "[1]", "none", 40), ("BFGS", "[1]", "jax", 10),
        ("CG", "[1]", "none", 30), ("CG", "[1]", "jax", -1),
        ("Newton-CG", "[0]", "none", 1), ("Newton-CG", "[0]", "jax", 1),
    ])
    text = report.optimizer_conclusion(table)
    assert "1 of 3 method/start pairs" in text
    assert "CG from [1]: the exact-gradient run did not reach the target" in text
    assert "Newton-CG from [0]: the start already is a minimum" in text


def test_tables_escape_content_and_mark_status():
    frame = pd.DataFrame({"name": ["<b>x</b>", "y"], "value": [1.5, np.nan], "ok": [True, False]})
    html = report.table_html(frame, "ok")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert html.count('class="pass"') == 1 and html.count('class="fail"') == 1


def test_figures_are_embedded_as_data_uris(tmp_path):
    png = tmp_path / "a.png"
    png.write_bytes(b"\x89PNG fake")
    svg = tmp_path / "b.svg"
    svg.write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert base64.b64encode(png.read_bytes()).decode() in report.embed(png)
    assert "data:image/svg+xml;base64," in report.embed(svg)


def test_runtimes_come_from_snakemake_benchmark_files(tmp_path):
    (tmp_path / "fit").mkdir()
    (tmp_path / "fit" / "m.tsv").write_text("s\th:m:s\tmax_rss\n1.25\t0:00:01\t100\n")
    table = report.runtimes_table(str(tmp_path))
    assert table.to_dict("records") == [{"job": "fit/m", "seconds": 1.25, "max_rss_mb": 100}]
