# `up`, `down`, `status`, `kubeconfig`, `info`, `logs` (sourced by scripts/local-cluster).

PKI="$RUN_DIR/pki"
LOGS="$RUN_DIR/logs"
PIDS="$RUN_DIR/pids"
CONF="$RUN_DIR/conf"
STATE_FILE="$RUN_DIR/state.env"
ADMIN_KUBECONFIG="$RUN_DIR/admin.kubeconfig"
CTR_SOCK="$SOCK_DIR/containerd.sock"
CTR_ROOT="$RUN_DIR/containerd"
CTR_STATE="$SOCK_DIR/containerd"
KUBELET_DIR="$RUN_DIR/kubelet"

cgroup_hierarchies() {
    local d
    for d in /sys/fs/cgroup/*; do
        [[ -d "$d" && ! -L "$d" ]] && mountpoint -q "$d" && echo "$d"
    done
}

kc() { kubectl --kubeconfig "$ADMIN_KUBECONFIG" --request-timeout=10s "$@"; }

# ---------------------------------------------------------------- prerequisites

check_prereqs() {
    local b agent
    for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl coredns pause; do
        [[ -x "$BIN/$b" ]] || die "missing $BIN/$b: run 'scripts/local-cluster build' first"
    done
    agent="$(cni_agent "$CNI")"
    if [[ -n "$agent" && ! -x "$BIN/$agent" ]]; then
        die "missing $BIN/$agent for --cni $CNI: run 'scripts/local-cluster build' (see $LC_CACHE/build-$agent.log)"
    fi
    for b in pause coredns probe; do
        [[ -f "$IMAGES/$b.tar" ]] || die "missing image archive $IMAGES/$b.tar: run 'scripts/local-cluster build' first"
    done
    for b in containerd containerd-shim-runc-v2 runc ctr ip nsenter iptables ipset openssl python3 dig curl mountpoint findmnt; do
        command -v "$b" >/dev/null || die "missing command '$b': run 'scripts/local-cluster build' (it installs the Debian packages)"
    done
    for b in bridge host-local loopback portmap; do
        [[ -x "$CNI_BIN_DIR/$b" ]] || die "missing CNI plugin $CNI_BIN_DIR/$b: apt-get install containernetworking-plugins"
    done
    [[ -d /sys/fs/cgroup/pids ]] || die "cgroup v1 'pids' hierarchy not mounted at /sys/fs/cgroup/pids: this script expects cgroup v1 (hybrid) controllers"
    ip netns list >/dev/null 2>&1 || die "'ip netns' does not work: network namespaces are required"
}

# ---------------------------------------------------------------- PKI and configs

gen_cert() { # NAME CN O SANS EKU
    local name="$1" cn="$2" o="$3" sans="$4" eku="$5" subj="/CN=$2"
    [[ -n "$o" ]] && subj="/O=$o/CN=$cn"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
    {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=$eku"
        [[ -n "$sans" ]] && echo "subjectAltName=$sans"
    } > "$PKI/$name.ext"
    openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
        -days 365 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
    rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

make_pki() {
    mkdir -p "$PKI"; chmod 700 "$PKI"
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -subj "/CN=netpol-local-cluster-ca" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
    local api_sans="IP:$NODE_IP,IP:$API_SERVICE_IP,IP:127.0.0.1,DNS:localhost,DNS:$NODE_NAME,DNS:kubernetes"
    api_sans+=",DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN"
    gen_cert apiserver kube-apiserver "" "$api_sans" serverAuth
    gen_cert etcd-server etcd "" "IP:127.0.0.1,DNS:localhost" serverAuth,clientAuth
    gen_cert etcd-client kube-apiserver-etcd-client "" "" clientAuth
    gen_cert apiserver-kubelet-client kube-apiserver-kubelet-client "" "" clientAuth
    gen_cert admin kubernetes-admin system:masters "" clientAuth
    gen_cert controller-manager system:kube-controller-manager "" "" clientAuth
    gen_cert scheduler system:kube-scheduler "" "" clientAuth
    gen_cert kubelet-client "system:node:$NODE_NAME" system:nodes "" clientAuth
    gen_cert kubelet-server "system:node:$NODE_NAME" system:nodes "IP:$NODE_IP,IP:$LAN_IP1,DNS:$NODE_NAME" serverAuth
    if (( $(node_count) > 1 )); then
        gen_cert kubelet-client-2 "system:node:$NODE2_NAME" system:nodes "" clientAuth
        gen_cert kubelet-server-2 "system:node:$NODE2_NAME" system:nodes "IP:$LAN_IP2,DNS:$NODE2_NAME" serverAuth
    fi
    gen_cert kube-proxy system:kube-proxy "" "" clientAuth
    gen_cert kube-router system:kube-router "" "" clientAuth
    gen_cert front-proxy-client front-proxy-client "" "" clientAuth
    gen_cert flannel system:netpol-flannel "" "" clientAuth
    openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key" 2>/dev/null
    openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
}

# The shell variables that templates/*.yaml|toml|json and manifests/addons.yaml may name as @KEY@.
# shellcheck disable=SC2034 # read by render (lib.sh)
TEMPLATE_KEYS=(API_PORT CGROUP_ROOT CLUSTER_DOMAIN CNI_BIN_DIR CNI_NETWORK CONF COREDNS_IMAGE CTR_ROOT
    CTR_SOCK CTR_STATE DNS_SERVICE_IP NODE_IP NODE_NAME NODE_POD_CIDR PAUSE_IMAGE PKI POD_CIDR POD_GW
    RUN_DIR SOCK_DIR)
TEMPLATES="$LC_DIR/templates"

write_kubeconfig() { # FILE USER CERTNAME
    render "$TEMPLATES/kubeconfig.yaml" "$1" KUBE_USER="$2" CERT="$3"
}

write_configs() {
    mkdir -p "$CONF" "$CONF/cni" "$RUN_DIR/cni-ipam" "$RUN_DIR/cni-cache"
    write_kubeconfig "$ADMIN_KUBECONFIG" kubernetes-admin admin
    write_kubeconfig "$CONF/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
    write_kubeconfig "$CONF/scheduler.kubeconfig" system:kube-scheduler scheduler
    write_kubeconfig "$CONF/kubelet.kubeconfig" "system:node:$NODE_NAME" kubelet-client
    write_kubeconfig "$CONF/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
    write_kubeconfig "$CONF/kube-router.kubeconfig" system:kube-router kube-router
    write_kubeconfig "$CONF/flannel.kubeconfig" system:netpol-flannel flannel
    render "$TEMPLATES/flannel-net.json" "$CONF/flannel-net.json"
    render "$TEMPLATES/containerd.toml" "$CONF/containerd.toml"
    # Pods on a Linux bridge in the node namespace; host-local IPAM over the node's pod CIDR.
    # No masquerade: pods reach the external host with their own addresses.
    render "$TEMPLATES/cni.conflist" "$CONF/cni/10-$CNI_NETWORK.conflist"
    # The kubelet serves on the node's InternalIP (on two nodes, its LAN address).
    (NODE_IP="$(node_ip 1)"; render "$TEMPLATES/kubelet.yaml" "$CONF/kubelet.yaml" KUBELET_CERT=kubelet-server) \
        || die "rendering the kubelet's configuration failed"
    render "$TEMPLATES/kube-proxy.yaml" "$CONF/kube-proxy.yaml"
    render "$LC_DIR/manifests/addons.yaml" "$CONF/addons.yaml"
    if (( $(node_count) > 1 )); then write_node2_configs; fi
}

# Node 2's configs, from the same templates: its own containerd (root, state, sockets, CNI
# configuration), kubelet (address, cgroup root, certificate), kube-proxy and pod CIDR. The
# kubeconfigs keep NODE_IP: the API server is on node 1.
write_node2_configs() {
    mkdir -p "$NODE2_DIR/conf/cni" "$NODE2_DIR/cni-ipam" "$NODE2_SOCK_DIR/containerd" "$NODE2_DIR/containerd"
    write_kubeconfig "$NODE2_DIR/conf/kubelet.kubeconfig" "system:node:$NODE2_NAME" kubelet-client-2
    (
        NODE_IP="$LAN_IP2" NODE_NAME="$NODE2_NAME" NODE_POD_CIDR="$NODE2_POD_CIDR"
        POD_GW="$NODE2_POD_GW" RUN_DIR="$NODE2_DIR" SOCK_DIR="$NODE2_SOCK_DIR"
        CONF="$NODE2_DIR/conf" CTR_ROOT="$NODE2_DIR/containerd" CTR_STATE="$NODE2_SOCK_DIR/containerd"
        CTR_SOCK="$NODE2_SOCK_DIR/containerd.sock" CGROUP_ROOT="$CGROUP_ROOT/node2"
        render "$TEMPLATES/containerd.toml" "$CONF/containerd.toml"
        render "$TEMPLATES/cni.conflist" "$CONF/cni/10-$CNI_NETWORK.conflist"
        render "$TEMPLATES/kubelet.yaml" "$CONF/kubelet.yaml" KUBELET_CERT=kubelet-server-2
        render "$TEMPLATES/kube-proxy.yaml" "$CONF/kube-proxy.yaml"
    ) || die "rendering node 2's configuration failed"
    # kube-proxy's kubeconfig is named in its configuration: node 2 uses node 1's.
    sed -i "s|$NODE2_DIR/conf/kube-proxy.kubeconfig|$CONF/kube-proxy.kubeconfig|" "$NODE2_DIR/conf/kube-proxy.yaml"
}

# ---------------------------------------------------------------- network namespaces

make_network() {
    ip netns add "$NS_NODE"
    ip netns add "$NS_EXT"
    in_node ip link set lo up
    in_ext ip link set lo up
    # host <-> node
    ip link add "$VETH_HOST" type veth peer name "$VETH_NODE" netns "$NS_NODE"
    ip addr add "$HOST_IP/$LINK_PREFIX" dev "$VETH_HOST"
    ip link set "$VETH_HOST" up
    in_node ip addr add "$NODE_IP/$LINK_PREFIX" dev "$VETH_NODE"
    in_node ip link set "$VETH_NODE" up
    # node <-> external host (routed, no NAT)
    in_node ip link add "$VETH_EXT_NODE" type veth peer name "$VETH_EXT" netns "$NS_EXT"
    in_node ip addr add "$EXT_GW_IP/$EXT_PREFIX" dev "$VETH_EXT_NODE"
    in_node ip link set "$VETH_EXT_NODE" up
    in_ext ip addr add "$EXT_IP/$EXT_PREFIX" dev "$VETH_EXT"
    in_ext ip link set "$VETH_EXT" up
    in_ext ip route add "$POD_CIDR" via "$EXT_GW_IP"
    in_ext ip route add "$NODE_IP/32" via "$EXT_GW_IP"
    # Service VIPs are reachable from the node itself through kube-proxy's OUTPUT rules;
    # a VIP that nothing rewrites goes to lo and is dropped there, never off the node.
    in_node ip route add "$SERVICE_CIDR" dev lo src "$NODE_IP"
    # Pods must never reach the host through the node: traffic forwarded from the pod bridge
    # to the host link is refused by routing policy (the API server's own address stays local).
    in_node ip rule add iif cni0 to "$HOST_IP/$LINK_PREFIX" prohibit pref 100
    node_sysctls 1
    # The namespace's own (kernel default) ICMP rate limits, before set_icmp_ratelimit.
    state_set ICMP_DEFAULT_V4 "$(in_node sysctl -n net.ipv4.icmp_ratelimit)"
    state_set ICMP_DEFAULT_V6 "$(in_node sysctl -n net.ipv6.icmp.ratelimit)"
    if (( $(node_count) > 1 )); then make_node2_network; fi
}

node_sysctls() { # K
    in_node_k "$1" sysctl -qw net.ipv4.ip_forward=1
    in_node_k "$1" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 || true
    if ! in_node_k "$1" sysctl -qw net.bridge.bridge-nf-call-iptables=1; then
        die "net.bridge.bridge-nf-call-iptables is not available: the kernel needs br_netfilter"
    fi
}

# Node 2 and the nodes' LAN: node 2 reaches the API server (NODE_IP) and the external host
# through node 1, and nothing else; the host has no route to node 2 at all. Pods on either
# node are refused the host's link, as on one node.
make_node2_network() {
    ip netns add "$NS_NODE2"
    in_node2 ip link set lo up
    in_node ip link add "$VETH_LAN1" type veth peer name "$VETH_LAN2" netns "$NS_NODE2"
    in_node ip addr add "$LAN_IP1/${LAN_NET#*/}" dev "$VETH_LAN1"
    in_node ip link set "$VETH_LAN1" up
    in_node2 ip addr add "$LAN_IP2/${LAN_NET#*/}" dev "$VETH_LAN2"
    in_node2 ip link set "$VETH_LAN2" up
    in_node2 ip route add "$NODE_IP/32" via "$LAN_IP1"
    in_node2 ip route add "$EXT_NET" via "$LAN_IP1"
    in_ext ip route add "$LAN_NET" via "$EXT_GW_IP"
    in_node2 ip route add "$SERVICE_CIDR" dev lo src "$LAN_IP2"
    # The host's own address only: the API server's (NODE_IP) is in the host link's subnet, and
    # node 2's pods reach it through node 1 (CoreDNS may run on node 2).
    in_node2 ip rule add iif cni0 to "$HOST_IP/32" prohibit pref 100
    in_node ip rule add iif "$VETH_LAN1" to "$HOST_IP/32" prohibit pref 101
    node_sysctls 2
}

# The pod CIDRs between the nodes: routed by the CNI where it routes (kube-router's BGP,
# flannel's host-gw), by this script where it does not (the bridge).
#   route_pods_statically [METRIC]  add the routes (replacing any); at FALLBACK_METRIC, routes
#                                   that stand in for a stopped router's: the router's own
#                                   (metric 0) win while they are there
#   pods_routed                     both nodes route the other's pod CIDR to it
FALLBACK_METRIC=1000
route_pods_statically() {
    local metric=(); [[ -n "${1:-}" ]] && metric=(metric "$1")
    in_node ip route replace "$NODE2_POD_CIDR" via "$LAN_IP2" dev "$VETH_LAN1" "${metric[@]}"
    in_node2 ip route replace "$NODE_POD_CIDR" via "$LAN_IP1" dev "$VETH_LAN2" "${metric[@]}"
}
pods_routed() {
    [[ "$(in_node ip -4 route show "$NODE2_POD_CIDR")" == *"via $LAN_IP2 "* ]] \
        && [[ "$(in_node2 ip -4 route show "$NODE_POD_CIDR")" == *"via $LAN_IP1 "* ]]
}
# route_pods CNI: make or wait for the routes between the nodes' pod CIDRs.
route_pods() {
    if [[ -z "$(cni_agent "$1")" ]]; then
        route_pods_statically
    else
        wait_step 60 "$(cni_agent "$1")" "$(cni_agent "$1") to route the pod CIDRs between the nodes" pods_routed
    fi
}

# kube-router rejects denied connections with ICMP port-unreachable, which the node sends.
# The kernel's per-peer ICMP rate limit (a burst of 6, then one per `icmp_ratelimit` ms) turns
# all but the first rejects of a parallel probe matrix into silent drops, as on a stock node.
#   set_icmp_ratelimit off      lift it inside the node (the default of `up`)
#   set_icmp_ratelimit default  the kernel's default, as a new namespace has it
set_icmp_ratelimit() {
    local v4=0 v6=0
    if [[ "$1" == default ]]; then
        v4="$(state_get ICMP_DEFAULT_V4)" v6="$(state_get ICMP_DEFAULT_V6)"
        [[ -n "$v4" && -n "$v6" ]] || die "the node's default ICMP rate limit was not recorded: run 'scripts/local-cluster down' and 'up' again"
    fi
    local k
    for k in $(nodes); do
        in_node_k "$k" sysctl -qw "net.ipv4.icmp_ratelimit=$v4" "net.ipv6.icmp.ratelimit=$v6"
    done
    state_set ICMP_RATELIMIT "$1"
    state_set ICMP_RATELIMIT_MS "$(in_node sysctl -n net.ipv4.icmp_ratelimit)"
}

# ---------------------------------------------------------------- processes

make_cgroups() {
    local h d
    for h in $(cgroup_hierarchies); do
        for d in "$CGROUP_ROOT" $( (( $(node_count) > 1 )) && echo "$CGROUP_ROOT/node2"); do
            mkdir -p "$h/$d"
            if [[ -f "$h/cpuset.cpus" ]]; then
                cat "$h/cpuset.cpus" > "$h/$d/cpuset.cpus"
                cat "$h/cpuset.mems" > "$h/$d/cpuset.mems"
            fi
        done
    done
}

import_images() {
    local img k
    for k in $(nodes); do
        for img in pause coredns probe; do
            ctr --address "$(node_ctr_sock "$k")" -n k8s.io images import "$IMAGES/$img.tar" \
                >>"$LOGS/image-import.log" 2>&1 || { tail -n 5 "$LOGS/image-import.log" >&2; die "importing $IMAGES/$img.tar into $(on_node containerd "$k") failed: see $LOGS/image-import.log"; }
        done
    done
}

api_ready() { curl -sf --max-time 2 --cacert "$PKI/ca.crt" "https://$NODE_IP:$API_PORT/readyz" >/dev/null; }
node_registered() { kc get node "$(node_name "${1:-1}")" -o name >/dev/null 2>&1; }
# node_spec_pod_cidr K: the pod CIDR the controller manager gave node K; _set: the one we expect.
node_spec_pod_cidr() { kc get node "$(node_name "${1:-1}")" -o jsonpath='{.spec.podCIDR}' 2>/dev/null; }
node_pod_cidr_set() { [[ "$(node_spec_pod_cidr "${1:-1}")" == "$(node_pod_cidr "${1:-1}")" ]]; }
node_ready() {
    [[ "$(kc get node "$(node_name "${1:-1}")" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}
dns_answers() {
    local out
    out="$(in_node dig +short +time=1 +tries=1 "@$DNS_SERVICE_IP" "kubernetes.default.svc.$CLUSTER_DOMAIN" A 2>/dev/null)"
    [[ "$out" == "$API_SERVICE_IP" ]]
}
external_answers() {
    local p
    for p in "${EXT_PORTS[@]}"; do
        in_node curl -sf --max-time 2 -o /dev/null "http://$EXT_IP:$p/" || return 1
    done
}

apply_addons() {
    kc apply -f "$CONF/addons.yaml" >"$LOGS/addons.log" 2>&1 || {
        cat "$LOGS/addons.log" >&2; die "applying cluster add-ons (RBAC, CoreDNS) failed: see $LOGS/addons.log"; }
}

# ---------------------------------------------------------------- state

# state.env: KEY=VALUE lines. CNI (the CNI now: `cni switch` changes it), UP (1 once `up`
# finished), ICMP_RATELIMIT (off or default) and what the node's sysctls were and are.
state_get() { sed -n "s/^$1=//p" "$STATE_FILE" 2>/dev/null; }
state_set() { # KEY VALUE
    touch "$STATE_FILE"
    sed -i "/^$1=/d" "$STATE_FILE"
    printf '%s=%s\n' "$1" "$2" >> "$STATE_FILE"
}

current_cni() { state_get CNI; }

# ---------------------------------------------------------------- down

kill_cgroup_tree() {
    local h="/sys/fs/cgroup/pids/$CGROUP_ROOT" pids
    [[ -d "$h" ]] || return 0
    for _ in $(seq 1 50); do
        pids="$(find "$h" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)"
        [[ -z "$pids" ]] && return 0
        # shellcheck disable=SC2086
        kill -9 $pids 2>/dev/null || true
        sleep 0.1
    done
    log "warning: processes still alive in $h after SIGKILL: $pids"
}

# The daemons in reverse start order, then any pid file left; only processes in our cgroup.
kill_daemons() {
    local d pid
    for d in $(daemons | tac); do
        if pid="$(daemon_pid "$d")"; then kill -9 "$pid" 2>/dev/null || true; fi
        rm -f "$PIDS/$d.pid"
    done
    for d in "$PIDS"/*.pid; do
        [[ -f "$d" ]] || continue
        if pid="$(daemon_pid "$(basename "$d" .pid)")"; then kill -9 "$pid" 2>/dev/null || true; fi
        rm -f "$d"
    done
}

remove_cgroups() {
    local h d
    for h in $(cgroup_hierarchies); do
        [[ -d "$h/$CGROUP_ROOT" ]] || continue
        # deepest first
        find "$h/$CGROUP_ROOT" -depth -type d 2>/dev/null | while read -r d; do
            rmdir "$d" 2>/dev/null || true
        done
    done
}

our_mounts() {
    findmnt -rn -o TARGET 2>/dev/null | while read -r m; do
        m="$(printf '%b' "$m")"
        case "$m" in
            "$RUN_DIR"/*|"$RUN_DIR"|"$SOCK_DIR"/*|"$SOCK_DIR"|/run/netns/"$NS_NODE"|/run/netns/"$NS_NODE2"|/run/netns/"$NS_EXT") echo "$m" ;;
        esac
    done
}

unmount_all() {
    local m
    for _ in 1 2 3; do
        local left=0
        while read -r m; do
            [[ -z "$m" ]] && continue
            left=1
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        done < <(our_mounts | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-)
        ((left)) || return 0
    done
    [[ -z "$(our_mounts)" ]] || log "warning: mounts left: $(our_mounts | tr '\n' ' ')"
}

# Host paths that the kubelet, containerd and the CNI library create outside our dirs.
HOST_SIDE_DIRS=(/var/lib/kubelet /var/lib/cni /run/containerd)

record_host_dirs() {
    local d
    : > "$RUN_DIR/host-dirs-made"
    for d in "${HOST_SIDE_DIRS[@]}"; do
        [[ -e "$d" ]] || echo "$d" >> "$RUN_DIR/host-dirs-made"
    done
}

remove_host_side_files() {
    rm -f /var/lib/cni/results/"$CNI_NETWORK"-* /var/lib/cni/results/cni-loopback-* 2>/dev/null || true
    rm -f /var/lib/kubelet/device-plugins/kubelet.sock 2>/dev/null || true
    # Shim sockets: only when no other containerd uses /run/containerd.
    [[ -S /run/containerd/containerd.sock ]] || rm -rf /run/containerd/s 2>/dev/null || true
    local d
    if [[ -f "$RUN_DIR/host-dirs-made" ]]; then
        while read -r d; do
            [[ -n "$d" && -d "$d" ]] || continue
            find "$d" -depth -type d -empty -delete 2>/dev/null || true
        done < "$RUN_DIR/host-dirs-made"
    fi
}

remove_network() {
    ip link del "$VETH_HOST" 2>/dev/null || true
    local ns
    for ns in "$NS_NODE" "$NS_NODE2" "$NS_EXT"; do
        if [[ -e "/run/netns/$ns" ]]; then
            ip netns del "$ns" 2>/dev/null || { umount "/run/netns/$ns" 2>/dev/null; rm -f "/run/netns/$ns"; }
        fi
    done
}

# discard DIR...: delete directories of the cache: moved aside at once, then deleted in the
# background. containerd's root holds ~0.5 GB of unpacked images, and deleting that took 13 s
# on a disk mounted with `discard`; nothing running uses these files any more.
discard() {
    local trash d
    trash="$LC_CACHE/trash.$(now_ms)"
    mkdir -p "$trash"
    for d in "$@"; do
        if [[ -e "$d" ]]; then mv "$d" "$trash/$(basename "$d")" 2>/dev/null || rm -rf "$d"; fi
    done
    # also what an earlier interrupted deletion left
    (setsid nice rm -rf --one-file-system "$LC_CACHE"/trash.* </dev/null >/dev/null 2>&1 &)
}

cmd_down() {
    require_root
    local t0 t phases=""
    t0=$(now_ms) t=$t0
    # timed STEP: run STEP, note its time for the summary line
    timed() { "$@"; phases+=" ${1#remove_} $(( $(now_ms) - t ))"; t=$(now_ms); }
    local was_up=0
    [[ -e "/run/netns/$NS_NODE" || -e "/run/netns/$NS_NODE2" || -d "/sys/fs/cgroup/pids/$CGROUP_ROOT" ]] && was_up=1
    # Without the node namespace, the API server's address would be looked up on the host's
    # default route: the kubeconfigs go first, so that no client sends anything there.
    rm -f "$ADMIN_KUBECONFIG" "$CONF"/*.kubeconfig
    timed kill_daemons
    timed kill_cgroup_tree
    timed unmount_all
    timed remove_network
    timed remove_cgroups
    timed remove_host_side_files
    # Bulky runtime state; keep logs, PKI and configs for post-mortems.
    rm -rf "$SOCK_DIR" 2>/dev/null || true
    discard "$CTR_ROOT" "$KUBELET_DIR" "$RUN_DIR/etcd" "$RUN_DIR/pod-logs" \
        "$RUN_DIR/cni-ipam" "$RUN_DIR/cni-cache" "$RUN_DIR/containerd-opt" "$NODE2_DIR"
    phases+=" state $(( $(now_ms) - t ))"
    if [[ -f "$STATE_FILE" ]]; then
        state_set UP 0
        state_set FAULT ""  # its keeper went with the daemons, its rules with the namespace
        state_set STOPPED_ON ""
    fi
    if ((was_up)); then
        log "down in $(( $(now_ms) - t0 )) ms (ms per step:$phases)"
    else
        log "down: nothing was running"
    fi
}

# ---------------------------------------------------------------- status / info / logs

healthy() {
    [[ -f "$STATE_FILE" ]] || { echo "not running (never started: run 'scripts/local-cluster up')"; return 1; }
    [[ "$(state_get UP)" == 1 ]] || { echo "not running (run 'scripts/local-cluster up')"; return 1; }
    # Nothing below may be sent to the node's address unless its namespace holds it.
    node_netns_up || { echo "the node's network namespace $NS_NODE is gone (run 'scripts/local-cluster down' and 'up')"; return 1; }
    local d fault k
    if (( $(node_count) > 1 )); then
        node2_netns_up || { echo "node 2's network namespace $NS_NODE2 is gone (run 'scripts/local-cluster down' and 'up')"; return 1; }
    fi
    fault="$(state_get FAULT)"
    for d in $(daemons_of_cni "$(current_cni)"); do
        # `fault stale-rules` and `cni stop --node K` stopped the CNI's agent on purpose.
        [[ "$fault" == stale-rules && "$(daemon_group "$d")" == agent ]] && continue
        [[ "$(daemon_group "$d")" == agent && " $(state_get STOPPED_ON) " == *" $(node_name "$(daemon_node "$d")") "* ]] && continue
        daemon_alive "$d" || { echo "$d is not running"; return 1; }
    done
    if [[ -n "$fault" && "$fault" != stale-rules ]] && ! daemon_alive fault-keeper; then
        echo "fault-keeper is not running, so the fault '$fault' is not held in force (run 'scripts/local-cluster fault clear')"
        return 1
    fi
    api_ready || { echo "API server not ready"; return 1; }
    for k in $(nodes); do
        node_ready "$k" || { echo "node $(node_name "$k") not Ready"; return 1; }
    done
    if (( $(node_count) > 1 )) && ! pods_routed; then
        echo "the nodes do not route each other's pod CIDR ($NODE_POD_CIDR, $NODE2_POD_CIDR)"; return 1
    fi
    dns_answers || { echo "CoreDNS does not answer"; return 1; }
    external_answers || { echo "external host does not answer"; return 1; }
    return 0
}

# node_netns_up: the node's namespace exists and holds the node's address.
node_netns_up() {
    mountpoint -q "/run/netns/$NS_NODE" 2>/dev/null || return 1
    local addrs
    addrs="$(in_node ip -4 -o addr show dev "$VETH_NODE" 2>/dev/null)" || return 1
    [[ "$addrs" == *" $NODE_IP/"* ]]
}

node2_netns_up() {
    mountpoint -q "/run/netns/$NS_NODE2" 2>/dev/null || return 1
    [[ "$(in_node2 ip -4 -o addr show dev "$VETH_LAN2" 2>/dev/null)" == *" $LAN_IP2/"* ]]
}

# After a reboot (or anything that removed the node namespace without `down`), the admin
# kubeconfig would point at an address that no namespace of ours holds: drop it.
forget_stale_kubeconfig() {
    if [[ -f "$ADMIN_KUBECONFIG" ]] && ! mountpoint -q "/run/netns/$NS_NODE" 2>/dev/null; then
        rm -f "$ADMIN_KUBECONFIG"
    fi
}

cmd_status() {
    [[ $# -eq 0 ]] || die "status takes no arguments"
    forget_stale_kubeconfig
    local why
    if why="$(healthy)"; then
        local fault stopped; fault="$(state_get FAULT)" stopped="$(state_get STOPPED_ON)"
        local names; names="$(for k in $(nodes); do node_name "$k"; done | paste -sd, -)"
        echo "local-cluster: up (cni=$(current_cni), icmp-ratelimit=$(state_get ICMP_RATELIMIT),${fault:+ fault=$fault,}${stopped:+ stopped-on=${stopped// /,},} nodes=$names Ready, api=https://$NODE_IP:$API_PORT, kubeconfig=$ADMIN_KUBECONFIG)"
        return 0
    fi
    echo "local-cluster: not healthy${why:+: $why}"
    return 1
}

cmd_kubeconfig() {
    [[ $# -eq 0 ]] || die "kubeconfig takes no arguments"
    forget_stale_kubeconfig
    echo "$ADMIN_KUBECONFIG"
}

# The release of the CNI in force: the pinned one we build, or the Debian package's version.
cni_version() {
    case "$1" in
        kube-router) echo "$KUBE_ROUTER_VERSION" ;;
        flannel) echo "$FLANNEL_VERSION" ;;
        bridge) dpkg-query -W -f='${Version}' containernetworking-plugins 2>/dev/null || true ;;
    esac
}

cmd_info() {
    [[ $# -eq 0 ]] || die "info takes no arguments"
    forget_stale_kubeconfig
    local cni
    cni="$(current_cni)"
    local names; names="$(for k in $(nodes); do node_name "$k"; done | paste -sd' ' -)"
    python3 "$LC_DIR/info.py" kubeconfig="$ADMIN_KUBECONFIG" cni="${cni:-none}" node="$NODE_NAME" nodes="$names" \
        external_ip="$EXT_IP" external_ports="${EXT_PORTS[*]}" probe_image="$PROBE_IMAGE" \
        pod_cidr="$POD_CIDR" service_cidr="$SERVICE_CIDR" dns_service_ip="$DNS_SERVICE_IP" \
        icmp_ratelimit="$(state_get ICMP_RATELIMIT)" icmp_ratelimit_ms="$(state_get ICMP_RATELIMIT_MS)" \
        switched_off="$(state_get SWITCHED_OFF)" cni_version="$(cni_version "$cni")" \
        stopped_on="$(state_get STOPPED_ON)" \
        fault="$(state_get FAULT)"
}

# logs [NAME]: the daemons with their state and log file, or NAME's log.
cmd_logs() {
    if [[ $# -eq 1 ]]; then
        [[ -n "$(daemon_group "$1")" ]] || die "no daemon '$1'; one of: $(daemons | paste -sd' ')"
        [[ -f "$LOGS/$1.log" ]] || die "no log for $1 yet ($LOGS/$1.log)"
        cat "$LOGS/$1.log"
        return
    fi
    [[ $# -eq 0 ]] || die "usage: logs [DAEMON]"
    local d state
    for d in $(daemons); do
        if daemon_alive "$d"; then state=running; elif [[ -f "$LOGS/$d.log" ]]; then state=stopped; else continue; fi
        printf '%-24s %-8s %s\n' "$d" "$state" "$LOGS/$d.log"
    done
}

# ---------------------------------------------------------------- up

usage_up() { echo "up [--cni $(local_cnis | paste -sd'|')] [--nodes 1|2] [--icmp-ratelimit off|default]"; }

cmd_up() {
    require_root
    CNI=kube-router
    local icmp=off nodes=1
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --nodes) [[ $# -ge 2 ]] || die "--nodes needs a value: 1 or 2"; nodes="$2"; shift 2 ;;
            --nodes=*) nodes="${1#--nodes=}"; shift ;;
            --cni) [[ $# -ge 2 ]] || die "--cni needs a value: $(cni_choices)"; CNI="$2"; shift 2 ;;
            --cni=*) CNI="${1#--cni=}"; shift ;;
            --icmp-ratelimit) [[ $# -ge 2 ]] || die "--icmp-ratelimit needs a value: off or default"; icmp="$2"; shift 2 ;;
            --icmp-ratelimit=*) icmp="${1#--icmp-ratelimit=}"; shift ;;
            *) die "unknown option '$1' for up; usage: $(usage_up)" ;;
        esac
    done
    cni_known "$CNI" || die "unknown --cni '$CNI': use $(cni_choices)"
    [[ "$icmp" == off || "$icmp" == default ]] || die "unknown --icmp-ratelimit '$icmp': use off (no ICMP rate limit in the node) or default (the kernel's)"
    [[ "$nodes" =~ ^[1-9]$ ]] && (( nodes <= MAX_NODES )) || die "unknown --nodes '$nodes': use 1 or 2"
    check_prereqs
    if [[ "$(current_cni)" == "$CNI" && "$(node_count)" == "$nodes" ]] && healthy >/dev/null; then
        # `up` promises the cluster as asked: a fault or a node's stopped enforcer left from
        # earlier is undone, not reported as "nothing to do".
        local undone=0 name k
        if [[ -n "$(state_get FAULT)" ]]; then
            fault_clear; undone=1
        fi
        for name in $(state_get STOPPED_ON); do
            for k in $(nodes); do
                [[ "$(node_name "$k")" == "$name" ]] && cni_one_node start "$k"
            done
            undone=1
        done
        if [[ "$(state_get ICMP_RATELIMIT)" != "$icmp" ]]; then
            set_icmp_ratelimit "$icmp"
            log "already up with --cni $CNI; ICMP rate limit now $icmp ($(state_get ICMP_RATELIMIT_MS) ms)"
        elif ((undone)); then
            log "already up with --cni $CNI --nodes $nodes --icmp-ratelimit $icmp, as asked again"
        else
            log "already up with --cni $CNI --nodes $nodes --icmp-ratelimit $icmp (nothing to do)"
        fi
        return 0
    fi
    local t0; t0=$(now_ms)
    elapsed() { printf '%d.%ds' $(( ($(now_ms) - t0) / 1000 )) $(( ($(now_ms) - t0) % 1000 / 100 )); }

    cmd_down >/dev/null 2>&1 || true
    # A failed start-up must not leave half a cluster behind; its logs are kept.
    trap 'rc=$?; if ((rc != 0)); then log "up failed; stopping what was started (logs kept in $LOGS)"; cmd_down >/dev/null 2>&1 || true; fi' EXIT
    discard "$RUN_DIR"
    mkdir -p "$RUN_DIR" "$LOGS" "$PIDS" "$SOCK_DIR" "$CTR_ROOT" "$CTR_STATE"
    state_set CNI "$CNI"
    state_set NODES "$nodes"
    state_set UP 0
    record_host_dirs
    log "up --cni $CNI --nodes $nodes --icmp-ratelimit $icmp: certificates and configs"
    make_pki
    write_configs
    if ((nodes > 1)); then
        log "network namespaces $NS_NODE ($NODE_IP, $LAN_IP1), $NS_NODE2 ($LAN_IP2) and $NS_EXT ($EXT_IP) [$(elapsed)]"
    else
        log "network namespaces $NS_NODE ($NODE_IP) and $NS_EXT ($EXT_IP) [$(elapsed)]"
    fi
    make_network
    set_icmp_ratelimit "$icmp"
    make_cgroups

    log "starting $(daemons base | paste -sd' ') [$(elapsed)]"
    start_group base
    local k
    for k in $(nodes); do
        wait_step 20 "$(on_node containerd "$k")" "$(on_node containerd "$k")'s socket" test -S "$(node_ctr_sock "$k")"
        wait_step 20 "$(on_node containerd "$k")" "$(on_node containerd "$k")" ctr --address "$(node_ctr_sock "$k")" version
    done
    log "starting $(daemons api | paste -sd' '); importing images into containerd [$(elapsed)]"
    start_group api
    import_images
    wait_step 60 kube-apiserver "kube-apiserver /readyz" api_ready
    log "API server ready [$(elapsed)]; starting $(daemons control | paste -sd' ')"
    start_group control
    apply_addons
    wait_step 60 kubelet "node $NODE_NAME to register" node_registered
    if ((nodes > 1)); then
        # Node 2 registers once node 1 has its pod CIDR, so that each gets the one its CNI
        # configuration names (the controller manager hands them out in order).
        wait_step 30 kube-controller-manager "node $NODE_NAME's pod CIDR $NODE_POD_CIDR" node_pod_cidr_set 1
        log "node $NODE_NAME registered [$(elapsed)]; starting $(daemons node2 | paste -sd' ')"
        start_group node2
        wait_step 60 kubelet@2 "node $NODE2_NAME to register" node_registered 2
        wait_step 30 kube-controller-manager "node $NODE2_NAME's pod CIDR $NODE2_POD_CIDR" node_pod_cidr_set 2
    fi
    local agent; agent="$(cni_agent "$CNI")"
    if [[ -n "$agent" ]]; then
        log "nodes registered [$(elapsed)]; starting $agent"
        for k in $(nodes); do prepare_and_start "$(on_node "$agent" "$k")"; done
        for k in $(nodes); do agent_wait_ready "$(on_node "$agent" "$k")"; done
    fi
    if ((nodes > 1)); then
        route_pods "$CNI"
        log "pod CIDRs routed between the nodes [$(elapsed)]"
    fi
    log "waiting for node Ready [$(elapsed)]"
    for k in $(nodes); do
        wait_step 90 "$(on_node kubelet "$k")" "node $(node_name "$k") Ready" node_ready "$k"
    done
    log "nodes Ready [$(elapsed)]; waiting for CoreDNS to answer"
    if ! wait_for 90 "CoreDNS" dns_answers; then
        kc -n kube-system get pods -o wide >&2 || true
        die "timed out waiting for CoreDNS at $DNS_SERVICE_IP to answer kubernetes.default.svc.$CLUSTER_DOMAIN (see 'kubectl -n kube-system describe pod -l k8s-app=kube-dns' and $LOGS/kubelet.log)"
    fi
    wait_step 20 external-server "the external test host on ports ${EXT_PORTS[*]}" external_answers
    local d
    for d in $(daemons_of_cni "$CNI"); do need_alive "$d"; done
    state_set UP 1
    trap - EXIT
    log "up in $(elapsed): cni=$CNI icmp-ratelimit=$icmp nodes=$nodes kubeconfig=$ADMIN_KUBECONFIG"
}
