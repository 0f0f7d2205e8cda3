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
