# `up`, `down`, `status`, `kubeconfig`, `info` (sourced by scripts/local-cluster).

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
    local b
    for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl coredns pause; do
        [[ -x "$BIN/$b" ]] || die "missing $BIN/$b: run 'scripts/local-cluster build' first"
    done
    [[ "$CNI" != kube-router || -x "$BIN/kube-router" ]] || die "missing $BIN/kube-router: run 'scripts/local-cluster build' first"
    [[ "$CNI" != flannel || -x "$BIN/flanneld" ]] || die "missing $BIN/flanneld: run 'scripts/local-cluster build' (flanneld needs gcc for cgo; see $LC_CACHE/build-flanneld.log)"
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
    gen_cert kubelet-server "system:node:$NODE_NAME" system:nodes "IP:$NODE_IP,DNS:$NODE_NAME" serverAuth
    gen_cert kube-proxy system:kube-proxy "" "" clientAuth
    gen_cert kube-router system:kube-router "" "" clientAuth
    gen_cert front-proxy-client front-proxy-client "" "" clientAuth
    gen_cert flannel system:netpol-flannel "" "" clientAuth
    openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key" 2>/dev/null
    openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
}

write_kubeconfig() { # FILE USER CERTNAME
    cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: netpol-local
  cluster:
    server: https://$NODE_IP:$API_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$3.crt
    client-key: $PKI/$3.key
contexts:
- name: netpol-local
  context:
    cluster: netpol-local
    user: $2
current-context: netpol-local
EOF
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
    # flanneld (--cni flannel): kube subnet manager over the pod CIDR, host-gw backend, no masquerade.
    cat > "$CONF/flannel-net.json" <<EOF
{"Network": "$POD_CIDR", "EnableIPv4": true, "Backend": {"Type": "host-gw"}}
EOF

    cat > "$CONF/containerd.toml" <<EOF
version = 2
root = "$CTR_ROOT"
state = "$CTR_STATE"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$SOCK_DIR/containerd.ttrpc.sock"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$RUN_DIR/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$SOCK_DIR/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CONF/cni"
    max_conf_num = 1
EOF

    # Pods on a Linux bridge in the node namespace; host-local IPAM over the node's pod CIDR.
    # No masquerade: pods reach the external host with their own addresses.
    cat > "$CONF/cni/10-$CNI_NETWORK.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$RUN_DIR/cni-ipam",
        "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$POD_GW"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF

    cat > "$CONF/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $PKI/ca.crt
authorization:
  mode: Webhook
tlsCertFile: $PKI/kubelet-server.crt
tlsPrivateKeyFile: $PKI/kubelet-server.key
containerRuntimeEndpoint: unix://$CTR_SOCK
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_ROOT
failCgroupV1: false
failSwapOn: false
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: $CLUSTER_DOMAIN
resolvConf: ""
podLogsDir: $RUN_DIR/pod-logs
nodeStatusUpdateFrequency: 4s
nodeStatusReportFrequency: 1m
syncFrequency: 10s
fileCheckFrequency: 5s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 50Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
serializeImagePulls: false
maxPods: 250
protectKernelDefaults: false
EOF

    cat > "$CONF/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: 0.0.0.0
nodePortAddresses: [primary]
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clientConnection:
  kubeconfig: $CONF/kube-proxy.kubeconfig
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  masqueradeAll: false
  syncPeriod: 30s
  minSyncPeriod: 0s
EOF
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
    in_node sysctl -qw net.ipv4.ip_forward=1
    in_node sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 || true
    # kube-router rejects denied connections with ICMP port-unreachable, which the node sends.
    # The kernel's per-peer ICMP rate limit (a burst of 6, then 1/s) would turn all but the
    # first rejects of a parallel probe matrix into silent drops: lift it inside the node.
    in_node sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
    if ! in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1; then
        die "net.bridge.bridge-nf-call-iptables is not available: the kernel needs br_netfilter"
    fi
}

# ---------------------------------------------------------------- processes

make_cgroups() {
    local h
    for h in $(cgroup_hierarchies); do
        mkdir -p "$h/$CGROUP_ROOT"
        if [[ -f "$h/cpuset.cpus" ]]; then
            cat "$h/cpuset.cpus" > "$h/$CGROUP_ROOT/cpuset.cpus"
            cat "$h/cpuset.mems" > "$h/$CGROUP_ROOT/cpuset.mems"
        fi
    done
}

# start_daemon NAME NETNS CMD...: run CMD detached in NETNS, inside our pids cgroup.
start_daemon() {
    local name="$1" ns="$2"; shift 2
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' _ "/sys/fs/cgroup/pids/$CGROUP_ROOT" \
        nsenter --net="/run/netns/$ns" "$@" </dev/null >"$LOGS/$name.log" 2>&1 9>&- &
    local pid=$!
    echo "$pid" > "$PIDS/$name.pid"
    # daemon_alive counts only processes in our cgroup: wait for the child to move itself.
    local _
    for _ in $(seq 1 100); do
        grep -q "pids:/$CGROUP_ROOT" "/proc/$pid/cgroup" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.01
    done
}

daemon_alive() { # NAME
    local pid
    pid="$(cat "$PIDS/$1.pid" 2>/dev/null)" || return 1
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && \
        [[ "$(cat /proc/"$pid"/cgroup 2>/dev/null)" == *"pids:/$CGROUP_ROOT"* ]]
}

need_alive() { # NAME
    daemon_alive "$1" || { tail -n 20 "$LOGS/$1.log" >&2 || true; die "$1 exited during start-up: see $LOGS/$1.log"; }
}

# wait_step SECONDS NAME DESCRIPTION COMMAND...: wait, failing with the daemon's log.
# Fails at once when the daemon NAME has exited.
wait_step() {
    local secs="$1" name="$2" what="$3"; shift 3
    local deadline=$(( $(now_ms) + secs * 1000 ))
    until "$@" >/dev/null 2>&1; do
        if [[ -n "$name" && -f "$PIDS/$name.pid" ]] && ! daemon_alive "$name"; then
            tail -n 20 "$LOGS/$name.log" >&2 || true
            die "$name exited while waiting for $what: see $LOGS/$name.log"
        fi
        if (( $(now_ms) > deadline )); then
            [[ -n "$name" && -f "$LOGS/$name.log" ]] && tail -n 20 "$LOGS/$name.log" >&2
            die "timed out after ${secs}s waiting for $what${name:+ (see $LOGS/$name.log)}"
        fi
        sleep 0.2
    done
}

start_containerd() {
    mkdir -p "$CTR_ROOT" "$CTR_STATE"
    start_daemon containerd "$NS_NODE" containerd --config "$CONF/containerd.toml"
}

import_images() {
    local img
    for img in pause coredns probe; do
        ctr --address "$CTR_SOCK" -n k8s.io images import "$IMAGES/$img.tar" \
            >>"$LOGS/image-import.log" 2>&1 || { tail -n 5 "$LOGS/image-import.log" >&2; die "importing $IMAGES/$img.tar into containerd failed: see $LOGS/image-import.log"; }
    done
}

start_etcd() {
    start_daemon etcd "$NS_NODE" etcd --name npc --data-dir "$RUN_DIR/etcd" \
        --listen-client-urls https://127.0.0.1:2379 --advertise-client-urls https://127.0.0.1:2379 \
        --listen-peer-urls https://127.0.0.1:2380 --initial-advertise-peer-urls https://127.0.0.1:2380 \
        --initial-cluster npc=https://127.0.0.1:2380 --initial-cluster-state new \
        --cert-file "$PKI/etcd-server.crt" --key-file "$PKI/etcd-server.key" \
        --trusted-ca-file "$PKI/ca.crt" --client-cert-auth \
        --peer-cert-file "$PKI/etcd-server.crt" --peer-key-file "$PKI/etcd-server.key" \
        --peer-trusted-ca-file "$PKI/ca.crt" --peer-client-cert-auth \
        --listen-metrics-urls http://127.0.0.1:2381 --unsafe-no-fsync --log-level warn
}

start_apiserver() {
    start_daemon kube-apiserver "$NS_NODE" kube-apiserver \
        --advertise-address "$NODE_IP" --bind-address 0.0.0.0 --secure-port "$API_PORT" \
        --etcd-servers https://127.0.0.1:2379 --etcd-cafile "$PKI/ca.crt" \
        --etcd-certfile "$PKI/etcd-client.crt" --etcd-keyfile "$PKI/etcd-client.key" \
        --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
        --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP \
        --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
        --service-cluster-ip-range "$SERVICE_CIDR" \
        --service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
        --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
        --requestheader-client-ca-file "$PKI/ca.crt" --requestheader-allowed-names front-proxy-client \
        --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
        --requestheader-extra-headers-prefix X-Remote-Extra- \
        --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key" \
        --allow-privileged=true --profiling=false --event-ttl 1h
}

start_controllers() {
    start_daemon kube-controller-manager "$NS_NODE" kube-controller-manager \
        --kubeconfig "$CONF/controller-manager.kubeconfig" \
        --authentication-kubeconfig "$CONF/controller-manager.kubeconfig" \
        --authorization-kubeconfig "$CONF/controller-manager.kubeconfig" \
        --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
        --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
        --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
        --allocate-node-cidrs=true --cluster-cidr "$POD_CIDR" --node-cidr-mask-size 24 \
        --service-cluster-ip-range "$SERVICE_CIDR" --profiling=false
    start_daemon kube-scheduler "$NS_NODE" kube-scheduler \
        --kubeconfig "$CONF/scheduler.kubeconfig" \
        --authentication-kubeconfig "$CONF/scheduler.kubeconfig" \
        --authorization-kubeconfig "$CONF/scheduler.kubeconfig" \
        --bind-address 127.0.0.1 --leader-elect=false --profiling=false
}

start_node_agents() {
    start_daemon kubelet "$NS_NODE" kubelet --config "$CONF/kubelet.yaml" \
        --kubeconfig "$CONF/kubelet.kubeconfig" --hostname-override "$NODE_NAME" \
        --node-ip "$NODE_IP" --root-dir "$KUBELET_DIR" --cert-dir "$KUBELET_DIR/pki"
    start_daemon kube-proxy "$NS_NODE" kube-proxy --config "$CONF/kube-proxy.yaml"
}

start_kube_router() {
    start_daemon kube-router "$NS_NODE" env NODE_NAME="$NODE_NAME" kube-router \
        --kubeconfig "$CONF/kube-router.kubeconfig" --hostname-override "$NODE_NAME" \
        --run-firewall=true --run-router=false --run-service-proxy=false --run-loadbalancer=false \
        --enable-cni=false --metrics-port=0 --health-port 20244
}

start_flannel() {
    mkdir -p "$RUN_DIR/flannel"
    start_daemon flanneld "$NS_NODE" env NODE_NAME="$NODE_NAME" flanneld --kube-subnet-mgr \
        --kubeconfig-file "$CONF/flannel.kubeconfig" --iface "$VETH_NODE" --ip-masq=false \
        --net-config-path "$CONF/flannel-net.json" --subnet-file "$RUN_DIR/flannel/subnet.env"
}

flannel_subnet_ok() {
    grep -qx "FLANNEL_SUBNET=$POD_GW/${NODE_POD_CIDR#*/}" "$RUN_DIR/flannel/subnet.env"
}

start_external() {
    start_daemon external-server "$NS_EXT" python3 "$LC_DIR/external_server.py" "${EXT_PORTS[@]}"
}

api_ready() { curl -sf --max-time 2 --cacert "$PKI/ca.crt" "https://$NODE_IP:$API_PORT/readyz" >/dev/null; }
node_registered() { kc get node "$NODE_NAME" -o name >/dev/null 2>&1; }
node_pod_cidr_set() { [[ "$(kc get node "$NODE_NAME" -o jsonpath='{.spec.podCIDR}' 2>/dev/null)" == "$NODE_POD_CIDR" ]]; }
node_ready() {
    [[ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
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
    sed -e "s|@DNS_SERVICE_IP@|$DNS_SERVICE_IP|g" -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|g" \
        -e "s|@CLUSTER_DOMAIN@|$CLUSTER_DOMAIN|g" "$LC_DIR/manifests/addons.yaml" > "$CONF/addons.yaml"
    kc apply -f "$CONF/addons.yaml" >"$LOGS/addons.log" 2>&1 || {
        cat "$LOGS/addons.log" >&2; die "applying cluster add-ons (RBAC, CoreDNS) failed: see $LOGS/addons.log"; }
}

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

kill_pidfiles() {
    local f pid
    for f in "$PIDS"/*.pid; do
        [[ -f "$f" ]] || continue
        pid="$(cat "$f")"
        if [[ -n "$pid" ]] && [[ "$(cat /proc/"$pid"/cgroup 2>/dev/null)" == *"pids:/$CGROUP_ROOT"* ]]; then
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$f"
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
            "$RUN_DIR"/*|"$RUN_DIR"|"$SOCK_DIR"/*|"$SOCK_DIR"|/run/netns/"$NS_NODE"|/run/netns/"$NS_EXT") echo "$m" ;;
        esac
    done
}

unmount_all() {
    local m i
    for i in 1 2 3; do
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
    for ns in "$NS_NODE" "$NS_EXT"; do
        if [[ -e "/run/netns/$ns" ]]; then
            ip netns del "$ns" 2>/dev/null || { umount "/run/netns/$ns" 2>/dev/null; rm -f "/run/netns/$ns"; }
        fi
    done
}

cmd_down() {
    require_root
    local t0; t0=$(now_ms)
    local was_up=0
    [[ -e "/run/netns/$NS_NODE" || -d "/sys/fs/cgroup/pids/$CGROUP_ROOT" ]] && was_up=1
    # Without the node namespace, the API server's address would be looked up on the host's
    # default route: the kubeconfigs go first, so that no client sends anything there.
    rm -f "$ADMIN_KUBECONFIG" "$CONF"/*.kubeconfig
    kill_pidfiles
    kill_cgroup_tree
    unmount_all
    remove_network
    remove_cgroups
    remove_host_side_files
    # Bulky runtime state; keep logs, PKI and configs for post-mortems.
    rm -rf "$SOCK_DIR" "$CTR_ROOT" "$KUBELET_DIR" "$RUN_DIR/etcd" "$RUN_DIR/pod-logs" \
        "$RUN_DIR/cni-ipam" "$RUN_DIR/cni-cache" "$RUN_DIR/containerd-opt" 2>/dev/null || true
    [[ -f "$STATE_FILE" ]] && sed -i 's/^UP=.*/UP=0/' "$STATE_FILE"
    if ((was_up)); then
        log "down in $(( $(now_ms) - t0 )) ms"
    else
        log "down: nothing was running"
    fi
}

# ---------------------------------------------------------------- status / info

healthy() {
    [[ -f "$STATE_FILE" ]] || { echo "not running (never started: run 'scripts/local-cluster up')"; return 1; }
    local UP CNI_STATE
    UP="$(sed -n 's/^UP=//p' "$STATE_FILE")"; CNI_STATE="$(sed -n 's/^CNI=//p' "$STATE_FILE")"
    [[ "$UP" == 1 ]] || { echo "not running (run 'scripts/local-cluster up')"; return 1; }
    local d
    for d in containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy external-server; do
        daemon_alive "$d" || { echo "$d is not running"; return 1; }
    done
    if [[ "$CNI_STATE" == kube-router ]]; then daemon_alive kube-router || { echo "kube-router is not running"; return 1; }; fi
    if [[ "$CNI_STATE" == flannel ]]; then daemon_alive flanneld || { echo "flanneld is not running"; return 1; }; fi
    api_ready || { echo "API server not ready"; return 1; }
    node_ready || { echo "node $NODE_NAME not Ready"; return 1; }
    dns_answers || { echo "CoreDNS does not answer"; return 1; }
    external_answers || { echo "external host does not answer"; return 1; }
    return 0
}

# After a reboot (or anything that removed the node namespace without `down`), the admin
# kubeconfig would point at an address that no namespace of ours holds: drop it.
forget_stale_kubeconfig() {
    if [[ -f "$ADMIN_KUBECONFIG" ]] && ! mountpoint -q "/run/netns/$NS_NODE" 2>/dev/null; then
        rm -f "$ADMIN_KUBECONFIG"
    fi
}

current_cni() { sed -n 's/^CNI=//p' "$STATE_FILE" 2>/dev/null; }

cmd_status() {
    forget_stale_kubeconfig
    local why
    if why="$(healthy)"; then
        echo "local-cluster: up (cni=$(current_cni), node=$NODE_NAME Ready, api=https://$NODE_IP:$API_PORT, kubeconfig=$ADMIN_KUBECONFIG)"
        return 0
    fi
    echo "local-cluster: not healthy${why:+: $why}"
    return 1
}

cmd_kubeconfig() {
    forget_stale_kubeconfig
    echo "$ADMIN_KUBECONFIG"
}

cmd_info() {
    forget_stale_kubeconfig
    local cni; cni="$(current_cni)"
    python3 - "$ADMIN_KUBECONFIG" "${cni:-none}" "$NODE_NAME" "$EXT_IP" "$PROBE_IMAGE" "$POD_CIDR" \
        "$SERVICE_CIDR" "$DNS_SERVICE_IP" "${EXT_PORTS[@]}" <<'EOF'
import json, sys
a = sys.argv[1:]
print(json.dumps({
    "kubeconfig": a[0], "cni": a[1], "node": a[2],
    "external": {"ip": a[3], "ports": [int(p) for p in a[8:]]},
    "images": {"server": a[4], "probe": a[4]},
    "image_pull_policy": "Never",
    "pod_cidr": a[5], "service_cidr": a[6], "dns_service_ip": a[7],
}))
EOF
}

# ---------------------------------------------------------------- up

cmd_up() {
    require_root
    CNI=kube-router
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --cni) CNI="${2:-}"; shift 2 || die "--cni needs a value: kube-router, bridge or flannel" ;;
            --cni=*) CNI="${1#--cni=}"; shift ;;
            *) die "unknown option '$1' for up; usage: up --cni kube-router|bridge|flannel" ;;
        esac
    done
    [[ "$CNI" == kube-router || "$CNI" == bridge || "$CNI" == flannel ]] || die "unknown --cni '$CNI': use kube-router or bridge (or flannel)"
    check_prereqs
    if [[ "$(current_cni)" == "$CNI" ]] && healthy >/dev/null; then
        log "already up with --cni $CNI (nothing to do)"
        return 0
    fi
    local t0; t0=$(now_ms)
    elapsed() { printf '%d.%ds' $(( ($(now_ms) - t0) / 1000 )) $(( ($(now_ms) - t0) % 1000 / 100 )); }

    cmd_down >/dev/null 2>&1 || true
    # A failed start-up must not leave half a cluster behind; its logs are kept.
    trap 'rc=$?; if ((rc != 0)); then log "up failed; stopping what was started (logs kept in $LOGS)"; cmd_down >/dev/null 2>&1 || true; fi' EXIT
    rm -rf "$RUN_DIR"
    mkdir -p "$RUN_DIR" "$LOGS" "$PIDS" "$SOCK_DIR"
    printf 'CNI=%s\nUP=0\n' "$CNI" > "$STATE_FILE"
    record_host_dirs
    log "up --cni $CNI: certificates and configs"
    make_pki
    write_configs
    log "network namespaces $NS_NODE ($NODE_IP) and $NS_EXT ($EXT_IP) [$(elapsed)]"
    make_network
    make_cgroups

    log "starting containerd, etcd, external test host [$(elapsed)]"
    start_containerd
    start_etcd
    start_external
    wait_step 20 containerd "containerd's socket" test -S "$CTR_SOCK"
    wait_step 20 containerd "containerd" ctr --address "$CTR_SOCK" version
    log "starting kube-apiserver; importing images into containerd [$(elapsed)]"
    start_apiserver
    import_images
    wait_step 60 kube-apiserver "kube-apiserver /readyz" api_ready
    log "API server ready [$(elapsed)]; starting controller-manager, scheduler, kubelet, kube-proxy"
    start_controllers
    start_node_agents
    apply_addons
    wait_step 60 kubelet "node $NODE_NAME to register" node_registered
    if [[ "$CNI" == kube-router ]]; then
        log "node registered [$(elapsed)]; starting kube-router (firewall only)"
        start_kube_router
    elif [[ "$CNI" == flannel ]]; then
        wait_step 30 kube-controller-manager "the node's pod CIDR" node_pod_cidr_set
        log "node registered [$(elapsed)]; starting flanneld (kube subnet manager, host-gw)"
        start_flannel
        wait_step 30 flanneld "flanneld's subnet file with $NODE_POD_CIDR" flannel_subnet_ok
    fi
    log "waiting for node Ready [$(elapsed)]"
    wait_step 90 kubelet "node $NODE_NAME Ready" node_ready
    log "node Ready [$(elapsed)]; waiting for CoreDNS to answer"
    if ! wait_for 90 "CoreDNS" dns_answers; then
        kc -n kube-system get pods -o wide >&2 || true
        die "timed out waiting for CoreDNS at $DNS_SERVICE_IP to answer kubernetes.default.svc.$CLUSTER_DOMAIN (see 'kubectl -n kube-system describe pod -l k8s-app=kube-dns' and $LOGS/kubelet.log)"
    fi
    wait_step 20 external-server "the external test host on ports ${EXT_PORTS[*]}" external_answers
    local d
    for d in containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy external-server; do
        need_alive "$d"
    done
    [[ "$CNI" == kube-router ]] && need_alive kube-router
    [[ "$CNI" == flannel ]] && need_alive flanneld
    sed -i 's/^UP=.*/UP=1/' "$STATE_FILE"
    trap - EXIT
    log "up in $(elapsed): cni=$CNI node=$NODE_NAME kubeconfig=$ADMIN_KUBECONFIG"
}
