"""KindProvider without Docker: a fake command runner records every argv."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from netpol_conformance.cluster import kind as kind_module
from netpol_conformance.cluster.base import ClusterInfo
from netpol_conformance.cluster.kind import KindProvider
from netpol_conformance.cni import PROFILES, profile
from netpol_conformance.errors import SetupError, UsageError

INFO = ClusterInfo("kind", "calico", "/tmp/kubeconfig", "kind-npc")
Reply = tuple[int, str, str]  # returncode, stdout, stderr


class FakeRun:
    """Answers commands by their first words; records every argv."""

    def __init__(self, replies: dict[tuple[str, ...], list[Reply] | Reply] | None = None) -> None:
        self.replies = replies or {}
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        self.calls.append(argv)
        for n in range(len(argv), 0, -1):
            reply = self.replies.get(tuple(argv[:n]))
            if reply is None:
                continue
            if isinstance(reply, list):
                reply = reply.pop(0) if len(reply) > 1 else reply[0]
            rc, out, err = reply
            return subprocess.CompletedProcess(argv, rc, out, err)
        return subprocess.CompletedProcess(argv, 0, "", "")


def inspect_json(ip: str | None, network: str = "kind", running: bool = True) -> str:
    networks: dict[str, Any] = {network: {"IPAddress": ip}} if ip is not None else {}
    return json.dumps(
        [
            {
                "Name": "/x",
                "State": {"Running": running},
                "NetworkSettings": {"Networks": networks},
            }
        ]
    )


def provider(tmp_path: Path, run: FakeRun, cni: str = "calico", keep: bool = False) -> KindProvider:
    return KindProvider(profile(cni), "npc", keep, "nginx:1.27.5", tmp_path, run=run)


@pytest.fixture
def which(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    def set_present(*present: str) -> None:
        monkeypatch.setattr(
            kind_module.shutil,
            "which",
            lambda name: f"/usr/bin/{name}" if name in present else None,
        )

    return set_present


# --- CNI choice --------------------------------------------------------------------------------


@pytest.mark.parametrize("cni", ["kube-router", "cilium", "bridge"])
def test_unknown_cni_for_kind_is_a_usage_error(tmp_path: Path, cni: str) -> None:
    with pytest.raises(UsageError) as exc_info:
        provider(tmp_path, FakeRun(), cni)
    msg = str(exc_info.value)
    assert f"'{cni}'" in msg
    for supported in (n for n, p in PROFILES.items() if p.kind):
        assert supported in msg


@pytest.mark.parametrize("cni", ["calico", "flannel", "kindnet"])
def test_supported_cnis_have_a_kind_config(tmp_path: Path, cni: str) -> None:
    provider(tmp_path, FakeRun(), cni)
    assert (kind_module.KIND_CONFIGS / f"{cni}.yaml").is_file()


# --- preflight ---------------------------------------------------------------------------------


def test_missing_docker_binary(tmp_path: Path, which: Callable[..., None]) -> None:
    which("kubectl", "kind")
    run = FakeRun()
    with pytest.raises(SetupError) as exc_info:
        provider(tmp_path, run).prepare(lambda _: None)
    msg = str(exc_info.value)
    assert "needs Docker" in msg
    assert "--cluster existing --kube-context" in msg  # what to do instead
    assert run.calls == []


def test_docker_engine_not_running(tmp_path: Path, which: Callable[..., None]) -> None:
    which("docker")
    run = FakeRun({("docker", "info"): (1, "", "Cannot connect to the Docker daemon")})
    with pytest.raises(SetupError, match=r"docker info failed.*start it"):
        provider(tmp_path, run).prepare(lambda _: None)
    assert run.calls == [["docker", "info", "--format", "{{.ServerVersion}}"]]


# --- the external host -------------------------------------------------------------------------


def test_external_host_is_started_and_its_ip_parsed(tmp_path: Path) -> None:
    run = FakeRun(
        {
            ("docker", "inspect"): [(1, "", "No such object"), (0, inspect_json("172.18.0.9"), "")],
            ("docker", "run"): (0, "c0ffee\n", ""),
        }
    )
    notes: list[str] = []
    host = provider(tmp_path, run)._external(notes.append)
    assert host == "172.18.0.9"
    assert [c[:2] for c in run.calls] == [
        ["docker", "inspect"],
        ["docker", "run"],
        ["docker", "inspect"],
    ]
    assert run.calls[0] == ["docker", "inspect", "npc-external-db"]
    docker_run = run.calls[1]
    assert docker_run[docker_run.index("--name") + 1] == "npc-external-db"
    assert docker_run[docker_run.index("--network") + 1] == "kind"
    assert docker_run[docker_run.index("--label") + 1] == "netpol-conformance.io/managed=true"
    assert docker_run[docker_run.index("--entrypoint") + 1] == "sh"
    image_at = docker_run.index("nginx:1.27.5")
    assert docker_run[image_at + 1] == "-c"
    assert any("npc-external-db" in n for n in notes)


def test_external_host_start_script_writes_a_config_for_both_ports(tmp_path: Path) -> None:
    """Run the container's start command here, with nginx swapped for a no-op."""
    run = FakeRun(
        {("docker", "inspect"): [(1, "", "missing"), (0, inspect_json("172.18.0.9"), "")]}
    )
    provider(tmp_path, run)._external(lambda _: None)
    script = run.calls[1][-1]
    conf = tmp_path / "default.conf"
    local = script.replace("/etc/nginx/conf.d/default.conf", str(conf)).replace(
        "exec nginx -g 'daemon off;'", "true"
    )
    assert local != script
    done = subprocess.run(["sh", "-c", local], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    text = conf.read_text()
    assert "listen 80;" in text and "listen 5432;" in text
    assert "return 200 'external-db';" in text


def test_an_existing_external_host_is_reused(tmp_path: Path) -> None:
    run = FakeRun({("docker", "inspect"): (0, inspect_json("172.18.0.7"), "")})
    assert provider(tmp_path, run)._external(lambda _: None) == "172.18.0.7"
    assert run.calls == [["docker", "inspect", "npc-external-db"]]


@pytest.mark.parametrize(
    "reply", [inspect_json(None), inspect_json("", "kind"), inspect_json("10.0.0.1", "bridge")]
)
def test_external_host_without_a_kind_address(tmp_path: Path, reply: str) -> None:
    run = FakeRun({("docker", "inspect"): (0, reply, "")})
    with pytest.raises(SetupError, match="no address on the kind network") as exc_info:
        provider(tmp_path, run)._external(lambda _: None)
    assert "docker rm -f npc-external-db" in str(exc_info.value)


def test_a_stopped_external_host_is_started_again(tmp_path: Path) -> None:
    run = FakeRun(
        {
            ("docker", "inspect"): [
                (0, inspect_json("", running=False), ""),
                (0, inspect_json("172.18.0.4"), ""),
            ]
        }
    )
    assert provider(tmp_path, run)._external(lambda _: None) == "172.18.0.4"
    assert run.calls == [
        ["docker", "inspect", "npc-external-db"],
        ["docker", "start", "npc-external-db"],
        ["docker", "inspect", "npc-external-db"],
    ]


def test_external_host_that_cannot_start(tmp_path: Path) -> None:
    run = FakeRun(
        {
            ("docker", "inspect"): (1, "", "No such object"),
            ("docker", "run"): (125, "", "Unable to find image 'nginx:1.27.5' locally"),
        }
    )
    with pytest.raises(SetupError) as exc_info:
        provider(tmp_path, run)._external(lambda _: None)
    msg = str(exc_info.value)
    assert "starting the external host failed" in msg
    assert "Unable to find image" in msg


# --- CNI installation helpers and the end ------------------------------------------------------


def test_bridge_plugin_goes_onto_every_node(tmp_path: Path) -> None:
    run = FakeRun({("/usr/bin/kind", "get", "nodes"): (0, "npc-control-plane\nnpc-worker\n", "")})
    provider(tmp_path, run, "flannel")._install_bridge_plugin("/usr/bin/kind", lambda _: None)
    assert run.calls[0] == ["/usr/bin/kind", "get", "nodes", "--name", "npc"]
    execs = run.calls[1:]
    assert [c[:3] for c in execs] == [
        ["docker", "exec", "npc-control-plane"],
        ["docker", "exec", "npc-worker"],
    ]
    for c in execs:
        assert c[3:5] == ["sh", "-c"]
        assert "/opt/cni/bin ./bridge" in c[5]
        assert kind_module.CNI_PLUGINS_VERSION in c[5]


@pytest.mark.parametrize(
    ("machine", "arch"), [("x86_64", "amd64"), ("aarch64", "arm64"), ("arm64", "arm64")]
)
def test_bridge_plugin_matches_the_node_architecture(
    tmp_path: Path, machine: str, arch: str
) -> None:
    """Run the node's install script here, with uname, curl and tar replaced by fakes."""
    run = FakeRun({("kind", "get", "nodes"): (0, "npc-control-plane\n", "")})
    provider(tmp_path, run, "flannel")._install_bridge_plugin("kind", lambda _: None)
    script = run.calls[1][-1]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fakes = {
        "uname": f"echo {machine}",
        "curl": f'echo "$@" > {tmp_path}/curl-args',
        "tar": f'cat > /dev/null; echo "$@" > {tmp_path}/tar-args',
    }
    for name, body in fakes.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    done = subprocess.run(
        ["/bin/sh", "-c", script],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    url = (tmp_path / "curl-args").read_text().split()[-1]
    version = kind_module.CNI_PLUGINS_VERSION
    assert url.endswith(f"/{version}/cni-plugins-linux-{arch}-{version}.tgz")
    assert (tmp_path / "tar-args").read_text().split() == ["-xz", "-C", "/opt/cni/bin", "./bridge"]


def test_finish_keeps_the_cluster_with_keep(tmp_path: Path) -> None:
    run = FakeRun()
    notes: list[str] = []
    p = provider(tmp_path, run, keep=True)
    p.finish(INFO, notes.append)
    assert run.calls == []
    assert any("--keep-cluster" in n for n in notes)


def test_finish_removes_the_external_host_and_the_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deleted: list[bool] = []

    class Cluster:
        def delete(self) -> None:
            deleted.append(True)

    run = FakeRun()
    p = provider(tmp_path, run)
    monkeypatch.setattr(p, "_cluster", lambda: Cluster())
    p.finish(INFO, lambda _: None)
    assert run.calls == [["docker", "rm", "-f", "npc-external-db"]]
    assert deleted == [True]
