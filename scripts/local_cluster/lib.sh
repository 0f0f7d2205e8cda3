# shellcheck disable=SC2034 # the settings are read by the files that source this one
# Shared settings and helpers of scripts/local-cluster (sourced, not run).

K8S_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
KUBE_ROUTER_VERSION=v2.1.0
COREDNS_VERSION=v1.14.7
FLANNEL_VERSION=v0.28.10

CACHE_ROOT="${NETPOL_CACHE:-$HOME/.cache/netpol-conformance}"
LC_CACHE="$CACHE_ROOT/local-cluster/v1"
BIN="$LC_CACHE/bin"
IMAGES="$LC_CACHE/images"
# Everything `up` creates on disk lives below RUN_DIR (wiped by the next `up`) and
# SOCK_DIR (short paths for unix sockets; removed by `down`).
RUN_DIR="$LC_CACHE/run"
SOCK_DIR=/run/netpol-local-cluster

# Names and addresses. All of them exist only inside namespaces this script creates.
NS_NODE=npc-node            # the node: control plane, kubelet, containerd, pods' bridge
NS_EXT=npc-ext              # the external test host, outside the pod network
VETH_HOST=npc-host          # host end of the host<->node link
VETH_NODE=npc-node0         # node end of it (inside NS_NODE)
VETH_EXT_NODE=npc-ext0      # node end of the node<->external link (inside NS_NODE)
VETH_EXT=npc-ext1           # external end of it (inside NS_EXT)
HOST_IP=198.18.0.1
NODE_IP=198.18.0.2
LINK_PREFIX=30
EXT_GW_IP=198.19.0.1
EXT_IP=198.19.0.10
EXT_PREFIX=24
EXT_PORTS=(80 5432)
NODE_NAME=netpol-node
POD_CIDR=10.244.0.0/16
NODE_POD_CIDR=10.244.0.0/24
POD_GW=10.244.0.1
SERVICE_CIDR=10.96.0.0/16
API_SERVICE_IP=10.96.0.1
DNS_SERVICE_IP=10.96.0.10
CLUSTER_DOMAIN=cluster.local
API_PORT=6443
CGROUP_ROOT=netpol-local-cluster
CNI_BIN_DIR=/usr/lib/cni
CNI_NETWORK=netpol-local

# The second node of `up --nodes 2`: its own namespace, containerd, kubelet, kube-proxy and CNI
# agent, joined to the first node's control plane over a link of their own (the nodes' LAN).
# On two nodes each node's InternalIP is its LAN address, so that a CNI's routing (kube-router's
# BGP, flannel's host-gw) sees the other node on its own subnet; the API server stays at
# NODE_IP, which node 2 reaches through node 1.
NS_NODE2=npc-node2
NODE2_NAME=netpol-node2
VETH_LAN1=npc-lan1          # node 1's end of the nodes' LAN (inside NS_NODE)
VETH_LAN2=npc-lan2          # node 2's end of it (inside NS_NODE2)
LAN_IP1=198.18.1.1
LAN_IP2=198.18.1.2
LAN_NET=198.18.1.0/24
EXT_NET=198.19.0.0/24
NODE2_POD_CIDR=10.244.1.0/24
NODE2_POD_GW=10.244.1.1
NODE2_DIR="$RUN_DIR/node2"          # node 2's configs and state (node 1's are RUN_DIR's)
NODE2_SOCK_DIR="$SOCK_DIR/node2"
MAX_NODES=2

PAUSE_IMAGE=netpol-conformance.local/pause:v1
COREDNS_IMAGE=netpol-conformance.local/coredns:v1
PROBE_IMAGE=netpol-conformance.local/probe:v1

export PATH="$BIN:/usr/local/go/bin:/usr/local/sbin:/usr/sbin:/sbin:$PATH"

log() { printf '[local-cluster] %s\n' "$*" >&2; }
die() { printf '[local-cluster] ERROR: %s\n' "$*" >&2; exit 1; }

require_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (it creates network namespaces and mounts); rerun with sudo"
}

# now_ms: milliseconds since the epoch.
now_ms() { date +%s%3N; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.2 s; 1 after SECONDS.
wait_for() {
    local timeout="$1"; shift 2
    local deadline=$(( $(now_ms) + timeout * 1000 ))
    until "$@" >/dev/null 2>&1; do
        if (( $(now_ms) > deadline )); then
            return 1
        fi
        sleep 0.2
    done
}

# in_node CMD...: run CMD in the node's network namespace (same mount namespace as the host,
# so that mounts made by the kubelet are seen by containerd and runc).
in_node() { nsenter --net="/run/netns/$NS_NODE" "$@"; }
in_ext() { nsenter --net="/run/netns/$NS_EXT" "$@"; }
in_node2() { nsenter --net="/run/netns/$NS_NODE2" "$@"; }

# ---------------------------------------------------------------- nodes (1 or 2)

# node_count: how many nodes `up` started (1 unless `up --nodes 2`).
node_count() { local n; n="$(state_get NODES)"; echo "${n:-1}"; }

# in_node_k K CMD...: run CMD in node K's network namespace.
in_node_k() { local k="$1"; shift; if [[ "$k" == 1 ]]; then in_node "$@"; else in_node2 "$@"; fi; }

node_ns() { if [[ "$1" == 1 ]]; then echo "$NS_NODE"; else echo "$NS_NODE2"; fi; }
node_name() { if [[ "$1" == 1 ]]; then echo "$NODE_NAME"; else echo "$NODE2_NAME"; fi; }
node_pod_cidr() { if [[ "$1" == 1 ]]; then echo "$NODE_POD_CIDR"; else echo "$NODE2_POD_CIDR"; fi; }
node_pod_gw() { if [[ "$1" == 1 ]]; then echo "$POD_GW"; else echo "$NODE2_POD_GW"; fi; }
node_dir() { if [[ "$1" == 1 ]]; then echo "$RUN_DIR"; else echo "$NODE2_DIR"; fi; }
node_conf() { echo "$(node_dir "$1")/conf"; }
# node_ip K: the node's InternalIP (its kubelet's address): NODE_IP on one node, the LAN on two.
node_ip() {
    if [[ "$1" == 2 ]]; then echo "$LAN_IP2"
    elif (( $(node_count) > 1 )); then echo "$LAN_IP1"
    else echo "$NODE_IP"; fi
}
# node_iface K: the node's interface toward the other nodes (flannel's --iface).
node_iface() {
    if [[ "$1" == 2 ]]; then echo "$VETH_LAN2"
    elif (( $(node_count) > 1 )); then echo "$VETH_LAN1"
    else echo "$VETH_NODE"; fi
}
node_ctr_sock() { if [[ "$1" == 1 ]]; then echo "$SOCK_DIR/containerd.sock"; else echo "$NODE2_SOCK_DIR/containerd.sock"; fi; }
# nodes: 1, or 1 and 2, one a line.
nodes() { seq 1 "$(node_count)"; }

# utc_now: the time as 2026-11-25T20:41:03.123Z.
utc_now() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

# ---------------------------------------------------------------- the CNI table

# cnis.txt is generated from the project's CNI table (netpol_conformance/cni.py) by gen_cnis.py.
CNI_TABLE="$LC_DIR/cnis.txt"

# local_cnis: the names `up --cni` accepts, one a line.
local_cnis() { awk '!/^#/ && NF {print $1}' "$CNI_TABLE"; }

# cni_known NAME: exit 0 when NAME is in the table.
cni_known() { local_cnis | grep -qxF -- "$1"; }

# cni_agent NAME: the node process the CNI needs, empty for none.
cni_agent() { awk -v n="$1" '!/^#/ && $1 == n && $2 != "-" {print $2}' "$CNI_TABLE"; }

# cni_choices: "bridge, flannel or kube-router", for messages.
cni_choices() { local_cnis | paste -sd, - | sed 's/,/, /g; s/\(.*\), /\1 or /'; }

# ---------------------------------------------------------------- templates

# render TEMPLATE OUT [KEY=VALUE...]: write TEMPLATE with every @KEY@ replaced, literally, by
# the value of the shell variable KEY (only the names in TEMPLATE_KEYS) or by a KEY=VALUE
# argument. A placeholder without a value is an error, never left in or emptied.
render() {
    local src="$1" out="$2" text key value pair
    shift 2
    text="$(<"$src")" || die "cannot read template $src"
    for key in "${TEMPLATE_KEYS[@]}"; do
        [[ -v "$key" ]] || die "template value $key is not set (a bug in scripts/local_cluster)"
        text="${text//"@$key@"/"${!key}"}"
    done
    for pair in "$@"; do
        key="${pair%%=*}" value="${pair#*=}"
        text="${text//"@$key@"/"$value"}"
    done
    if [[ "$text" =~ @[A-Z][A-Z0-9_]*@ ]]; then
        die "template $src: no value for ${BASH_REMATCH[0]}"
    fi
    printf '%s\n' "$text" > "$out"
}

netns_exists() { [[ -e "/run/netns/$1" ]] && ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }
