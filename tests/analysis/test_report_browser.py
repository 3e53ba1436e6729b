"""report.html in a real browser: headless Chromium renders it, every image decodes, and nothing errors.

How the page is checked: the report itself runs no script, so the test loads a copy of it with a tiny inline
probe (PROBE_SCRIPT) put first in <head>, before anything can fail to load. On `load` the probe writes on
<body> the number of images, how many decoded (complete and naturalWidth > 0), and every error seen (script
errors, resources that failed to load, console.error calls). Chromium's --dump-dom prints the DOM after
load, so the test reads those attributes back. This is sturdier than grepping Chromium's log
(--enable-logging): its stderr is full of unrelated messages (D-Bus, GPU, sandbox) and its console-log line
format changes between versions. A screenshot (--screenshot) shows that something was painted.

Chromium is Debian's `chromium` package; the session fixture installs it with apt-get when it is missing and
FAILS (never skips) when it cannot. Each Chromium is started here with a fresh profile and stopped by its own
process group id on timeout.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from matplotlib import image as mpimg

from analysis.document import Document, Figure, to_html

pytestmark = pytest.mark.browser

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"]
TIMEOUT_S = 180

# Sets data attributes a headless browser can read back with --dump-dom: how many images decoded, and
# every error (script errors, resources that failed to load, console.error calls).
PROBE_SCRIPT = """
(function () {
  var errors = [];
  function record(message) {
    errors.push(String(message).slice(0, 200));
    document.documentElement.setAttribute("data-errors", JSON.stringify(errors));
  }
  window.addEventListener("error", function (event) {
    var target = event.target;
    record(target && target !== window && target.tagName ? "failed to load " + target.tagName : event.message);
  }, true);
  window.addEventListener("unhandledrejection", function (event) { record("unhandled rejection: " + event.reason); });
  var consoleError = console.error;
  console.error = function () {
    record(Array.prototype.join.call(arguments, " "));
    consoleError.apply(console, arguments);
  };
  window.addEventListener("load", function () {
    var images = Array.prototype.slice.call(document.images);
    document.body.dataset.imagesTotal = images.length;
    var decoded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; });
    document.body.dataset.imagesLoaded = decoded.length;
    document.body.dataset.errors = JSON.stringify(errors);
    document.body.dataset.ready = "1";
  });
})();
"""


def probed_copy(page: Path, folder: Path) -> Path:
    """A copy of page in folder with PROBE_SCRIPT as the first element of <head>."""
    text = page.read_text()
    assert text.count("<head>") == 1, f"{page} has no single <head>"
    copy = folder / f"probed-{page.name}"
    copy.write_text(text.replace("<head>", f"<head>\n<script>{PROBE_SCRIPT}</script>", 1))
    return copy


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the chromium binary, installed with apt-get (after apt-get update) when absent."""
    found = shutil.which("chromium")
    if found:
        return found
    if not shutil.which("apt-get"):
        pytest.fail("chromium is not installed and there is no apt-get to install it", pytrace=False)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=1200, env=environment,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{' '.join(command)} did not finish within 20 minutes", pytrace=False)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}", pytrace=False)
    found = shutil.which("chromium")
    if not found:
        pytest.fail("apt-get installed chromium but no `chromium` is on PATH", pytrace=False)
    return found


def run_chromium(binary: str, profile: Path, *arguments: str) -> str:
    """Run one headless Chromium with a fresh profile; returns its stdout. Fails the test on timeout."""
    process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", *arguments],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the browser and its helper processes
        process.communicate()
        pytest.fail(f"chromium did not finish within {TIMEOUT_S} s", pytrace=False)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # helpers the browser left behind, if any
        except ProcessLookupError:
            pass
    assert process.returncode == 0, f"chromium exited with {process.returncode}:\n{stderr[-3000:]}"
    return stdout


def page_probe(binary: str, page: Path, folder: Path) -> dict:
    """Load a probed copy of page (in folder, with a fresh profile there); returns the attributes the probe set
    on <body>, read from the DOM after load."""
    dom = run_chromium(binary, folder / "profile-dom", "--dump-dom", probed_copy(page, folder).as_uri())
    body = re.search(r"<body([^>]*)>", dom)
    assert body, f"no <body> in the dumped DOM:\n{dom[:2000]}"
    attributes = {name: html.unescape(value) for name, value in re.findall(r'data-([\w-]+)="([^"]*)"', body.group(1))}
    late = re.search(r'<html[^>]*data-errors="([^"]*)"', dom)  # errors after load land on <html>
    attributes["late-errors"] = html.unescape(late.group(1)) if late else "[]"
    return attributes


def test_report_renders_with_every_image_and_no_errors(chromium, built_report, tmp_path, shown_figures):
    probe = page_probe(chromium, built_report / "report.html", tmp_path)
    assert probe.get("ready") == "1", f"the page's load event never ran: {probe}"
    assert int(probe["images-total"]) == len(shown_figures)
    assert probe["images-loaded"] == probe["images-total"], probe
    assert json.loads(probe["errors"]) == [] and json.loads(probe["late-errors"]) == []

    screenshot = tmp_path / "report.png"
    run_chromium(chromium, tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1280,4000",
                 (built_report / "report.html").as_uri())
    pixels = mpimg.imread(screenshot)[..., :3]
    assert pixels.shape[:2] == (4000, 1280)
    assert pixels.var() > 0.01, "the screenshot is blank"
    assert (pixels.mean(axis=2) < 0.9).mean() > 0.02, "almost nothing was painted"


def test_the_probe_catches_a_broken_image(chromium, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is not a PNG")
    page = tmp_path / "broken.html"
    page.write_text(to_html(Document("broken").add(Figure("broken", "a broken image", broken))))
    probe = page_probe(chromium, page, tmp_path)
    assert (probe["images-total"], probe["images-loaded"]) == ("1", "0")
    assert json.loads(probe["errors"]) == ["failed to load IMG"] and probe["ready"] == "1"
