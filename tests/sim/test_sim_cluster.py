"""The simulated cluster answers like the real tools, enforces after a delay, and misbehaves
only as told by its faults."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from netpol_conformance.cni import profile
from netpol_conformance.errors import ManifestError, UsageError
from netpol_conformance.policy.model import EGRESS, INGRESS
from netpol_conformance.policy.parse import parse_policy
from netpol_conformance.probe.batch import Batch
from netpol_conformance.probe.classify import (
    classify_curl,
    classify_dig,
    classify_sctp,
    classify_udp,
)
from netpol_conformance.probe.commands import (
    ProbeSettings,
    curl_argv,
    dig_argv,
    sctp_argv,
    udp_argv,
)
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.sim.cluster import EXTERNAL_IP, SimulatedCluster
from netpol_conformance.sim.faults import FAULTS, Faults

CAPTURED = Path(__file__).resolve().parents[1] / "probe" / "captured"
SETTINGS = ProbeSettings()
DNS_NAME = "kubernetes.default.svc.cluster.local"


def capture(name: str) -> tuple[int, str]:
    """A real tool's output (see tests/probe/captured/capture.py), without its #> header."""
    *lines, last = (CAPTURED / f"{name}.txt").read_text().rstrip("\n").splitlines()
    lines = [ln for ln in lines if not ln.startswith("#>")]
    return int(last.removeprefix("rc=")), "\n".join(lines)


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def pod(ns: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "containers": [
                {
                    "name": "server",
                    "ports": [
                        {"containerPort": 80},
                        {"containerPort": 5432},
                        {"containerPort": 5432, "protocol": "UDP"},
                    ],
                },
                {"name": "probe"},
            ]
        },
    }


DENY_INGRESS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "deny", "namespace": "b"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
}


def cluster(cni: str = "calico", delay: float = 0.0, **faults: Any) -> SimulatedCluster:
    sim = SimulatedCluster(profile(cni), Faults(**faults), enforcement_delay=delay)
    sim.apply([namespace("a"), namespace("b")])
    sim.apply([pod("a", "client", {"app": "client"}), pod("b", "server", {"app": "server"})])
    return sim


def ip_of(sim: SimulatedCluster, ns: str, name: str) -> str:
    return next(p.ip for p in sim.pods([ns]) if p.name == name)


def curl(sim: SimulatedCluster, address: str, port: int = 80) -> tuple[int, str]:
    r = sim.exec("a", "client", "probe", curl_argv(address, port, SETTINGS), 10)
    assert r.error == ""
    return r.returncode, r.stderr


def batch(sim: SimulatedCluster, argvs: list[list[str]]) -> dict[int, tuple[int, str]]:
    b = Batch.of(argvs)
    r = sim.exec("a", "client", "probe", ["sh", "-c", b.script], 10)
    assert r.error == "" and r.returncode == 0
    return b.results(r.stdout)


def shape(text: str) -> str:
    """A message with its addresses, ports and durations blanked out."""
    text = re.sub(r"0x[0-9a-f]+", "ADDR", text)
    text = re.sub(r"\d+\.\d+\.\d+\.\d+(#\d+)?", "IP", text)
    return re.sub(r"\d+", "N", text)


# --- answers in the real tools' words ----------------------------------------------------------


def test_open_cluster_answers_like_curl_connected() -> None:
    sim = cluster()
    rc, out = curl(sim, ip_of(sim, "b", "server"))
    assert rc == capture("curl-connected")[0] == 0
    assert classify_curl(rc, out).outcome is Outcome.CONNECTED


def test_drop_answers_like_a_real_drop() -> None:
    sim = cluster()
    sim.apply([DENY_INGRESS])
    rc, out = curl(sim, ip_of(sim, "b", "server"))
    real_rc, real_out = capture("curl-dropped")
    assert rc == real_rc == 28
    assert shape(out.strip()) == shape(real_out)
    assert classify_curl(rc, out).outcome is classify_curl(real_rc, real_out).outcome


def test_reject_answers_like_a_real_reject() -> None:
    sim = cluster("kube-router")
    sim.apply([DENY_INGRESS])
    rc, out = curl(sim, ip_of(sim, "b", "server"))
    real_rc, real_out = capture("curl-rejected")
    assert rc == real_rc == 7
    assert shape(out.strip()) == shape(real_out)
    assert classify_curl(rc, out) == classify_curl(real_rc, real_out)
    assert classify_curl(rc, out).outcome is Outcome.REFUSED


def test_not_listening_answers_like_a_closed_port() -> None:
    sim = cluster()
    rc, out = curl(sim, ip_of(sim, "b", "server"), 8080)
    assert classify_curl(rc, out) == classify_curl(*capture("curl-not-listening"))
    assert rc == 7


def test_dns_answers_like_dig() -> None:
    sim = cluster()
    lines = batch(sim, [dig_argv(DNS_NAME, SETTINGS, 20000), dig_argv("nope.example", SETTINGS)])
    ok = classify_dig(*lines[0])
    assert (ok.outcome, ok.detail) == (Outcome.DNS_OK, "10.96.0.1")
    assert classify_dig(*capture("dig-answer")) == ok
    nx = classify_dig(*lines[1])
    assert (nx.outcome, nx.detail) == (Outcome.DNS_NEGATIVE, "NXDOMAIN")
    assert nx == classify_dig(*capture("dig-nxdomain"))


def test_blocked_dns_answers_like_a_dropped_query() -> None:
    sim = cluster(block_dns=True)
    rc, out = batch(sim, [dig_argv(DNS_NAME, SETTINGS, 20000)])[0]
    real_rc, real_out = capture("dig-dropped")
    assert rc == real_rc
    assert shape(out.strip()) == shape(real_out.strip())
    assert classify_dig(rc, out).outcome is Outcome.DNS_FAIL


def test_unknown_address_times_out_and_unknown_tools_are_missing() -> None:
    sim = cluster()
    lines = batch(sim, [curl_argv("198.51.100.1", 80, SETTINGS), ["wget", "-q", "x"]])
    assert lines[0][0] == 28
    assert lines[1][0] == 127 and "not found" in lines[1][1]
    assert classify_curl(*lines[1]).outcome is Outcome.EXEC_ERROR


@pytest.mark.parametrize(
    ("cni", "policies", "port", "capture_name", "outcome"),
    [
        ("calico", [], 5432, "udp-reply", Outcome.CONNECTED),
        ("calico", [], 53, "udp-not-listening", Outcome.REFUSED),
        ("calico", [DENY_INGRESS], 5432, "udp-dropped", Outcome.TIMEOUT),
        ("kube-router", [DENY_INGRESS], 5432, "udp-rejected", Outcome.REFUSED),
    ],
)
def test_udp_answers_like_socat(
    cni: str, policies: list[dict[str, Any]], port: int, capture_name: str, outcome: Outcome
) -> None:
    sim = cluster(cni)
    sim.apply(policies)
    rc, out = batch(sim, [udp_argv(ip_of(sim, "b", "server"), port, SETTINGS)])[0]
    real_rc, real_out = capture(capture_name)
    assert rc == real_rc
    assert shape(out) == shape(real_out)
    assert classify_udp(rc, out).outcome is classify_udp(real_rc, real_out).outcome is outcome


def test_the_external_host_answers_on_its_ports() -> None:
    sim = cluster()
    assert curl(sim, EXTERNAL_IP, 5432)[0] == 0
    assert curl(sim, EXTERNAL_IP, 443)[0] == 7


def test_exec_failures_are_errors_not_outputs() -> None:
    sim = cluster()
    assert "not found" in sim.exec("a", "ghost", "probe", ["true"], 5).error
    assert "not valid" in sim.exec("a", "client", "sidecar", ["true"], 5).error
    assert sim.exec("a", "client", "probe", ["ls"], 5).returncode == 127


# --- objects and enforcement -------------------------------------------------------------------


def test_enforcement_waits_for_the_delay_and_ends_with_delete() -> None:
    sim = cluster(delay=0.3)
    server = ip_of(sim, "b", "server")
    sim.apply([DENY_INGRESS])
    assert curl(sim, server)[0] == 0  # applied, not yet enforced
    time.sleep(0.35)
    assert curl(sim, server)[0] == 28
    sim.delete([DENY_INGRESS])
    assert curl(sim, server)[0] == 28  # deleted, still enforced for a moment
    time.sleep(0.35)
    assert curl(sim, server)[0] == 0
    assert sim.network_policies("b") == []


def test_a_non_enforcing_cni_stores_but_ignores_policies() -> None:
    sim = cluster("flannel")
    sim.apply([DENY_INGRESS])
    assert [p["metadata"]["name"] for p in sim.network_policies("b")] == ["deny"]
    assert curl(sim, ip_of(sim, "b", "server"))[0] == 0


def test_invalid_objects_are_refused_like_the_api_server() -> None:
    sim = cluster()
    with pytest.raises(ValueError, match='namespaces "c" not found'):
        sim.apply([{**DENY_INGRESS, "metadata": {"name": "x", "namespace": "c"}}])
    bad = {**DENY_INGRESS, "spec": {"podSelector": {}, "policyTypes": ["Sideways"]}}
    with pytest.raises(ManifestError):
        sim.apply([bad])
    with pytest.raises(ValueError, match="does not store Service"):
        sim.apply([{"kind": "Service", "metadata": {"name": "s", "namespace": "a"}}])


def test_delete_namespaces_by_label() -> None:
    sim = SimulatedCluster(profile("calico"))
    labelled = {**namespace("x"), "metadata": {"name": "x", "labels": {"run": "1", "k": "v"}}}
    other = {**namespace("y"), "metadata": {"name": "y", "labels": {"run": "2"}}}
    sim.apply([labelled, other, pod("x", "p", {})])
    assert sim.delete_namespaces("run=1,k=v") == ["x"]
    assert sim.pods(["x"]) == []
    assert sim.namespace_count() == 1


# --- faults ------------------------------------------------------------------------------------


def test_fault_names_parse() -> None:
    assert Faults.parse("") == Faults()
    assert Faults.parse(None) == Faults()
    assert Faults.parse(" or-for-and , slow-enforcement:2.5 ") == Faults(
        or_for_and=True, slow_enforcement=2.5
    )
    assert Faults.parse(["block-dns", "ignore-ports"]) == Faults(block_dns=True, ignore_ports=True)
    args = {
        "slow-enforcement": "slow-enforcement:1",
        "flapping": "flapping:3,0.6",
        "rules-expire": "rules-expire:10",
        "new-pod-open": "new-pod-open:5",
    }
    every = Faults.parse(",".join(args.get(f, f) for f in FAULTS))
    assert all(getattr(every, f.replace("-", "_")) for f in FAULTS)
    assert every.flapping == (3.0, 0.6)
    assert Faults.parse("flapping:3,0.6,block-dns") == Faults(flapping=(3.0, 0.6), block_dns=True)
    with pytest.raises(UsageError, match="unknown fault 'drop-all'"):
        Faults.parse("drop-all")
    with pytest.raises(UsageError, match="slow-enforcement needs seconds"):
        Faults.parse("slow-enforcement:soon")


@pytest.mark.parametrize(
    "spec", ["flapping", "flapping:3", "flapping:3,3", "flapping:0,0", "flapping:a,b"]
)
def test_flapping_needs_a_period_longer_than_its_off_time(spec: str) -> None:
    with pytest.raises(UsageError, match="flapping needs"):
        Faults.parse(spec)


def test_flapping_turns_enforcement_off_for_the_end_of_every_period() -> None:
    f = Faults(flapping=(3.0, 0.6))
    assert f.enforcing_at(0.0) and f.enforcing_at(2.39) and f.enforcing_at(3.1)
    assert not f.enforcing_at(2.41) and not f.enforcing_at(2.99) and not f.enforcing_at(5.5)
    assert Faults().enforcing_at(2.5)


def test_flapping_cluster_lets_denied_traffic_through_while_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(time, "monotonic", lambda: 3000.0)  # the clock starts a period
    sim = SimulatedCluster(profile("calico"), Faults(flapping=(3.0, 0.6)), enforcement_delay=0.0)
    sim.apply([namespace("a"), pod("a", "client", {}), pod("a", "server", {"app": "db"})])
    deny = {**STEP2, "metadata": {"name": "deny", "namespace": "a"}}
    deny["spec"] = {"podSelector": {}, "policyTypes": ["Ingress"]}
    sim.apply([deny])
    server = next(p for p in sim.pods(["a"]) if p.name == "server")
    argv = ["curl", "-sS", "-v", "--max-time", "1", f"http://{server.ip}:80/"]
    for now, expected_rc in ((1.0, 28), (2.7, 0), (4.0, 28)):
        monkeypatch.setattr(time, "monotonic", lambda now=now: 3000.0 + now)
        assert sim.exec("a", "client", "probe", argv, 5).returncode == expected_rc, now


STEP2 = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "p", "namespace": "b"},
    "spec": {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {"matchLabels": {"team": "a"}},
                        "podSelector": {"matchLabels": {"app": "web"}},
                    }
                ],
                "ports": [{"port": 5432}],
            }
        ],
        "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 53}]}],
    },
}


def policies() -> list[Any]:
    policy, problems = parse_policy(STEP2, "test")
    assert problems == []
    return [policy]


def test_or_for_and_splits_a_peer_in_two() -> None:
    (p,) = Faults(or_for_and=True).apply(policies())
    peers = p.ingress[0].peers
    assert len(peers) == 2
    assert peers[0].pod_selector is None and peers[0].namespace_selector is not None
    assert peers[1].namespace_selector is None and peers[1].pod_selector is not None
    assert p.ingress[0].ports == policies()[0].ingress[0].ports  # only the peers change


def test_ignore_ports_opens_every_port() -> None:
    (p,) = Faults(ignore_ports=True).apply(policies())
    assert p.ingress[0].ports == () and p.egress[0].ports == ()
    assert p.ingress[0].peers == policies()[0].ingress[0].peers


def test_ignore_egress_drops_egress_only() -> None:
    (p,) = Faults(ignore_egress=True).apply(policies())
    assert p.policy_types == frozenset({INGRESS})
    assert EGRESS in policies()[0].policy_types and p.egress == ()
    assert p.ingress == policies()[0].ingress


def test_ignore_protocol_matches_a_port_rule_for_every_protocol() -> None:
    (p,) = Faults(ignore_protocol=True).apply(policies())
    assert {(x.protocol, x.port) for x in p.ingress[0].ports} == {
        ("TCP", 5432),
        ("UDP", 5432),
        ("SCTP", 5432),
    }
    assert p.ingress[0].peers == policies()[0].ingress[0].peers


def test_ignore_except_drops_the_except_list() -> None:
    doc = {**STEP2, "spec": {**STEP2["spec"]}}
    block = {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}
    doc["spec"]["egress"] = [{"to": [{"ipBlock": block}]}]
    policy, problems = parse_policy(doc, "test")
    assert problems == [] and policy.egress[0].peers[0].ip_block.except_
    (p,) = Faults(ignore_except=True).apply([policy])
    assert p.egress[0].peers[0].ip_block.except_ == ()
    assert p.egress[0].peers[0].ip_block.cidr == policy.egress[0].peers[0].ip_block.cidr


def test_dns_port_any_destination_opens_port_53_egress_to_every_peer() -> None:
    (p,) = Faults(dns_port_any_destination=True).apply(policies())
    assert p.egress[0].peers == () and p.egress[0].ports == policies()[0].egress[0].ports
    assert p.ingress == policies()[0].ingress  # a rule on another port is left alone


def test_no_enforcement_and_no_faults() -> None:
    assert Faults(no_enforcement=True).apply(policies()) == []
    assert Faults().apply(policies()) == policies()


# --- sctp --------------------------------------------------------------------------------------


def sctp_pod(ns: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
    doc = pod(ns, name, labels)
    doc["spec"]["containers"][0]["ports"].append({"containerPort": 80, "protocol": "SCTP"})
    return doc


def sctp_policy(protocol: str) -> dict[str, Any]:
    """x/server admits port 80 of ``protocol`` only."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "only-80", "namespace": "x"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "db"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"port": 80, "protocol": protocol}]}],
        },
    }


def sctp_outcomes(sim: SimulatedCluster) -> tuple[Outcome, Outcome]:
    """(SCTP 80, TCP 80) from x/client to x/server."""
    server = next(p for p in sim.pods(["x"]) if p.name == "server")
    sctp = sim.exec("x", "client", "probe", sctp_argv(server.ip, 80, SETTINGS), 5)
    tcp = sim.exec("x", "client", "probe", curl_argv(server.ip, 80, SETTINGS), 5)
    return (
        classify_sctp(sctp.returncode, sctp.stdout + sctp.stderr).outcome,
        classify_curl(tcp.returncode, tcp.stdout + tcp.stderr).outcome,
    )


@pytest.mark.parametrize(
    ("cni", "denied"), [("calico", Outcome.TIMEOUT), ("kube-router", Outcome.REFUSED)]
)
def test_sctp_probes_are_answered_by_the_policies(cni: str, denied: Outcome) -> None:
    sim = SimulatedCluster(profile(cni), enforcement_delay=0.0)
    sim.apply([namespace("x"), sctp_pod("x", "client", {}), sctp_pod("x", "server", {"app": "db"})])
    assert sctp_outcomes(sim) == (Outcome.CONNECTED, Outcome.CONNECTED)
    sim.apply([sctp_policy("SCTP")])
    assert sctp_outcomes(sim) == (Outcome.CONNECTED, denied)
    client = next(p for p in sim.pods(["x"]) if p.name == "client")
    own = sim.exec("x", "client", "probe", sctp_argv("127.0.0.1", 80, SETTINGS), 5)
    assert (own.returncode, own.stderr) == (0, "netpol-conformance sctp 80") and client.ip


def test_sctp_as_tcp_opens_tcp_for_an_sctp_rule_and_not_sctp() -> None:
    assert Faults.parse("sctp-as-tcp") == Faults(sctp_as_tcp=True)
    sim = SimulatedCluster(profile("calico"), Faults(sctp_as_tcp=True), enforcement_delay=0.0)
    sim.apply([namespace("x"), sctp_pod("x", "client", {}), sctp_pod("x", "server", {"app": "db"})])
    sim.apply([sctp_policy("SCTP")])
    assert sctp_outcomes(sim) == (Outcome.TIMEOUT, Outcome.CONNECTED)
    sim.delete([sctp_policy("SCTP")])
    sim.apply([sctp_policy("TCP")])  # a TCP rule is read as it is
    assert sctp_outcomes(sim) == (Outcome.TIMEOUT, Outcome.CONNECTED)


def test_a_node_without_sctp_cannot_open_an_sctp_socket() -> None:
    sim = SimulatedCluster(profile("calico"), enforcement_delay=0.0, sctp=False)
    sim.apply([namespace("x"), sctp_pod("x", "client", {}), sctp_pod("x", "server", {"app": "db"})])
    assert sctp_outcomes(sim) == (Outcome.UNSUPPORTED, Outcome.CONNECTED)
