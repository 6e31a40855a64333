"""The report in a real browser: headless Chromium opens the site from file:// (offline), runs its
scripts, and we read the DOM it ends with: the leaderboard sorts by URL hash and by clicks, the run
page has its SVG curves and its strip images load, and nothing is logged to the console.
Screenshots go to $VBENCH_ARTIFACTS (default: the test's tmp folder) for CI to keep."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import write_suite
from vbench.cli import main

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium")
                 if p and Path(p).is_file()), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian: apt-get install chromium)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--window-size=1280,1600"]

# A page beside the site that clicks leaderboard headers inside an iframe and writes what it saw.
CLICKER = """<!doctype html><html><body><pre id="result"></pre>
<iframe id="board" src="suite-tiny.html#sort=psnr:asc" width="1200" height="800"></iframe>
<script>
document.getElementById("board").addEventListener("load", function () {
  var doc = this.contentDocument, win = this.contentWindow;
  function order() {
    return Array.prototype.map.call(doc.querySelectorAll("#leaderboard tbody tr"), function (row) {
      return row.querySelector('td[data-key="psnr"]').getAttribute("data-value");
    });
  }
  var seen = {hash: order()};
  doc.querySelector('#leaderboard th[data-key="psnr"]').click();
  seen.click = order();
  seen.clickHash = win.location.hash;
  doc.querySelector('#leaderboard th[data-key="psnr"]').click();
  seen.clickAgain = order();
  seen.ariaSort = doc.querySelector('#leaderboard th[data-key="psnr"]').getAttribute("aria-sort");
  document.getElementById("result").textContent = JSON.stringify(seen);
});
</script></body></html>
"""


class _Dom(HTMLParser):
    """Rows of table#leaderboard as {data-key: data-value}, and every element's attributes by tag."""

    def __init__(self, html: str):
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.tags: dict[str, list[dict[str, str]]] = {}
        self._table = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        self.tags.setdefault(tag, []).append(attrs)
        if tag == "table":
            self._table = attrs.get("id")
        elif tag == "tr" and self._table == "leaderboard":
            self.rows.append({})
        elif tag == "td" and self._table == "leaderboard" and "data-key" in attrs:
            self.rows[-1][attrs["data-key"]] = attrs.get("data-value", "")

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None


def _open(page: Path, profile: Path, *extra: str, fragment: str = "") -> tuple[str, list[str]]:
    """(DOM after scripts ran, console lines) of `page` opened from file://."""
    out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, "--dump-dom",
                          page.resolve().as_uri() + fragment], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    console = [line for line in out.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    return out.stdout, console


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    suite = write_suite(folder)
    store = folder / "r.sqlite"
    for model in (["copy_last"], ["noisy_copy_last", "--model-arg", "sigma=0.05"]):
        assert main(["run", "--suite", str(suite), "--model", *model, "--store", str(store), "--no-progress"]) == 0
    assert main(["report", "--store", str(store), "--out", str(folder / "site"), "--resamples", "500"]) == 0
    return folder / "site"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("VBENCH_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _screenshot_ok(path: Path) -> None:
    image = np.asarray(Image.open(path).convert("L"))
    assert image.shape[1] == 1280 and image.std() > 10         # something was drawn


def test_leaderboard_table_sorts_by_hash_and_by_click(site, tmp_path, artifacts):
    shot = artifacts / "leaderboard.png"
    dom, console = _open(site / "suite-tiny.html", tmp_path / "p1", f"--screenshot={shot}", fragment="#sort=psnr")
    assert console == []
    parsed = _Dom(dom)
    rows = [r for r in parsed.rows if r]                       # header rows carry no data cells
    assert len(rows) == 2
    psnr = [float(r["psnr"]) for r in rows]
    assert psnr == sorted(psnr, reverse=True)                  # #sort=psnr: best (highest) first
    assert [r["model"] for r in rows] == ["noisy_copy_last", "copy_last"]   # the opposite of the SSIM rank
    header = next(th for th in parsed.tags["th"] if th.get("data-key") == "psnr")
    assert header["aria-sort"] == "descending"
    assert any(t.get("id") == "comparison" for t in parsed.tags["table"])
    _screenshot_ok(shot)

    (site / "clicker.html").write_text(CLICKER)
    dom, console = _open(site / "clicker.html", tmp_path / "p2", "--allow-file-access-from-files")
    assert console == []
    seen = json.loads(dom.split('<pre id="result">')[1].split("</pre>")[0])
    as_numbers = {k: [float(v) for v in seen[k]] for k in ("hash", "click", "clickAgain")}
    assert as_numbers["hash"] == sorted(as_numbers["hash"])                   # #sort=psnr:asc
    assert as_numbers["click"] == sorted(as_numbers["click"], reverse=True)   # a click flips it
    assert seen["clickHash"] == "#sort=psnr:desc"
    assert as_numbers["clickAgain"] == as_numbers["hash"] and seen["ariaSort"] == "ascending"


def test_run_page_has_curves_and_loaded_strips(site, tmp_path, artifacts):
    page = next(site.glob("run-*noisy_copy_last*.html"))
    shot = artifacts / "run-page.png"
    dom, console = _open(page, tmp_path / "p3", f"--screenshot={shot}")
    assert console == []
    parsed = _Dom(dom)
    curves = [svg for svg in parsed.tags["svg"] if svg.get("class") == "curve"]
    assert sorted(svg["data-metric"] for svg in curves) == ["psnr", "ssim"]
    assert sum(p.get("class") == "band" for p in parsed.tags["path"]) == 2
    images = [img for img in parsed.tags["img"] if "strip-image" in img.get("class", "")]
    assert len(images) == 2 * 4                                 # GIF + PNG for each of the first 4 videos
    assert all(int(img["data-loaded"]) > 0 for img in images)   # naturalWidth written by the page
    assert {img["src"].rsplit(".", 1)[1] for img in images} == {"gif", "png"}
    _screenshot_ok(shot)
