"""`netpol-conformance catalogue`: the list by family, one scenario state by state, and its
refusals."""

from __future__ import annotations

import pytest

from netpol_conformance.cli import main
from netpol_conformance.commands import catalogue as command
from netpol_conformance.scenarios.catalogue import BY_ID, SCENARIOS
from netpol_conformance.scenarios.model import Scenario, State


def _out(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["catalogue", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_list_names_every_scenario_under_its_family(capsys) -> None:
    code, out, _ = _out(capsys)
    assert code == 0
    assert all(f"  {s.id} " in out for s in SCENARIOS)
    assert out.index("default deny and allow-all") < out.index("upstream-01-default-deny-ingress")
    assert "upstream 17" in out and "beyond upstream" in out


def test_the_markdown_list_has_a_row_per_scenario(capsys) -> None:
    code, out, _ = _out(capsys, "--format", "markdown")
    rows = [line for line in out.splitlines() if line.startswith("| ") and "`" in line]
    assert code == 0 and len(rows) == len(SCENARIOS)
    assert "| label updates | `upstream-21-from-updated-namespace` | 21: " in out


def _row(out: str, state: int, source: str) -> list[str]:
    """The cells of one source's row in the first table of a state."""
    section = out.split(f"state {state}/")[1]
    line = next(x for x in section.splitlines() if x.startswith(f"  {source} "))
    return line.split()[1:]


def test_a_scenario_shows_each_state_with_its_table(capsys) -> None:
    code, out, _ = _out(capsys, "upstream-21")  # a unique prefix is enough
    assert code == 0
    assert "state 1/2: policy" in out and "state 2/2: y-labelled" in out
    assert "label y ns2=updated" in out
    assert _row(out, 1, "y/b")[0] == "X" and _row(out, 2, "y/b")[0] == "."
    assert _row(out, 2, "z/b")[0] == "X"
    assert out.rstrip().endswith("the oracle agrees with every cell of every state")


def test_policies_are_printed_as_manifests(capsys) -> None:
    code, out, _ = _out(capsys, "upstream-35-except-in-cidr", "--policies")
    assert code == 0
    assert "kind: NetworkPolicy" in out and "except:" in out and "'{x/b}/32'" in out


def test_a_disagreeing_table_is_marked_and_exits_1(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    spec1 = BY_ID["upstream-01-default-deny-ingress"]
    wrong = Scenario("wrong-table", "deny-allow-all", (State("s", spec1.states[0].changes, ()),))
    monkeypatch.setitem(command.BY_ID, "wrong-table", wrong)
    code, out, _ = _out(capsys, "wrong-table")
    assert code == 1
    assert _row(out, 1, "y/a")[0] == "!"
    assert "24 cell(s) marked !: the oracle disagrees with the table" in out


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("upstream-4", "names 9 scenarios: upstream-40-no-tcp-when-only-udp"),
        ("upstream-99", "no scenario 'upstream-99' in the catalogue"),
        ("nothing-like-it", "list them with `catalogue`"),
    ],
)
def test_an_unknown_or_ambiguous_name_is_one_line_and_exit_2(capsys, name: str, says: str) -> None:
    code, out, err = _out(capsys, name)
    assert code == 2 and out == ""
    assert says in err and err.count("\n") == 1
