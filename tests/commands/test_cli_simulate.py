"""`netpol-conformance simulate`: JSON and table output, and clear errors on bad input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from netpol_conformance.cli import main

TOPOLOGY = """\
namespaces:
  - name: x
    labels: {team: red}
  - name: y
pods:
  - namespace: x
    name: a
    ip: 10.0.0.1
    labels: {app: a}
    ports: [{port: 80, name: http}, {port: 53, protocol: UDP, name: dns}]
  - namespace: x
    name: b
    ip: 10.0.0.2
    labels: {app: b}
    ports: [{port: 80, name: http}]
  - {namespace: y, name: c, ip: 10.0.1.1, ports: [{port: 80}]}
externals:
  - {name: ext, ip: 192.0.2.1, ports: [{port: 443}]}
"""
# x/b admits only x/a on its http port; y/c may only reach ext.
POLICIES = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-a, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: a}}}]
    ports: [{port: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: out-to-ext, namespace: y}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 192.0.2.0/24}}]
"""
# (from, to, port, protocol) -> allowed, for every cell the JSON must hold.
EXPECTED = {
    ("x/a", "x/b", 80, "TCP"): True,
    ("x/a", "y/c", 80, "TCP"): True,
    ("x/a", "ext", 443, "TCP"): True,
    ("x/b", "x/a", 80, "TCP"): True,
    ("x/b", "x/a", 53, "UDP"): True,
    ("x/b", "y/c", 80, "TCP"): True,
    ("x/b", "ext", 443, "TCP"): True,
    ("y/c", "x/a", 80, "TCP"): False,
    ("y/c", "x/a", 53, "UDP"): False,
    ("y/c", "x/b", 80, "TCP"): False,
    ("y/c", "ext", 443, "TCP"): True,
}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY)
    policies = tmp_path / "policies" / "policies.yaml"
    policies.parent.mkdir()
    policies.write_text(POLICIES)
    return topology, policies


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["simulate", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_one_entry_per_source_destination_and_declared_port(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    topology, policies = files
    code, out, err = run(capsys, "--topology", topology, "--policies", policies, "--format", "json")
    assert (code, err) == (0, "")
    results = json.loads(out)["results"]
    assert all(list(r) == ["from", "to", "port", "protocol", "allowed"] for r in results)
    got = {(r["from"], r["to"], r["port"], r["protocol"]): r["allowed"] for r in results}
    assert len(results) == len(got) == len(EXPECTED)
    assert got == EXPECTED
    lines = out.splitlines()  # streamed: one result per line
    assert (lines[0], lines[-1], len(lines)) == ('{"results": [', "]}", len(EXPECTED) + 2)


def test_json_reasons_say_why(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    topology, policies = files
    code, out, err = run(
        capsys, "--topology", topology, "--policies", policies, "--format", "json", "--explain"
    )
    assert (code, err) == (0, "")
    results = json.loads(out)["results"]
    assert {(r["from"], r["to"], r["port"], r["protocol"]): r["allowed"] for r in results} == (
        EXPECTED
    )
    reasons = {(r["from"], r["to"], r["port"]): r["reason"] for r in results}
    assert reasons[("x/a", "x/b", 80)] == (
        "egress: open (x/a is selected by no Egress policy); "
        "ingress: allowed by x/only-a ingress[0] (x/b is selected by x/only-a)"
    )
    assert reasons[("y/c", "x/b", 80)] == (
        "egress: denied (y/c is isolated by y/out-to-ext and no rule allows it); "
        "ingress: denied (x/b is isolated by x/only-a and no rule allows it)"
    )
    assert reasons[("y/c", "ext", 443)].startswith(
        "egress: allowed by y/out-to-ext egress[0] (y/c is selected by y/out-to-ext);"
    )


def parse_tables(text: str) -> dict[str, dict[tuple[str, str], str]]:
    """{"80/TCP": {(row, column): mark}} from the table output."""
    tables: dict[str, dict[tuple[str, str], str]] = {}
    current: dict[tuple[str, str], str] = {}
    columns: list[str] = []
    for line in text.splitlines():
        title = re.match(r"^(\d+/(?:TCP|UDP|SCTP))\b", line)
        if title:
            current = tables.setdefault(title.group(1), {})
            columns = []
        elif line.strip().startswith("from \\ to"):
            columns = line.split()[3:]
        elif columns and re.match(r"^\s*\S+/\S+\s", line):
            row, *marks = line.split()
            assert len(marks) == len(columns), line
            current.update({(row, c): m for c, m in zip(columns, marks, strict=True)})
    return tables


def test_table_has_one_truth_table_per_port_and_protocol(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    topology, policies = files
    code, out, err = run(capsys, "--topology", topology, "--policies", policies)
    assert (code, err) == (0, "")
    tables = parse_tables(out)
    assert set(tables) == {"80/TCP", "53/UDP", "443/TCP"}
    for (src, dst, port, proto), allowed in EXPECTED.items():
        assert tables[f"{port}/{proto}"][(src, dst)] == ("." if allowed else "X")
    assert tables["80/TCP"][("x/a", "x/a")] == "-"  # a pod is not its own destination
    assert set(tables["443/TCP"]) == {("x/a", "ext"), ("x/b", "ext"), ("y/c", "ext")}


def test_table_title_keeps_its_legend_on_one_line(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    topology, policies = files
    _, out, _ = run(capsys, "--topology", topology, "--policies", policies, "--format", "table")
    assert "443/TCP  (. allowed, X denied)" in out.splitlines()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_usage_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert err.startswith("netpol-conformance: error:")
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"


def test_unknown_field_names_file_object_and_path(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topology, _ = files
    bad = write(tmp_path, "bad.yaml", POLICIES.replace("  - from:", "  - form:"))
    code, out, err = run(capsys, "--topology", topology, "--policies", bad, "--format", "json")
    assert_usage_error(
        code, out, err, f"{bad}[0]: NetworkPolicy x/only-a: spec.ingress[0].form: unknown field"
    )


def test_every_problem_of_every_file_is_listed(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topology, _ = files
    a = write(tmp_path, "a.yaml", POLICIES.replace("[Egress]", "[Egres]"))
    b = write(tmp_path, "b.yaml", POLICIES.replace("port: http", "port: http, endPort: 90"))
    code, out, err = run(capsys, "--topology", topology, "--policies", a, "--policies", b)
    assert_usage_error(
        code,
        out,
        err,
        f"{a}[1]: NetworkPolicy y/out-to-ext: spec.policyTypes[0]:",
        f"{b}[0]: NetworkPolicy x/only-a: spec.ingress[0].ports[0].endPort:",
    )


def test_malformed_yaml_names_the_file_and_line(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topology, _ = files
    bad = write(tmp_path, "broken.yaml", "kind: NetworkPolicy\nspec: {podSelector: [\n")
    code, out, err = run(capsys, "--topology", topology, "--policies", bad)
    assert_usage_error(code, out, err, f"{bad}:", "not valid YAML")
    assert re.search(re.escape(str(bad)) + r":\d+", err)


def test_missing_files_exit_2(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topology, policies = files
    missing = tmp_path / "missing.yaml"
    code, out, err = run(capsys, "--topology", topology, "--policies", missing)
    assert_usage_error(code, out, err, str(missing), "no such file or directory")
    code, out, err = run(capsys, "--topology", missing, "--policies", policies)
    assert_usage_error(code, out, err, str(missing), "cannot read")


def test_invalid_topology_names_the_pod_and_field(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, policies = files
    bad = write(tmp_path, "topo.yaml", TOPOLOGY.replace("10.0.0.2", "10.0.0.256"))
    code, out, err = run(capsys, "--topology", bad, "--policies", policies)
    assert_usage_error(code, out, err, f"{bad}: pod x/b: pods[1].ip: '10.0.0.256' is not an IP")
    bad = write(tmp_path, "topo2.yaml", TOPOLOGY.replace("{app: b}", "[app, b]"))
    code, out, err = run(capsys, "--topology", bad, "--policies", policies)
    assert_usage_error(code, out, err, f"{bad}: pod x/b: pods[1].labels:")


def test_topology_problems_are_all_listed_with_their_paths(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, policies = files
    broken = TOPOLOGY.replace("  - name: y\n", "  - y\n  - name: x\n").replace(
        "ip: 10.0.0.2", "ip: 10.0.0.1"
    )
    bad = write(tmp_path, "topo.yaml", broken)
    code, out, err = run(capsys, "--topology", bad, "--policies", policies)
    assert_usage_error(
        code,
        out,
        err,
        "3 problems in the topology:",
        f"{bad}: namespaces[1]: must be a mapping such as {{name: y}}, got a string 'y'",
        f"{bad}: namespace x: namespaces[2].name: namespace x is already defined at namespaces[0]",
        f"{bad}: pod x/b: pods[1].ip: 10.0.0.1 is already the address of pod x/a (pods[0])",
    )


def test_topology_and_policy_problems_are_reported_together(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_topology = write(tmp_path, "topo.yaml", TOPOLOGY.replace("ip: 10.0.1.1", "ip: nowhere"))
    bad_policies = write(tmp_path, "bad.yaml", POLICIES.replace("[Egress]", "[Egres]"))
    code, out, err = run(capsys, "--topology", bad_topology, "--policies", bad_policies)
    assert_usage_error(
        code,
        out,
        err,
        "2 problems in the topology and the manifests:",
        f"{bad_topology}: pod y/c: pods[2].ip:",
        f"{bad_policies}[1]: NetworkPolicy y/out-to-ext: spec.policyTypes[0]:",
    )


def test_an_empty_policy_file_is_warned_about_and_answered(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topology, policies = files
    empty = write(tmp_path, "empty.yaml", "# to do\n")
    code, out, err = run(capsys, "--topology", topology, "--policies", empty, "--format", "json")
    assert code == 0
    assert err == (
        f"netpol-conformance: warning: {empty} holds no document: no policy comes from it\n"
    )
    results = json.loads(out)["results"]
    assert len(results) == len(EXPECTED) and all(r["allowed"] for r in results)
    code, out, err = run(
        capsys, "--topology", topology, "--policies", empty, "--policies", policies
    )
    assert code == 0 and err.count("warning") == 1
    assert parse_tables(out)["80/TCP"][("y/c", "x/b")] == "X"


def test_a_policy_in_a_namespace_the_topology_lacks_is_warned_about(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topology, _ = files
    elsewhere = write(tmp_path, "q.yaml", POLICIES.replace("namespace: y}", "namespace: q}"))
    code, out, err = run(
        capsys, "--topology", topology, "--policies", elsewhere, "--format", "json"
    )
    assert code == 0
    assert err == (
        f"netpol-conformance: warning: NetworkPolicy q/out-to-ext ({elsewhere}[1]) is in "
        "namespace q, which the topology does not have: it selects no pod\n"
    )
    got = {
        (r["from"], r["to"], r["port"], r["protocol"]): r["allowed"]
        for r in json.loads(out)["results"]
    }
    assert got[("y/c", "x/a", 80, "TCP")] is True  # y/c is no longer isolated
    assert got[("y/c", "x/b", 80, "TCP")] is False  # x/only-a still holds


def test_from_and_to_narrow_the_answer(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    topology, policies = files
    code, out, err = run(capsys, "--topology", topology, "--policies", policies, "--format",
                         "json", "--from", "y", "--to", "x", "--to", "ext")  # fmt: skip
    assert (code, err) == (0, "")
    got = {
        (r["from"], r["to"], r["port"], r["protocol"]): r["allowed"]
        for r in json.loads(out)["results"]
    }
    assert got == {k: v for k, v in EXPECTED.items() if k[0] == "y/c" and k[1] != "y/c"}
    code, out, err = run(capsys, "--topology", topology, "--policies", policies, "--from", "x",
                         "--to", "y")  # fmt: skip
    assert (code, err) == (0, "")
    assert parse_tables(out) == {"80/TCP": {("x/a", "y/c"): ".", ("x/b", "y/c"): "."}}


def test_unknown_from_and_to_names_exit_2_listing_what_exists(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    topology, policies = files
    code, out, err = run(capsys, "--topology", topology, "--policies", policies, "--from", "ext")
    assert_usage_error(
        code, out, err, "--from ext: the topology has no such namespace (it has: x, y)"
    )
    code, out, err = run(capsys, "--topology", topology, "--policies", policies, "--to", "z")
    assert_usage_error(code, out, err, "--to z:", "(it has: x, y, ext)")


def test_options_that_do_not_fit_the_format_exit_2(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    topology, policies = files
    code, out, err = run(capsys, "--topology", topology, "--policies", policies, "--explain")
    assert_usage_error(code, out, err, "--explain", "--format json")
    code, out, err = run(capsys, "--topology", topology, "--policies", policies, "--format",
                         "json", "--group", "pod")  # fmt: skip
    assert_usage_error(code, out, err, "--group", "--format table")


def test_namespace_tables_sum_up_each_pair_of_namespaces(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    topology, policies = files
    code, out, err = run(capsys, "--topology", topology, "--policies", policies, "--group",
                         "namespace")  # fmt: skip
    assert (code, err) == (0, "")
    blocks = [b.splitlines() for b in out.strip().split("\n\n")]
    assert [b[0] for b in blocks] == [
        "53/UDP by namespace: 1 of 2 allowed  (. all, X none, N% that share, - no connection)",
        "80/TCP by namespace: 4 of 6 allowed  (. all, X none, N% that share, - no connection)",
        "443/TCP by namespace: 3 of 3 allowed  (. all, X none, N% that share, - no connection)",
    ]
    rows = {b[0].split()[0]: [line.split() for line in b[3:]] for b in blocks}
    assert blocks[1][1].split() == ["from", "\\", "to", "x", "y"]
    assert rows["80/TCP"] == [["x", ".", "."], ["y", "X", "-"]]
    assert rows["53/UDP"] == [["x", "."], ["y", "X"]]
    assert blocks[2][1].split()[3:] == ["(externals)"]
    assert rows["443/TCP"] == [["x", "."], ["y", "."]]


SHARES_TOPOLOGY = """\
pods:
  - {namespace: x, name: a, ip: 10.0.0.1, labels: {app: a}, ports: [{port: 80, name: http}]}
  - {namespace: x, name: b, ip: 10.0.0.2, labels: {app: b}, ports: [{port: 80, name: http}]}
  - {namespace: x, name: c, ip: 10.0.0.3, labels: {app: c}, ports: [{port: 80, name: http}]}
  - {namespace: y, name: d, ip: 10.0.1.1, ports: [{port: 80}]}
"""


def test_namespace_tables_show_the_share_that_is_allowed(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, policies = files  # x/b admits only x/a; y/out-to-ext isolates y's egress
    topology = write(tmp_path, "shares.yaml", SHARES_TOPOLOGY)
    code, out, err = run(capsys, "--topology", topology, "--policies", policies, "--group",
                         "namespace")  # fmt: skip
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("80/TCP by namespace: 8 of 12 allowed")
    # x->x: 5 of 6 (c->b denied); x->y: 3 of 3; y->x: 0 of 3 (y may only reach 192.0.2.0/24)
    assert [line.split() for line in lines[3:]] == [["x", "83%", "."], ["y", "X", "-"]]


def test_bad_options_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--policies", "p.yaml"])
    assert info.value.code == 2
    assert "--topology" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--topology", "t", "--policies", "p", "--format", "csv"])
    assert info.value.code == 2


def console_script() -> str:
    path = shutil.which("netpol-conformance")
    assert path, "the package must be installed (pip install -e .)"
    return path


def test_console_script_prints_json(files: tuple[Path, Path]) -> None:
    topology, policies = files
    done = subprocess.run(
        [console_script(), "simulate", "--topology", str(topology), "--policies",
         str(policies.parent), "--format", "json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    results = json.loads(done.stdout)["results"]
    assert {(r["from"], r["to"], r["port"], r["protocol"]): r["allowed"] for r in results} == (
        EXPECTED
    )


def test_console_script_exits_2_without_traceback(files: tuple[Path, Path], tmp_path: Path) -> None:
    topology, _ = files
    outside = "cidr: 192.0.2.0/24, except: [198.51.100.0/24]"
    bad = write(tmp_path, "bad.yaml", POLICIES.replace("cidr: 192.0.2.0/24", outside))
    done = subprocess.run(
        [console_script(), "simulate", "--topology", str(topology), "--policies", str(bad)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{bad}[1]: NetworkPolicy y/out-to-ext: spec.egress[0].to[0].ipBlock.except[0]:" in (
        done.stderr
    )


REPO = Path(__file__).resolve().parents[2]


def test_a_reader_that_stops_early_ends_the_stream_quietly(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    _, policies = files
    pods = "\n".join(
        f"  - {{namespace: x, name: p{i}, ip: 10.1.0.{i + 1}, ports: [{{port: 80}}]}}"
        for i in range(80)
    )
    topology = write(tmp_path, "big.yaml", f"namespaces: [{{name: y}}]\npods:\n{pods}\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "netpol_conformance.cli", "simulate", "--topology", str(topology),
         "--policies", str(policies), "--format", "json"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert first == b'{"results": [\n'
    assert err == b""
