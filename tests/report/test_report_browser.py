"""The report in a real browser: headless Chromium renders it, and the rendered DOM is checked.

Skips with a reason only where no Chromium is installed (`.ci/run` installs Debian's).
Set NETPOL_REPORT_SCREENSHOT=PATH to keep the screenshot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_runs import blocks, make_run

from netpol_conformance.report.html_report import render_html
from netpol_conformance.results.compare import compare

S2 = "2-allow-frontend-to-db"
MISSED = "frontend/web->backend/db:5432/TCP"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium on PATH: `apt-get install chromium` (Debian) to run this test")


def _chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        browser,
        "--headless",
        "--no-sandbox",  # root in CI containers
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)


class Dom(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


@pytest.fixture(scope="module")
def rendered(
    browser: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Dom, Path, list[tuple[str, int]]]:
    root = tmp_path_factory.mktemp("browser")
    before, after = make_run(), make_run(version="v3.30.0", fault=blocks(S2, {MISSED}))
    page = root / "report.html"
    page.write_text(
        render_html(after, before, compare(before, after), ("before.json", "after.json"))
    )
    url = page.as_uri()
    dom = _chromium(browser, root / "profile", "--dump-dom", url).stdout
    shot = root / "report.png"
    _chromium(
        browser,
        root / "profile",
        "--hide-scrollbars",
        "--window-size=1400,2000",
        f"--screenshot={shot}",
        url,
    )
    keep = os.environ.get("NETPOL_REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
    steps = [(f"{s.scenario}/{s.step}", len({p.probe.port for p in s.probes})) for s in after.steps]
    return Dom(dom), shot, steps


def test_every_step_has_its_tables_in_the_rendered_dom(
    rendered: tuple[Dom, Path, list[tuple[str, int]]],
) -> None:
    dom, _, steps = rendered
    tables = [a for t, a in dom.tags if t == "table" and a.get("data-table")]
    for step_id, groups in steps:  # one pair per port, and DNS
        for which in ("expected", "observed"):
            found = [t for t in tables if t["data-step"] == step_id and t["data-table"] == which]
            assert len(found) == groups, (step_id, which)


def test_a_mismatch_cell_is_marked_in_the_rendered_dom(
    rendered: tuple[Dom, Path, list[tuple[str, int]]],
) -> None:
    dom, _, _ = rendered
    cells = [a for t, a in dom.tags if t == "td" and a.get("data-state") == "miss"]
    assert [c["data-probe"] for c in cells] == [MISSED]
    assert "miss" in cells[0]["class"].split()
    assert "expected connected, observed timeout" in cells[0]["title"]


def test_a_screenshot_is_written(rendered: tuple[Dom, Path, list[tuple[str, int]]]) -> None:
    _, shot, _ = rendered
    data = shot.read_bytes()
    assert data.startswith(PNG) and len(data) > 20_000  # a blank page compresses to ~10 kB
