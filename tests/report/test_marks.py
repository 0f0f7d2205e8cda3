"""Every legend explains every mark the truth tables can show, from one table."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from report_runs import make_run

from netpol_conformance.report.html_report import render_html
from netpol_conformance.report.marks import LEGEND, MARKS, MEANINGS, NOT_OBSERVED


def test_every_mark_has_one_meaning_and_every_meaning_a_mark() -> None:
    explained = [m for m, _ in MEANINGS]
    assert len(explained) == len(set(explained))
    assert set(explained) == set(MARKS.values())


def test_the_terminal_legend_explains_the_marks_and_both_suffixes() -> None:
    assert LEGEND == (
        ". connected/resolved  X timed out/DNS failed  R refused  N DNS negative answer  "
        "U unreachable  E exec error  S protocol unsupported by the node  * differs  "
        "~ expected deviation"
    )


class _Bold(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.bold: list[str] = []
        self._in = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self._in = tag == "b"

    def handle_endtag(self, tag: str) -> None:
        self._in = False

    def handle_data(self, data: str) -> None:
        if self._in:
            self.bold.append(data)


def test_the_html_legend_names_every_mark_and_the_unobserved_one() -> None:
    page = render_html(make_run(scenarios=("1-default-deny-ingress",)))
    legend = re.search(r'<p class="legend">(.*?)</p>', page, re.S)
    assert legend is not None
    parser = _Bold()
    parser.feed(legend.group(1))
    assert parser.bold == [*(m for m, _ in MEANINGS), NOT_OBSERVED]
    for _, meaning in MEANINGS:
        assert meaning in legend.group(1)
