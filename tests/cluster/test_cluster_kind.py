"""KindProvider without Docker: a recording runner stands in for docker, kind, kubectl and helm.

Each test names the breaker of a first real kind run that it guards against.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from kind_fakes import FakeRun, inspect_json

from netpol_conformance.cluster.base import ClusterInfo
from netpol_conformance.cluster.kind.commands import Heartbeat
from netpol_conformance.cluster.kind.external import start_script
from netpol_conformance.cluster.kind.host import INFO_FORMAT
from netpol_conformance.cluster.kind.node_setup import wait_for_policy_tables
from netpol_conformance.cluster.kind.options import KindOptions
from netpol_conformance.cluster.kind.provider import KindProvider
from netpol_conformance.cluster.kind.state import CREATING, INSTALLING, READY, StateFile
from netpol_conformance.cluster.kind.versions import CNI_PLUGINS_VERSION, NODE_IMAGES
from netpol_conformance.cni import PROFILES, profile
from netpol_conformance.errors import SetupError, UsageError

KIND = "/usr/bin/kind"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"
NODES = "npc-control-plane\nnpc-worker2\nnpc-worker\n"


def kubectl_work(run: FakeRun) -> list[list[str]]:
    """The kubectl commands that act on the cluster (not the version check of the binary)."""
    return [c for c in run.commands("/usr/bin/kubectl") if c[1:2] != ["version"]]


def which(*present: str):
    return lambda name: f"/usr/bin/{name}" if name in present else None


def fresh_replies(extra: dict[tuple[str, ...], Any] | None = None) -> dict[tuple[str, ...], Any]:
    """A machine with Docker running, kind v0.33.0 on PATH and no cluster yet."""
    replies: dict[tuple[str, ...], Any] = {
        ("docker", "info"): (0, "28.3.0\n", ""),
        (KIND, "version"): (0, "kind v0.33.0 go1.26.7 linux/amd64\n", ""),
        ("/usr/bin/kubectl", "version"): (0, '{"clientVersion": {"gitVersion": "v1.36.4"}}', ""),
        (KIND, "get", "clusters"): (0, "", "No kind clusters found.\n"),
        (KIND, "create", "cluster"): (0, "", 'Creating cluster "npc" ...\n ✓ Preparing nodes\n'),
        (KIND, "get", "kubeconfig"): (0, KUBECONFIG, ""),
        (KIND, "get", "nodes"): (0, NODES, ""),
        ("docker", "inspect"): [(1, "", "No such object"), (0, inspect_json("172.18.0.9"), "")],
        ("docker", "run"): (0, "c0ffee\n", ""),
    }
    replies.update(extra or {})
    return replies


def make(
    tmp_path: Path,
    run: FakeRun,
    cni: str = "calico",
    keep: bool = False,
    options: KindOptions | None = None,
    environ: dict[str, str] | None = None,
    tools: tuple[str, ...] = ("docker", "kind", "kubectl", "helm"),
) -> KindProvider:
    p = KindProvider(
        profile(cni),
        "npc",
        keep,
        "nginx:1.27.5",
        tmp_path,
        options=options,
        external_ports=(80, 5432),
        run=run,
        which=which(*tools),
        environ=environ or {},
        read_host=lambda path: None,  # a host with nothing to object to (tested on its own)
        system="linux",
    )
    p._wait_ready = lambda info, heartbeat: None  # type: ignore[method-assign]  # no API server
    return p


def prepare(p: KindProvider) -> tuple[ClusterInfo, list[str]]:
    notes: list[str] = []
    return p.prepare(notes.append), notes


# --- CNI choice --------------------------------------------------------------------------------


@pytest.mark.parametrize("cni", ["kube-router", "bridge"])
def test_a_cni_kind_cannot_install_is_a_usage_error(tmp_path: Path, cni: str) -> None:
    with pytest.raises(UsageError) as exc_info:
        make(tmp_path, FakeRun(), cni)
    msg = str(exc_info.value)
    assert f"'{cni}'" in msg
    for supported in ("calico", "cilium", "weave", "flannel", "kindnet"):
        assert supported in msg


# --- Docker (breaker: "Docker not running" as one clear line) -----------------------------------


def test_missing_docker_binary(tmp_path: Path) -> None:
    run = FakeRun()
    with pytest.raises(SetupError) as exc_info:
        prepare(make(tmp_path, run, tools=("kind", "kubectl")))
    msg = str(exc_info.value)
    assert "needs Docker" in msg and "--cluster existing --kube-context" in msg
    assert run.calls == []


def test_docker_engine_not_running_is_one_line(tmp_path: Path) -> None:
    err = "Client: ...\nCannot connect to the Docker daemon at unix:///var/run/docker.sock.\n"
    run = FakeRun({("docker", "info"): (1, "", err)})
    with pytest.raises(SetupError) as exc_info:
        prepare(make(tmp_path, run))
    msg = str(exc_info.value)
    assert "\n" not in msg
    assert "Cannot connect to the Docker daemon" in msg and "start Docker" in msg
    assert run.calls == [["docker", "info", "--format", INFO_FORMAT]]


# --- breaker 1: the Kubernetes version is pinned and printed -------------------------------------


def test_default_run_pins_the_node_image_and_says_so(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies())
    info, notes = prepare(make(tmp_path, run))
    image = NODE_IMAGES["1.35"]
    create = run.commands(KIND, "create", "cluster")[0]
    assert create[create.index("--image") + 1] == image.ref
    assert "@sha256:" in image.ref
    assert (info.kubernetes_version, info.cni_version) == (image.kubernetes, "v3.32.1")
    assert info.extra["node_image"] == image.ref and info.extra["kind_version"] == "v0.33.0"
    first = notes[0]
    assert "kind v0.33.0" in first and image.kubernetes in first and "calico v3.32.1" in first


def test_k8s_version_chooses_another_pinned_image(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies())
    info, _ = prepare(make(tmp_path, run, options=KindOptions(k8s_version="1.36")))
    create = run.commands(KIND, "create", "cluster")[0]
    assert create[create.index("--image") + 1] == NODE_IMAGES["1.36"].ref
    assert info.kubernetes_version == "v1.36.4"


def test_kind_image_is_honoured(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies())
    mirror = "registry.example/kindest/node:v1.36.4"
    info, _ = prepare(make(tmp_path, run, options=KindOptions(image=mirror)))
    create = run.commands(KIND, "create", "cluster")[0]
    assert create[create.index("--image") + 1] == mirror
    assert info.kubernetes_version == "v1.36.4"


def test_an_untested_cni_and_kubernetes_pair_is_warned_about(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies())
    _, notes = prepare(make(tmp_path, run, "cilium", options=KindOptions(k8s_version="1.37")))
    warnings = [n for n in notes if n.startswith("warning:")]
    assert len(warnings) == 1 and "cilium 1.19.8" in warnings[0] and "1.37" in warnings[0]


# --- breaker 11: two workers, and the pods spread over both ---------------------------------------


def test_the_cluster_has_two_workers_and_a_placement_over_both(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies())
    info, _ = prepare(make(tmp_path, run))
    create = run.commands(KIND, "create", "cluster")[0]
    config = yaml.safe_load(Path(create[create.index("--config") + 1]).read_text())
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker", "worker"]
    assert info.placement == {"a": "npc-worker", "b": "npc-worker2"}


def test_a_cluster_with_one_worker_is_refused(tmp_path: Path) -> None:
    run = FakeRun(
        fresh_replies({(KIND, "get", "nodes"): (0, "npc-control-plane\nnpc-worker\n", "")})
    )
    with pytest.raises(SetupError, match=r"has 1 worker\(s\), the suite needs 2"):
        prepare(make(tmp_path, run))


# --- breakers 6 and 7: recorded clusters, failed set-ups, kept clusters ---------------------------


def test_the_cluster_is_recorded_before_anything_is_installed(tmp_path: Path) -> None:
    seen: list[str | None] = []

    def apply(argv: list[str]) -> tuple[int, str, str]:
        state = StateFile(tmp_path, "npc").load()
        seen.append(state.status if state else None)
        return (0, "applied", "")

    def create(argv: list[str]) -> tuple[int, str, str]:
        state = StateFile(tmp_path, "npc").load()
        seen.append(state.status if state else None)
        return (0, "", "")

    run = FakeRun(
        fresh_replies({(KIND, "create", "cluster"): create, ("/usr/bin/kubectl",): apply})
    )
    prepare(make(tmp_path, run))
    assert seen == [CREATING, INSTALLING]
    state = StateFile(tmp_path, "npc").load()
    assert state is not None and state.status == READY
    assert (state.cni, state.kubernetes, state.kind_version) == ("calico", "v1.35.8", "v0.33.0")


def test_a_failed_install_deletes_the_cluster_and_keeps_the_stderr(tmp_path: Path) -> None:
    err = 'error: unable to recognize "calico.yaml": no matches for kind "Installation"\n'
    run = FakeRun(fresh_replies({("/usr/bin/kubectl",): (1, "", err)}))
    with pytest.raises(SetupError) as exc_info:
        prepare(make(tmp_path, run))
    msg = str(exc_info.value)
    assert "installing calico v3.32.1 failed" in msg
    assert 'no matches for kind "Installation"' in msg  # kubectl's own words
    assert "was deleted" in msg
    assert run.commands(KIND, "delete", "cluster", "--name", "npc")
    assert run.commands("docker", "rm", "-f", "npc-external-db")
    assert StateFile(tmp_path, "npc").load() is None


def test_a_failed_create_keeps_kinds_stderr_and_leaves_nothing(tmp_path: Path) -> None:
    err = 'ERROR: failed to create cluster: failed to pull image "kindest/node"\n'
    run = FakeRun(fresh_replies({(KIND, "create", "cluster"): (1, "", err)}))
    with pytest.raises(SetupError, match="failed to pull image"):
        prepare(make(tmp_path, run))
    assert run.commands(KIND, "delete", "cluster", "--name", "npc")
    assert StateFile(tmp_path, "npc").load() is None


def test_an_interrupted_set_up_deletes_the_cluster(tmp_path: Path) -> None:
    def interrupt(argv: list[str]) -> tuple[int, str, str]:
        raise KeyboardInterrupt

    run = FakeRun(fresh_replies({("/usr/bin/kubectl",): interrupt}))
    with pytest.raises(KeyboardInterrupt):
        prepare(make(tmp_path, run))
    assert run.commands(KIND, "delete", "cluster", "--name", "npc")


def test_a_failed_set_up_with_keep_says_how_to_remove_it(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies({("/usr/bin/kubectl",): (1, "", "boom")}))
    notes: list[str] = []
    with pytest.raises(SetupError):
        make(tmp_path, run, keep=True).prepare(notes.append)
    assert not run.commands(KIND, "delete")
    assert any("kind delete cluster --name npc" in n for n in notes)
    state = StateFile(tmp_path, "npc").load()
    assert state is not None and state.status == INSTALLING  # the next run continues it


def test_a_kept_ready_cluster_is_reused_without_installing_again(tmp_path: Path) -> None:
    prepare(make(tmp_path, FakeRun(fresh_replies()), keep=True))
    run = FakeRun(
        fresh_replies(
            {
                (KIND, "get", "clusters"): (0, "npc\n", ""),
                ("docker", "inspect"): (0, inspect_json("172.18.0.9"), ""),
            }
        )
    )
    info, notes = prepare(make(tmp_path, run, keep=True))
    assert not run.commands(KIND, "create") and not kubectl_work(run)
    assert any("reusing the kept cluster npc" in n for n in notes)
    assert info.external_ip == "172.18.0.9"


def test_a_kept_cluster_that_failed_to_install_is_installed_again(tmp_path: Path) -> None:
    with pytest.raises(SetupError):
        prepare(
            make(tmp_path, FakeRun(fresh_replies({("/usr/bin/kubectl",): (1, "", "x")})), keep=True)
        )
    run = FakeRun(fresh_replies({(KIND, "get", "clusters"): (0, "npc\n", "")}))
    prepare(make(tmp_path, run, keep=True))
    assert not run.commands(KIND, "create")
    assert len(kubectl_work(run)) == 1


@pytest.mark.parametrize(
    ("cni", "options", "why"),
    [
        ("kindnet", KindOptions(), "it runs --cni calico, not kindnet"),
        ("flannel", KindOptions(), "it runs --cni calico, not flannel"),
        ("calico", KindOptions(k8s_version="1.36"), "it runs Kubernetes v1.35.8"),
    ],
)
def test_a_kept_cluster_for_another_cni_or_version_is_one_clear_error(
    tmp_path: Path, cni: str, options: KindOptions, why: str
) -> None:
    prepare(make(tmp_path, FakeRun(fresh_replies()), keep=True))
    run = FakeRun(fresh_replies({(KIND, "get", "clusters"): (0, "npc\n", "")}))
    with pytest.raises(SetupError) as exc_info:
        prepare(make(tmp_path, run, cni, keep=True, options=options))
    msg = str(exc_info.value)
    assert why in msg and "kind delete cluster --name npc" in msg and "\n" not in msg
    assert not run.commands(KIND, "delete") and not kubectl_work(run)


def test_a_cluster_the_suite_did_not_make_is_not_used(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies({(KIND, "get", "clusters"): (0, "npc\nother\n", "")}))
    with pytest.raises(SetupError, match="no record of making it"):
        prepare(make(tmp_path, run))
    assert not run.commands(KIND, "delete")


def test_a_half_created_cluster_of_ours_is_recreated(tmp_path: Path) -> None:
    def interrupt(argv: list[str]) -> tuple[int, str, str]:
        raise KeyboardInterrupt

    # A first run killed hard during `kind create`: the record says "creating".
    p = make(tmp_path, FakeRun(fresh_replies({(KIND, "create", "cluster"): interrupt})))
    p._delete = lambda kind: None  # type: ignore[method-assign]  # as if the process died
    with pytest.raises(KeyboardInterrupt):
        prepare(p)
    run = FakeRun(fresh_replies({(KIND, "get", "clusters"): (0, "npc\n", "")}))
    prepare(make(tmp_path, run))
    assert run.commands(KIND, "delete", "cluster", "--name", "npc")
    assert run.commands(KIND, "create", "cluster")


# --- breaker 8: a kept cluster whose kubeconfig is gone ------------------------------------------


def test_the_kubeconfig_is_exported_again_for_a_kept_cluster(tmp_path: Path) -> None:
    prepare(make(tmp_path, FakeRun(fresh_replies()), keep=True))
    kubeconfig = tmp_path / "npc.kubeconfig"
    kubeconfig.unlink()
    run = FakeRun(fresh_replies({(KIND, "get", "clusters"): (0, "npc\n", "")}))
    info, _ = prepare(make(tmp_path, run, keep=True))
    assert info.kubeconfig == str(kubeconfig)
    assert kubeconfig.read_text() == KUBECONFIG
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    assert run.commands(KIND, "get", "kubeconfig", "--name", "npc")


# --- breaker 9: kindnet needs kind >= v0.24 -------------------------------------------------------


def test_kindnet_refuses_a_kind_without_network_policies(tmp_path: Path) -> None:
    run = FakeRun(
        fresh_replies({("/opt/kind", "version"): (0, "kind v0.23.0 go1.22.2 linux/amd64", "")})
    )
    with pytest.raises(SetupError) as exc_info:
        prepare(make(tmp_path, run, "kindnet", options=KindOptions(kind_bin="/opt/kind")))
    msg = str(exc_info.value)
    assert "kind >= v0.24.0" in msg and "v0.23.0" in msg
    assert not run.commands("/opt/kind", "create")


def test_kindnet_installs_nothing_and_keeps_the_default_cni(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies())
    info, _ = prepare(make(tmp_path, run, "kindnet"))
    create = run.commands(KIND, "create", "cluster")[0]
    config = yaml.safe_load(Path(create[create.index("--config") + 1]).read_text())
    assert "disableDefaultCNI" not in config["networking"]
    assert not kubectl_work(run) and not run.commands("/usr/bin/helm")
    assert info.cni_version == "kind v0.33.0"


# --- Cilium and Weave from pinned releases -------------------------------------------------------


def test_cilium_comes_from_its_released_chart_with_kube_proxy_kept(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies())
    prepare(make(tmp_path, run, "cilium"))
    (helm,) = run.commands("/usr/bin/helm")
    assert helm[1:5] == ["upgrade", "--install", "cilium", "cilium"]
    assert helm[helm.index("--repo") + 1] == "https://helm.cilium.io"
    assert helm[helm.index("--version") + 1] == "1.19.8"
    assert helm[helm.index("--kube-context") + 1] == "kind-npc"
    sets = [helm[i + 1] for i, a in enumerate(helm) if a == "--set"]
    assert "kubeProxyReplacement=false" in sets and "ipam.mode=kubernetes" in sets


def test_cilium_without_helm_says_what_to_install(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies())
    with pytest.raises(SetupError, match=r"needs `helm`"):
        prepare(make(tmp_path, run, "cilium", tools=("docker", "kind", "kubectl")))
    assert not run.commands(KIND, "create")


def test_weave_comes_from_its_released_manifest(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies())
    _, notes = prepare(make(tmp_path, run, "weave"))
    (apply,) = kubectl_work(run)
    assert apply[-2:] == [
        "-f",
        "https://github.com/weaveworks/weave/releases/download/v2.8.1/weave-daemonset-k8s.yaml",
    ]
    assert any("archived" in n for n in notes if n.startswith("warning:"))


# --- breaker 2: br_netfilter for the bridging CNIs -----------------------------------------------


@pytest.mark.parametrize("cni", ["flannel", "weave"])
def test_bridging_cnis_enable_br_netfilter_on_every_node(tmp_path: Path, cni: str) -> None:
    run = FakeRun(fresh_replies())
    prepare(make(tmp_path, run, cni))
    execs = [c for c in run.commands("docker", "exec") if "br_netfilter" in c[-1]]
    assert [c[2] for c in execs] == ["npc-worker", "npc-worker2", "npc-control-plane"]


@pytest.mark.parametrize("cni", ["calico", "cilium", "kindnet"])
def test_other_cnis_leave_br_netfilter_alone(tmp_path: Path, cni: str) -> None:
    run = FakeRun(fresh_replies())
    prepare(make(tmp_path, run, cni))
    assert not [c for c in run.commands("docker", "exec") if "br_netfilter" in c[-1]]


def test_a_host_without_br_netfilter_is_one_clear_error(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies({("docker", "exec"): (3, "", "")}))
    with pytest.raises(SetupError) as exc_info:
        prepare(make(tmp_path, run, "flannel"))
    msg = str(exc_info.value)
    assert "sudo modprobe br_netfilter" in msg and "Docker >= 27.3" in msg
    assert run.commands(KIND, "delete", "cluster")  # and the cluster is not left behind


def _run_node_script(tmp_path: Path, script: str, module_loads: bool) -> tuple[int, str]:
    """The node's br_netfilter script, here, with modprobe and sysctl replaced by fakes."""
    proc_file = tmp_path / "bridge-nf-call-iptables"
    local = script.replace("/proc/sys/net/bridge/bridge-nf-call-iptables", str(proc_file))
    assert local != script
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fakes = {
        "modprobe": f"touch {proc_file}" if module_loads else "exit 1",
        "sysctl": f'echo "$@" > {tmp_path}/sysctl-args',
    }
    for name, body in fakes.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    done = subprocess.run(
        ["/bin/sh", "-c", local], env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, check=False
    )
    args = tmp_path / "sysctl-args"
    return done.returncode, args.read_text() if args.exists() else ""


@pytest.mark.parametrize("loads", [True, False])
def test_the_br_netfilter_script_loads_and_enables_or_exits_3(tmp_path: Path, loads: bool) -> None:
    run = FakeRun(fresh_replies())
    prepare(make(tmp_path / "run", run, "flannel"))
    script = next(c[-1] for c in run.commands("docker", "exec") if "br_netfilter" in c[-1])
    rc, sysctl = _run_node_script(tmp_path, script, loads)
    if loads:
        assert rc == 0 and "net.bridge.bridge-nf-call-iptables=1" in sysctl
    else:
        assert rc == 3 and sysctl == ""


# --- the bridge plugin for Flannel ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("machine", "arch"), [("x86_64", "amd64"), ("aarch64", "arm64"), ("arm64", "arm64")]
)
def test_bridge_plugin_matches_the_node_architecture(
    tmp_path: Path, machine: str, arch: str
) -> None:
    run = FakeRun(fresh_replies())
    prepare(make(tmp_path / "run", run, "flannel"))
    scripts = [c[-1] for c in run.commands("docker", "exec") if "/opt/cni/bin ./bridge" in c[-1]]
    assert len(scripts) == 3  # every node
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
        ["/bin/sh", "-c", scripts[0]],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    url = (tmp_path / "curl-args").read_text().split()[-1]
    v = CNI_PLUGINS_VERSION
    assert url.endswith(f"/{v}/cni-plugins-linux-{arch}-{v}.tgz")
    assert (tmp_path / "tar-args").read_text().split() == ["-xz", "-C", "/opt/cni/bin", "./bridge"]


# --- breaker 4: progress while kind works ---------------------------------------------------------


def test_kinds_own_lines_are_relayed_as_progress(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies())
    _, notes = prepare(make(tmp_path, run))
    assert any("✓ Preparing nodes" in n for n in notes)
    assert any(n.startswith("kind: creating cluster npc") for n in notes)


# --- breaker 10: the external host on kind's network, or on KIND_EXPERIMENTAL_DOCKER_NETWORK ------


@pytest.mark.parametrize("network", ["kind", "ci-net"])
def test_the_external_host_joins_the_kind_network(tmp_path: Path, network: str) -> None:
    environ = {} if network == "kind" else {"KIND_EXPERIMENTAL_DOCKER_NETWORK": network}
    run = FakeRun(
        fresh_replies(
            {
                ("docker", "inspect"): [
                    (1, "", "missing"),
                    (0, inspect_json("10.9.0.4", network), ""),
                ]
            }
        )
    )
    info, _ = prepare(make(tmp_path, run, environ=environ))
    (docker_run,) = run.commands("docker", "run")
    assert docker_run[docker_run.index("--network") + 1] == network
    assert info.external_ip == "10.9.0.4"


def test_external_host_start_script_writes_a_config_for_both_ports(tmp_path: Path) -> None:
    """Run the container's start command here, with nginx swapped for a no-op."""
    script = start_script((80, 5432))
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


def test_an_external_host_without_an_address_says_how_to_fix_it(tmp_path: Path) -> None:
    run = FakeRun(
        fresh_replies({("docker", "inspect"): (0, inspect_json("10.0.0.1", "bridge"), "")})
    )
    with pytest.raises(SetupError, match="docker rm -f npc-external-db"):
        prepare(make(tmp_path, run))


def test_a_rate_limited_external_image_pull_says_so(tmp_path: Path) -> None:
    err = "docker: toomanyrequests: You have reached your unauthenticated pull rate limit."
    run = FakeRun(fresh_replies({("docker", "run"): (125, "", err)}))
    with pytest.raises(SetupError, match="pull rate limit: `docker login`"):
        prepare(make(tmp_path, run))


def test_a_stopped_external_host_is_started_again(tmp_path: Path) -> None:
    run = FakeRun(
        fresh_replies(
            {
                ("docker", "inspect"): [
                    (0, inspect_json("", running=False), ""),
                    (0, inspect_json("172.18.0.4"), ""),
                ]
            }
        )
    )
    info, _ = prepare(make(tmp_path, run))
    assert run.commands("docker", "start", "npc-external-db")
    assert info.external_ip == "172.18.0.4"


# --- the end of the run ---------------------------------------------------------------------------


def test_finish_keeps_the_cluster_with_keep(tmp_path: Path) -> None:
    run = FakeRun()
    notes: list[str] = []
    make(tmp_path, run, keep=True).finish(ClusterInfo("kind", "calico"), notes.append)
    assert run.calls == []
    assert any("--keep-cluster" in n and "kind delete cluster --name npc" in n for n in notes)


def test_finish_deletes_the_external_host_the_cluster_and_its_record(tmp_path: Path) -> None:
    info, _ = prepare(make(tmp_path, FakeRun(fresh_replies())))
    run = FakeRun()
    make(tmp_path, run).finish(info, lambda _: None)
    assert run.calls == [
        ["docker", "rm", "-f", "npc-external-db"],
        [KIND, "delete", "cluster", "--name", "npc"],
    ]
    assert StateFile(tmp_path, "npc").load() is None
    assert not (tmp_path / "npc.kubeconfig").exists()


def test_kind_logs_are_exported_before_the_cluster_is_deleted(tmp_path: Path) -> None:
    logs = str(tmp_path / "logs")
    info, _ = prepare(make(tmp_path, FakeRun(fresh_replies())))
    run = FakeRun()
    make(tmp_path, run, options=KindOptions(logs=logs)).finish(info, lambda _: None)
    assert run.calls == [
        [KIND, "export", "logs", logs, "--name", "npc"],
        ["docker", "rm", "-f", "npc-external-db"],
        [KIND, "delete", "cluster", "--name", "npc"],
    ]


def test_kind_logs_of_a_failed_set_up_are_kept_and_a_failed_export_stops_nothing(
    tmp_path: Path,
) -> None:
    err = 'error: unable to recognize "calico.yaml": no matches for kind "Installation"\n'
    export = (1, "", "ERROR: unknown cluster\n")
    run = FakeRun(fresh_replies({("/usr/bin/kubectl",): (1, "", err), (KIND, "export"): export}))
    notes: list[str] = []
    provider = make(tmp_path, run, options=KindOptions(logs=str(tmp_path / "logs")))
    with pytest.raises(SetupError, match="was deleted"):
        provider.prepare(notes.append)
    exported = run.calls.index([KIND, "export", "logs", str(tmp_path / "logs"), "--name", "npc"])
    assert exported < run.calls.index([KIND, "delete", "cluster", "--name", "npc"])
    assert any("exporting the logs failed (ERROR: unknown cluster)" in n for n in notes)


def test_kind_logs_is_read_from_its_option() -> None:
    from netpol_conformance.cluster.kind.options import kind_options

    values = {"netpol_kind_logs": "/tmp/kind-logs"}
    assert kind_options(lambda name: values.get(name)).logs == "/tmp/kind-logs"


def test_the_cluster_info_survives_the_trip_to_the_workers(tmp_path: Path) -> None:
    from netpol_conformance.cluster.providers import info_from_json, info_to_json

    info, _ = prepare(make(tmp_path, FakeRun(fresh_replies())))
    again = info_from_json(info_to_json(info))
    assert again == info
    assert json.loads(info_to_json(info))["placement"] == {"a": "npc-worker", "b": "npc-worker2"}


def test_every_cni_kind_can_install_is_listed(tmp_path: Path) -> None:
    assert sorted(n for n, p in PROFILES.items() if p.kind) == [
        "calico",
        "cilium",
        "flannel",
        "kindnet",
        "weave",
    ]


def test_the_kind_backend_never_reaches_into_the_checkout() -> None:
    import netpol_conformance.cluster.kind as package

    for module in Path(package.__file__).parent.glob("*.py"):
        assert "parents[" not in module.read_text(), module


def test_pytest_kind_ngs_working_directory_is_ignored_by_git() -> None:
    root = Path(__file__).resolve().parents[2]
    assert ".pytest-kind/" in (root / ".gitignore").read_text().splitlines()


# --- another release to upgrade from -----------------------------------------------------------

OLD_CALICO = "https://raw.githubusercontent.com/projectcalico/calico/v3.29.3/manifests/calico.yaml"


def test_cni_manifest_installs_another_release_and_says_so(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies())
    info, notes = prepare(make(tmp_path, run, options=KindOptions(cni_manifest=OLD_CALICO)))
    (apply,) = kubectl_work(run)
    assert apply[-2:] == ["-f", OLD_CALICO]
    assert any(f"calico from {OLD_CALICO} (--cni-manifest)" in n for n in notes)
    assert info.cni_version == ""  # not the pinned release: the running DaemonSet tells


def test_cni_manifest_is_refused_for_a_cni_from_a_chart(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--cni-manifest works for CNIs kind installs"):
        make(tmp_path, FakeRun(fresh_replies()), "cilium", options=KindOptions(cni_manifest="x"))


# --- breaker: kindnet's policy engine fails open -----------------------------------------------

NFT_TABLE = ("nft", "list", "table", "inet", "kindnet-network-policies")


def table_checks(run: FakeRun) -> list[str]:
    """The nodes whose kindnet policy table was looked for, in order."""
    return [c[2] for c in run.commands("docker", "exec") if tuple(c[3:]) == NFT_TABLE]


def test_kindnet_proves_its_policy_engine_runs_on_every_node(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies())
    _info, notes = prepare(make(tmp_path, run, "kindnet"))
    assert sorted(table_checks(run)) == sorted(NODES.split())
    assert any("kindnet's policy engine runs on 3 node(s)" in n for n in notes)


@pytest.mark.parametrize("cni", ["calico", "flannel"])
def test_other_cnis_are_not_checked_for_kindnets_table(tmp_path: Path, cni: str) -> None:
    run = FakeRun(fresh_replies())
    prepare(make(tmp_path, run, cni))
    assert table_checks(run) == []


def test_kindnet_failing_open_stops_the_run_with_one_line_and_no_cluster(tmp_path: Path) -> None:
    missing = (1, "", "Error: No such file or directory\nlist table inet kindnet-network-...\n")
    run = FakeRun(fresh_replies({("docker", "exec", "npc-worker2", *NFT_TABLE): missing}))
    p = make(tmp_path, run, "kindnet")
    p.engine_timeout = 0.0
    with pytest.raises(SetupError) as exc_info:
        prepare(p)
    msg = str(exc_info.value)
    assert "\n" not in msg
    assert "not running on npc-worker2:" in msg and "npc-worker," not in msg
    assert "fails open" in msg and "sudo modprobe nfnetlink_queue" in msg
    assert "(the kind cluster npc was deleted)" in msg
    assert run.commands(KIND, "delete", "cluster")


def test_the_policy_table_is_waited_for_until_it_appears() -> None:
    """The engine makes its table a few seconds after the agent is Ready: not a failure."""
    run = FakeRun({("docker", "exec", "n2", *NFT_TABLE): [(1, "", "")] * 3 + [(0, "", "")]})
    now = [0.0]
    lines: list[str] = []
    heartbeat = Heartbeat(lines.append)
    wait_for_policy_tables(
        run,
        ["n1", "n2"],
        "inet kindnet-network-policies",
        "kindnet",
        heartbeat,
        timeout=30,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    assert table_checks(run) == ["n1", "n2", "n2", "n2", "n2"]  # n1 once: it had it
    assert now[0] == 6.0
    assert (
        lines[-1]
        == "kind: kindnet's policy engine runs on 2 node(s) (inet kindnet-network-policies)"
    )


def test_a_node_without_nft_cannot_be_checked_and_says_so() -> None:
    run = FakeRun({("docker", "exec", "n1", "nft"): (127, "", "sh: nft: not found\n")})
    with pytest.raises(SetupError, match="the node n1 has no `nft` command"):
        wait_for_policy_tables(
            run, ["n1"], "inet kindnet-network-policies", "kindnet", Heartbeat(print)
        )
