"""The HTML report opened in a real headless Chromium (Debian's chromium + chromium-driver)."""

import shutil
from pathlib import Path

import pytest
from conftest import require

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def browser(tmp_path):
    require(
        Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file(),
        "Debian's chromium and chromium-driver are not installed (make sysdeps installs them)",
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1300,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_report_renders_every_image_without_console_errors(pipeline_run, browser, tmp_path):
    report = pipeline_run / "results" / "report.html"
    browser.get(report.as_uri())
    images = browser.execute_script("return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth]);")
    assert len(images) >= 10
    broken = [alt for alt, complete, width in images if not complete or width == 0]
    assert not broken, f"images that did not decode: {broken}"
    sections = browser.execute_script("return Array.from(document.querySelectorAll('h2')).map(h => h.textContent);")
    assert {"Gradients", "Optimizer comparison", "Likelihood fits", "Fractals", "Provenance"} <= set(sections)
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1300, min(height, 16000))
    shot = tmp_path / "report-screenshot.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    # Kept beside the test run's results for a person to look at (outside results/).
    shutil.copy(shot, pipeline_run / shot.name)


def test_report_opens_with_a_summary_and_contents_that_lead_to_each_section(pipeline_run, browser):
    browser.get((pipeline_run / "results" / "report.html").as_uri())
    first = browser.execute_script("return document.querySelector('h2').textContent")
    assert first == "Summary"
    rows = browser.execute_script(
        "return Array.from(document.querySelectorAll('table.summary tr')).slice(1)"
        ".map(r => [r.cells[0].textContent, r.cells[1].textContent, r.cells[2].textContent, r.className]);"
    )
    stages = [r[0] for r in rows]
    assert stages[0] == "Gradients" and "Fit: counting" in stages and "Fractals" in stages
    fit = next(r for r in rows if r[0] == "Fit: counting")
    # The small config's counting model: Asimov data at mu = 1; MINOS is valid on both sides.
    assert fit[1].startswith("mu = 1.0") and "(MINOS)" in fit[1] and " +" in fit[1] and " −" in fit[1]
    # Its 1% MINOS asymmetry is a flag (explained), never painted as a failure.
    assert fit[2] == "flagged, explained" and fit[3] == "flag"
    # Every contents link and every summary link lands on an element that exists.
    targets = browser.execute_script(
        "return Array.from(document.querySelectorAll('nav a, table.summary a, ul.notes a'))"
        ".map(a => [a.getAttribute('href'), !!document.getElementById(a.getAttribute('href').slice(1))]);"
    )
    assert len(targets) >= 10 and all(found for _, found in targets), targets
    browser.find_element("css selector", "nav a[href='#model-counting']").click()
    heading = browser.execute_script("return document.getElementById('model-counting').getBoundingClientRect().top")
    assert abs(heading) < 50  # the link scrolled the model's section to the top


def test_fit_sections_name_their_data_and_label_offsets(pipeline_run, browser):
    browser.get((pipeline_run / "results" / "report.html").as_uri())
    section = browser.execute_script(
        "const h = document.getElementById('model-counting'); let t = ''; let n = h.nextElementSibling;"
        "while (n && n.tagName !== 'H3' && n.tagName !== 'H2') { t += n.textContent + '\\n'; n = n.nextElementSibling; }"
        "return t;"
    )
    assert "Model: simple counting model" in section and "Asimov data" in section
    headers = browser.execute_script(
        "return Array.from(document.getElementById('model-counting').parentNode.querySelectorAll('th'))"
        ".map(th => th.textContent);"
    )
    assert "MINOS − (offset)" in headers and "profile + (offset)" in headers
    colours = browser.execute_script(
        "const rows = Array.from(document.querySelectorAll('tr.flag td:first-child, tr.fail td:first-child'));"
        "return rows.map(td => [td.parentNode.className, getComputedStyle(td.parentNode).backgroundColor]);"
    )
    assert colours and all(cls == "flag" for cls, _ in colours)  # flags in the small run; no failures
    assert len({bg for _, bg in colours}) == 1 and colours[0][1] != "rgb(255, 221, 221)"  # not the failure red


def test_flags_of_one_cause_read_as_one_grouped_line(pipeline_run, browser, tmp_path):
    """Every parameter of the background-only model flagged for the same cause (as MINOS
    asymmetries of a large fit are): the summary and the model's section show one line."""
    from conftest import snakemake

    from diffpipe import artifacts
    from diffpipe.likelihood.crosscheck import NON_PARABOLIC, flag_groups

    work = tmp_path / "w"
    shutil.copytree(pipeline_run, work, symlinks=True)
    path = work / "results" / "likelihood" / "no_poi" / "fit.json"
    fit = artifacts.FitResult.read(path)
    for row in fit.crosscheck:
        row.update(flagged=True, reason=NON_PARABOLIC, worst="minos_lower", max_rel_diff=0.016)
    fit.flag_groups = flag_groups(fit.crosscheck)
    fit.write(path)
    snakemake(work)
    browser.get((work / "results" / "report.html").as_uri())
    notes = browser.execute_script(
        "return Array.from(document.querySelectorAll('ul.notes li')).map(li => li.textContent)"
        ".filter(t => t.includes('no_poi'));"
    )
    n = len(fit.crosscheck)
    assert notes == [
        f"flagged: no_poi: {n} of {n} parameters: minos_lower differs from the autodiff σ by 1.6%: {NON_PARABOLIC}"
    ]
    lines = browser.execute_script(
        "const h = document.getElementById('model-no_poi'); let n = h.nextElementSibling; let out = [];"
        "while (n && n.tagName !== 'H3' && n.tagName !== 'H2') {"
        "  if (n.tagName === 'UL' && n.classList.contains('warn')) out = Array.from(n.children).map(li => li.textContent);"
        "  n = n.nextElementSibling; }"
        "return out;"
    )
    assert len(lines) == 1 and lines[0].startswith(f"{n} of {n} parameters")


def test_the_report_links_the_tables_and_the_record_and_shows_the_pre_and_post_fit_figures(pipeline_run, browser):
    report = pipeline_run / "results" / "report.html"
    browser.get(report.as_uri())
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'));"
    )
    wanted = {"tables/counting_yields.md", "tables/counting_limits.tex", "hepdata/submission.yaml", "hepdata.tar.gz"}
    assert wanted <= set(links), sorted(set(links))
    for href in wanted:  # every link leads to a file the run wrote
        assert (pipeline_run / "results" / href).is_file(), href
    alts = browser.execute_script("return Array.from(document.images).map(i => [i.alt, i.naturalWidth]);")
    for model in ("counting", "no_poi"):
        section = browser.execute_script(  # the images between the model's heading and the next one
            "const alts = []; let node = document.getElementById(arguments[0]).nextElementSibling;"
            "while (node && node.tagName !== 'H3' && node.tagName !== 'H2') {"
            "  node.querySelectorAll('img').forEach(i => alts.push(i.alt)); node = node.nextElementSibling; }"
            "return alts;",
            f"inference-{model}",
        )
        assert {"pre-fit yields", "post-fit yields"} <= set(section), (model, section)
    assert all(width > 0 for alt, width in alts if "yields" in alt)
    resolved = browser.execute_script(  # each link as the browser resolves it against the report
        "return arguments[0].map(h => new URL(h, document.baseURI).pathname);", sorted(wanted)
    )
    assert all(Path(path).is_file() for path in resolved), resolved
