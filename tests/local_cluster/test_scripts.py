"""scripts/local-cluster without a cluster: its CNI list matches the project's CNI table, its
templates render to configuration files that parse, its clean-up of kube-router's rules removes
exactly those, and the scripts pass `bash -n` and shellcheck. No root, no network.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from local_cluster_helpers import LC_DIR, SCRIPT

from netpol_conformance.cni import PROFILES

CAPTURED = Path(__file__).resolve().parent / "captured"
SHELL_FILES = [SCRIPT, *sorted(LC_DIR.glob("*.sh"))]
KUBE_ROUTER = re.compile(r"KUBE-ROUTER-(INPUT|FORWARD|OUTPUT)|KUBE-NWPLCY-|KUBE-POD-FW-")


def bash(snippet: str, cache: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run SNIPPET with the local-cluster scripts sourced (nothing is started)."""
    sources = "; ".join(f"source {f}" for f in ("lib.sh", "daemons.sh", "cluster.sh", "cni.sh"))
    proc = subprocess.run(
        ["bash", "-c", f"set -Eeuo pipefail; LC_DIR={LC_DIR}; cd {LC_DIR}; {sources}; {snippet}"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": str(cache),
            "NETPOL_CACHE": f"{cache}",
        },
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_cnis", LC_DIR / "gen_cnis.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- the CNI list


def test_cnis_txt_is_generated_from_the_cni_table():
    gen = load_generator()
    text = (LC_DIR / "cnis.txt").read_text()
    assert text == gen.render(), "run python3 scripts/local_cluster/gen_cnis.py"
    rows = dict(line.split() for line in text.splitlines() if line and not line.startswith("#"))
    assert rows == {p.name: p.local_agent or "-" for p in PROFILES.values() if p.local}


def test_the_generator_rewrites_and_checks(tmp_path, monkeypatch, capsys):
    gen = load_generator()
    out = tmp_path / "cnis.txt"
    monkeypatch.setattr(gen, "OUT", out)
    out.write_text("calico calico-node\n")
    assert gen.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert gen.main([]) == 0
    assert out.read_text() == gen.render()
    assert gen.main(["--check"]) == 0
    assert gen.main(["--frobnicate"]) == 2
    assert "usage" in capsys.readouterr().err


def test_the_scripts_read_the_cni_list(tmp_path):
    local = {p.name: p.local_agent for p in PROFILES.values() if p.local}
    out = bash("local_cnis", tmp_path).stdout.split()
    assert out == sorted(local)
    base = bash("daemons base; daemons api; daemons control", tmp_path).stdout.split()
    for name, agent in local.items():
        assert bash(f"cni_agent {name}", tmp_path).stdout.strip() == (agent or "")
        running = bash(f"daemons_of_cni {name}", tmp_path).stdout.split()
        assert running == base + ([agent] if agent else [])
        if agent:  # the agent has a command line that runs it
            cmd = bash(f'daemon_command {agent}; echo "${{DAEMON_CMD[*]}}"', tmp_path).stdout
            assert f" {agent} " in f" {cmd} "
    bad = bash("cni_known calico", tmp_path, check=False)
    assert bad.returncode != 0


# ---------------------------------------------------------------- templates


def test_render_substitutes_literally(tmp_path):
    (tmp_path / "t").write_text("ip: @NODE_IP@\nodd: @ODD@\n@NODE_IP@@NODE_IP@\n")
    odd = r"a&b\1|c/$(echo x)*"
    bash(f"render {tmp_path}/t {tmp_path}/out ODD='{odd}'", tmp_path)
    assert (tmp_path / "out").read_text() == (f"ip: 198.18.0.2\nodd: {odd}\n198.18.0.2198.18.0.2\n")


def test_render_refuses_a_placeholder_without_a_value(tmp_path):
    (tmp_path / "t").write_text("a: @NODE_IP@\nb: @NO_SUCH_KEY@\n")
    proc = bash(f"render {tmp_path}/t {tmp_path}/out", tmp_path, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"[local-cluster] ERROR: template {tmp_path}/t: no value for @NO_SUCH_KEY@"
    ]
    assert not (tmp_path / "out").exists()


def test_the_configuration_files_render_and_parse(tmp_path):
    bash("CNI=kube-router; write_configs", tmp_path)
    run_dir = tmp_path / "local-cluster" / "v1" / "run"
    conf = run_dir / "conf"
    texts = {p.relative_to(conf).as_posix(): p.read_text() for p in conf.rglob("*") if p.is_file()}
    texts["admin.kubeconfig"] = (run_dir / "admin.kubeconfig").read_text()
    left = {name: re.findall(r"@[A-Z_]+@", t) for name, t in texts.items()}
    assert not any(left.values()), left
    pki = run_dir / "pki"

    kubeconfigs = {n: yaml.safe_load(t) for n, t in texts.items() if n.endswith(".kubeconfig")}
    assert len(kubeconfigs) == 7
    for name, kc in kubeconfigs.items():
        assert kc["clusters"][0]["cluster"]["server"] == "https://198.18.0.2:6443", name
        user = kc["users"][0]["user"]
        assert Path(user["client-certificate"]).parent == pki, name
    assert kubeconfigs["admin.kubeconfig"]["users"][0]["name"] == "kubernetes-admin"
    router = kubeconfigs["kube-router.kubeconfig"]
    assert router["users"][0]["name"] == "system:kube-router"
    assert router["users"][0]["user"]["client-key"] == f"{pki}/kube-router.key"

    kubelet = yaml.safe_load(texts["kubelet.yaml"])
    assert kubelet["address"] == "198.18.0.2" and kubelet["clusterDNS"] == ["10.96.0.10"]
    assert kubelet["cgroupRoot"] == "/netpol-local-cluster"
    proxy = yaml.safe_load(texts["kube-proxy.yaml"])
    assert proxy["mode"] == "iptables" and proxy["clusterCIDR"] == "10.244.0.0/16"
    cni = json.loads(texts["cni/10-netpol-local.conflist"])
    ranges = cni["plugins"][0]["ipam"]["ranges"]
    assert ranges == [[{"subnet": "10.244.0.0/24", "gateway": "10.244.0.1"}]]
    assert json.loads(texts["flannel-net.json"])["Network"] == "10.244.0.0/16"
    containerd = tomllib.loads(texts["containerd.toml"])
    cri = containerd["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == "netpol-conformance.local/pause:v1"
    assert cri["restrict_oom_score_adj"] is True
    assert containerd["grpc"]["address"] == "/run/netpol-local-cluster/containerd.sock"
    addons = [d for d in yaml.safe_load_all(texts["addons.yaml"]) if d]
    dns = next(d for d in addons if d["kind"] == "Service")
    assert dns["spec"]["clusterIP"] == "10.96.0.10"


def test_two_nodes_render_a_second_node_of_its_own(tmp_path):
    bash("CNI=kube-router; mkdir -p $RUN_DIR; state_set NODES 2; write_configs", tmp_path)
    run_dir = tmp_path / "local-cluster" / "v1" / "run"
    one, two = run_dir / "conf", run_dir / "node2" / "conf"
    kubelet1 = yaml.safe_load((one / "kubelet.yaml").read_text())
    kubelet2 = yaml.safe_load((two / "kubelet.yaml").read_text())
    # each kubelet serves on its node's LAN address, with its own certificate and cgroup root
    assert kubelet1["address"] == "198.18.1.1" and kubelet2["address"] == "198.18.1.2"
    assert kubelet1["tlsCertFile"].endswith("/pki/kubelet-server.crt")
    assert kubelet2["tlsCertFile"].endswith("/pki/kubelet-server-2.crt")
    assert kubelet2["cgroupRoot"] == "/netpol-local-cluster/node2"
    runtime = kubelet2["containerRuntimeEndpoint"]
    assert runtime == "unix:///run/netpol-local-cluster/node2/containerd.sock"
    # a containerd of its own, with its own CNI configuration and pod CIDR
    containerd2 = tomllib.loads((two / "containerd.toml").read_text())
    assert containerd2["root"] == f"{run_dir}/node2/containerd"
    assert containerd2["grpc"]["address"] == "/run/netpol-local-cluster/node2/containerd.sock"
    cri = containerd2["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["cni"]["conf_dir"] == f"{two}/cni"
    cni2 = json.loads((two / "cni" / "10-netpol-local.conflist").read_text())
    ipam = cni2["plugins"][0]["ipam"]
    assert ipam["ranges"] == [[{"subnet": "10.244.1.0/24", "gateway": "10.244.1.1"}]]
    assert ipam["dataDir"] == f"{run_dir}/node2/cni-ipam"
    # node 2's kubelet is node 2 to the API server, which stays on node 1's address
    kc2 = yaml.safe_load((two / "kubelet.kubeconfig").read_text())
    assert kc2["clusters"][0]["cluster"]["server"] == "https://198.18.0.2:6443"
    assert kc2["users"][0]["name"] == "system:node:netpol-node2"
    proxy2 = yaml.safe_load((two / "kube-proxy.yaml").read_text())
    assert proxy2["hostnameOverride"] == "netpol-node2"
    assert proxy2["clientConnection"]["kubeconfig"] == f"{one}/kube-proxy.kubeconfig"
    for path in two.rglob("*"):
        if path.is_file():
            assert not re.findall(r"@[A-Z_]+@", path.read_text()), path


def test_node_2s_daemons_exist_only_on_two_nodes(tmp_path):
    one = bash("mkdir -p $RUN_DIR; daemons; echo ---; daemons_of_cni kube-router", tmp_path / "1")
    assert "@2" not in one.stdout
    two = bash(
        "mkdir -p $RUN_DIR; state_set NODES 2; daemons node2; echo ---; daemons_of_cni kube-router;"
        ' echo ---; daemon_command kubelet@2; echo "${DAEMON_CMD[*]}";'
        ' daemon_command kube-router@2; echo "${DAEMON_CMD[*]}"; daemon_netns kubelet@2',
        tmp_path,
    )
    node2, of_cni, rest = two.stdout.split("---\n")
    assert node2.split() == ["kubelet@2", "kube-proxy@2"]
    assert "kube-router@2" in of_cni.split() and "flanneld@2" not in of_cni.split()
    kubelet, router, netns = rest.strip().splitlines()
    assert "--hostname-override netpol-node2" in kubelet and "--node-ip 198.18.1.2" in kubelet
    assert "NODE_NAME=netpol-node2" in router and "--run-router=true" in router
    assert "--enable-pod-egress=false" in router
    assert netns == "npc-node2"
    # on one node kube-router only enforces
    single = bash(
        'mkdir -p $RUN_DIR; daemon_command kube-router; echo "${DAEMON_CMD[*]}"', tmp_path / "1"
    )
    assert "--run-router=false" in single.stdout


def test_up_refuses_a_node_count_it_cannot_run(tmp_path):
    for bad in ("3", "0", "two"):
        proc = bash(f"require_root() {{ :; }}; cmd_up --nodes {bad}", tmp_path, check=False)
        assert proc.returncode == 1
        assert proc.stderr.strip().splitlines() == [
            f"[local-cluster] ERROR: unknown --nodes '{bad}': use 1 or 2"
        ]


# ---------------------------------------------------------------- kube-router's clean-up


def apply_restore_script(saved: str, script: str) -> list[str]:
    """The filter table after `iptables-restore --noflush SCRIPT` on SAVED (the subset of its
    semantics the script uses: -D of an exact rule, a chain declaration flushes, -X deletes)."""
    lines = [x for x in saved.splitlines() if x.startswith((":", "-A "))]
    for cmd in script.splitlines():
        if cmd.startswith("-D "):
            rule = "-A " + cmd[3:]
            assert rule in lines, f"deletes a rule that is not there: {cmd}"
            lines.remove(rule)
        elif cmd.startswith(":"):
            chain = cmd[1:].split()[0]
            lines = [x for x in lines if not x.startswith(f"-A {chain} ")]
        elif cmd.startswith("-X "):
            chain = cmd[3:]
            assert not any(x.endswith(f"-j {chain}") for x in lines), f"{chain} still used"
            lines = [x for x in lines if not x.startswith(f":{chain} ")]
        else:
            assert cmd in ("*filter", "COMMIT"), cmd
    return lines


def test_cleanup_removes_exactly_kube_routers_rules(tmp_path):
    saved = (CAPTURED / "iptables-save-filter-kube-router.txt").read_text()
    assert KUBE_ROUTER.search(saved) and "KUBE-SERVICES" in saved
    script = bash(
        f"kube_router_cleanup_script < {CAPTURED}/iptables-save-filter-kube-router.txt", tmp_path
    ).stdout
    after = apply_restore_script(saved, script)
    expected = [
        x for x in saved.splitlines() if x.startswith((":", "-A ")) and not KUBE_ROUTER.search(x)
    ]
    assert after == expected


def test_cleanup_of_a_table_without_kube_router_is_empty(tmp_path):
    saved = (CAPTURED / "iptables-save-filter-kube-router.txt").read_text()
    clean = "\n".join(x for x in saved.splitlines() if not KUBE_ROUTER.search(x))
    (tmp_path / "clean.txt").write_text(clean + "\n")
    assert bash(f"kube_router_cleanup_script < {tmp_path}/clean.txt", tmp_path).stdout == ""


# ---------------------------------------------------------------- the scripts themselves


@pytest.mark.parametrize("path", SHELL_FILES, ids=lambda p: p.name)
def test_bash_parses_the_script(path):
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck is not installed")
def test_shellcheck_is_clean():
    proc = subprocess.run(
        ["shellcheck", "-x", *map(str, SHELL_FILES)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout
