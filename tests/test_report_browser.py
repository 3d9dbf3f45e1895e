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
