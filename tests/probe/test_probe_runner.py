"""ProbeRunner end to end against a backend whose ``exec`` runs the command on this machine."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from netpol_conformance.cluster.base import Backend, ClusterInfo, ExecResult, PodState
from netpol_conformance.probe.batch import parse_batch_script
from netpol_conformance.probe.commands import ProbeSettings
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.probe.runner import PROBE_CONTAINER, ProbeRunner
from netpol_conformance.probe.spec import TCP, UDP, Probe, ProbeTarget


class LocalExec(Backend):
    """Runs every exec locally; can be told to fail an exec or to lose its output."""

    def __init__(self) -> None:
        self.info = ClusterInfo("local-exec", "none")
        self.calls: list[tuple[str, str, str, list[str]]] = []
        self.fail_pods: set[str] = set()
        self.mute_pods: set[str] = set()

    def exec(
        self, namespace: str, pod: str, container: str, argv: Sequence[str], timeout: float
    ) -> ExecResult:
        self.calls.append((namespace, pod, container, list(argv)))
        if pod in self.fail_pods:
            return ExecResult(1, "", error=f'pods "{pod}" not found')
        r = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
        if pod in self.mute_pods:
            return ExecResult(r.returncode, "", "error: unable to upgrade connection")
        return ExecResult(r.returncode, r.stdout, r.stderr)

    def apply(self, objects: Sequence[Mapping[str, Any]]) -> None:
        raise NotImplementedError

    def delete(self, objects: Sequence[Mapping[str, Any]]) -> None:
        raise NotImplementedError

    def pods(self, namespaces: Sequence[str]) -> list[PodState]:
        raise NotImplementedError

    def delete_namespaces(self, label_selector: str, wait: bool = False) -> list[str]:
        raise NotImplementedError

    def network_policies(self, namespace: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def cni_components(self) -> list[str]:
        raise NotImplementedError


@pytest.fixture
def open_port(http_port: int) -> int:
    return http_port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Listening, but never answering: the kernel completes handshakes from the backlog."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    yield srv.getsockname()[1]
    srv.close()


@pytest.fixture
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def target(src: str, port: int, dst: str = "backend/db") -> ProbeTarget:
    ns, _, pod = src.partition("/")
    return ProbeTarget(Probe(src, TCP, dst, port), f"{ns}-t", pod, "127.0.0.1")


SETTINGS = ProbeSettings(timeout=3)
pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl on this machine")


def test_one_exec_per_source_pod(open_port: int, closed_port: int) -> None:
    backend = LocalExec()
    targets = [
        target("frontend/web", open_port),
        target("frontend/web", closed_port),
        target("frontend/admin", open_port),
        target("frontend/admin", closed_port, "backend/cache"),
    ]
    results = ProbeRunner(backend, SETTINGS).run(targets)
    assert {t.probe: results[t.probe].outcome for t in targets} == {
        targets[0].probe: Outcome.CONNECTED,
        targets[1].probe: Outcome.REFUSED,
        targets[2].probe: Outcome.CONNECTED,
        targets[3].probe: Outcome.REFUSED,
    }
    assert sorted((ns, pod) for ns, pod, _, _ in backend.calls) == [
        ("frontend-t", "admin"),
        ("frontend-t", "web"),
    ]
    for _, _, container, argv in backend.calls:
        assert container == PROBE_CONTAINER
        assert argv[:2] == ["sh", "-c"]


def test_failed_exec_is_an_exec_error_for_each_probe(open_port: int) -> None:
    backend = LocalExec()
    backend.fail_pods.add("web")
    targets = [target("frontend/web", open_port), target("frontend/admin", open_port)]
    results = ProbeRunner(backend, SETTINGS).run(targets)
    web = results[targets[0].probe]
    assert web.outcome is Outcome.EXEC_ERROR
    assert "not found" in web.detail
    assert results[targets[1].probe].outcome is Outcome.CONNECTED


def test_missing_result_lines_are_exec_errors_not_denies(open_port: int) -> None:
    backend = LocalExec()
    backend.mute_pods.add("web")
    obs = ProbeRunner(backend, SETTINGS).run([target("frontend/web", open_port)])
    (only,) = obs.values()
    assert only.outcome is Outcome.EXEC_ERROR
    assert "no result line" in only.detail
    assert "unable to upgrade connection" in only.detail


def test_no_targets_no_exec() -> None:
    backend = LocalExec()
    assert ProbeRunner(backend, SETTINGS).run([]) == {}
    assert backend.calls == []


def test_control_probe_caches_only_positive_answers(open_port: int, closed_port: int) -> None:
    backend = LocalExec()
    runner = ProbeRunner(backend, SETTINGS)
    assert runner.listening("backend-t", "db", open_port) is True
    assert runner.listening("backend-t", "db", open_port) is True
    assert len(backend.calls) == 1  # the positive answer was cached
    assert runner.listening("backend-t", "db", closed_port) is False
    assert runner.listening("backend-t", "db", closed_port) is False
    assert len(backend.calls) == 3  # a negative answer is asked again: the server may start
    # The control probe runs in the destination pod, against its own loopback.
    ns, pod, _, argv = backend.calls[-1]
    assert (ns, pod) == ("backend-t", "db")
    (probe,) = parse_batch_script(argv[2]).argvs
    assert probe[0] == "curl" and probe[-1] == f"http://127.0.0.1:{closed_port}/"


def test_control_probe_exec_failure_is_not_listening(open_port: int) -> None:
    backend = LocalExec()
    backend.fail_pods.add("db")
    assert ProbeRunner(backend, SETTINGS).listening("backend-t", "db", open_port) is False


def test_exec_timeout_covers_the_slowest_probe() -> None:
    runner = ProbeRunner(LocalExec(), ProbeSettings(timeout=2, dns_timeout=5, dns_tries=2))
    assert runner.exec_timeout >= 5 * 3  # dig: timeout x (tries + 1)
    assert ProbeRunner(LocalExec(), ProbeSettings(timeout=30)).exec_timeout > 30


def test_a_server_that_never_answers_is_connected_not_dropped(silent_port: int) -> None:
    """curl exits 28 here too, but after the handshake: the policy let the connection in."""
    results = ProbeRunner(LocalExec(), ProbeSettings(timeout=1)).run(
        [target("frontend/web", silent_port)]
    )
    (obs,) = results.values()
    assert obs.outcome is Outcome.CONNECTED, obs
    assert "Operation timed out" in obs.detail


class UdpServer:
    """A UDP server on loopback that answers every datagram and keeps each sender's port."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.senders: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                _, peer = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            self.senders.append(peer[1])
            self.sock.sendto(b"netpol-conformance udp\n", peer)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def udp_server() -> Iterator[UdpServer]:
    server = UdpServer()
    yield server
    server.close()


@pytest.fixture
def udp_port(udp_server: UdpServer) -> int:
    return udp_server.port


@pytest.fixture
def closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_target(src: str, port: int) -> ProbeTarget:
    ns, _, pod = src.partition("/")
    return ProbeTarget(Probe(src, UDP, "backend/db", port, "UDP"), f"{ns}-t", pod, "127.0.0.1")


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat on this machine")
def test_udp_and_tcp_probes_share_one_exec(
    udp_port: int, closed_udp_port: int, open_port: int
) -> None:
    backend = LocalExec()
    targets = [
        udp_target("frontend/web", udp_port),
        udp_target("frontend/web", closed_udp_port),
        target("frontend/web", open_port),
    ]
    results = ProbeRunner(backend, ProbeSettings(timeout=1)).run(targets)
    assert [results[t.probe].outcome for t in targets] == [
        Outcome.CONNECTED,
        Outcome.REFUSED,
        Outcome.CONNECTED,
    ]
    assert len(backend.calls) == 1
    assert "socat" in ProbeRunner(backend, SETTINGS).command(targets[0])


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat on this machine")
def test_udp_control_probe(udp_port: int, closed_udp_port: int) -> None:
    runner = ProbeRunner(LocalExec(), ProbeSettings(timeout=1))
    assert runner.listening("backend-t", "db", udp_port, "UDP") is True
    assert runner.listening("backend-t", "db", closed_udp_port, "UDP") is False


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat on this machine")
def test_control_probes_of_many_servers_take_one_exec_per_pod(
    open_port: int, closed_port: int, udp_port: int
) -> None:
    backend = LocalExec()
    runner = ProbeRunner(backend, ProbeSettings(timeout=1))
    runner.prove_listening(
        [
            ("backend-t", "db", open_port, "TCP"),
            ("backend-t", "db", closed_port, "TCP"),
            ("backend-t", "db", udp_port, "UDP"),
            ("frontend-t", "web", open_port, "TCP"),
        ]
    )
    assert sorted((ns, pod) for ns, pod, _, _ in backend.calls) == [
        ("backend-t", "db"),
        ("frontend-t", "web"),
    ]
    # What answered is remembered; what did not is asked again when a refusal needs it.
    assert runner.listening("backend-t", "db", open_port) is True
    assert runner.listening("backend-t", "db", udp_port, "UDP") is True
    assert runner.listening("frontend-t", "web", open_port) is True
    assert len(backend.calls) == 2
    assert runner.listening("backend-t", "db", closed_port) is False
    assert len(backend.calls) == 3
    runner.prove_listening([("backend-t", "db", open_port, "TCP")])
    assert len(backend.calls) == 3  # known to answer: not asked again


def test_threads_are_kept_across_runs(open_port: int) -> None:
    """The cluster client keeps one API client per thread: a poll must not start new ones."""
    seen: set[threading.Thread] = set()  # the objects, kept: thread ids can be reused

    class Recording(LocalExec):
        def exec(self, *args: Any, **kwargs: Any) -> ExecResult:
            seen.add(threading.current_thread())
            return super().exec(*args, **kwargs)

    runner = ProbeRunner(Recording(), SETTINGS, max_workers=2)
    for _ in range(5):
        runner.run([target("frontend/web", open_port), target("frontend/admin", open_port)])
    assert len(seen) <= 2


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat on this machine")
def test_no_udp_probe_reuses_the_source_port_of_an_earlier_one(udp_server: UdpServer) -> None:
    """Every poll's datagram leaves from a port no earlier probe of the pod used (a flow the
    conntrack of a stateful firewall would still let through), and the probe shown to a
    person is the one that ran."""
    runner = ProbeRunner(LocalExec(), ProbeSettings(timeout=1))
    targets = [udp_target("frontend/web", udp_server.port) for _ in range(1)]
    targets.append(
        ProbeTarget(
            Probe("frontend/web", UDP, "backend/cache", udp_server.port, "UDP"),
            "frontend-t",
            "web",
            "127.0.0.1",
        )
    )
    for _ in range(5):
        results = runner.run(targets)
        assert all(o.outcome is Outcome.CONNECTED for o in results.values()), results
    assert len(udp_server.senders) == 10
    assert len(set(udp_server.senders)) == 10  # two probes a poll, five polls, ten flows
    assert all(20000 <= p <= 29999 for p in udp_server.senders)
    last = runner.command(targets[0])
    assert f"sourceport={runner._last_port[targets[0]]}" in last
