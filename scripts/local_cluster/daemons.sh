# The cluster's daemons: one table, their command lines, start, stop and liveness
# (sourced by scripts/local-cluster).

# Every daemon, in start order: name, network namespace (node, node2 or ext), start group.
#   base     before the API server;  api  the API server;  control  after it
#   node2    node 2's kubelet and kube-proxy, once node 1 has its pod CIDR (`up --nodes 2`)
#   agent    a CNI's node process: runs only when cnis.txt names it for the current CNI
#   fault    runs only while `fault` says so (fault.sh): never part of a healthy cluster
# A name ending in @2 is node 2's copy of a per-node daemon; it exists only on two nodes.
# `up` starts them group by group, `status` and `up` check that they are alive, `down` stops
# them in reverse order, `logs` lists their logs ($LOGS/NAME.log).
DAEMON_TABLE='
containerd               node   base
containerd@2             node2  base
etcd                     node   base
external-server          ext    base
kube-apiserver           node   api
kube-controller-manager  node   control
kube-scheduler           node   control
kubelet                  node   control
kube-proxy               node   control
kubelet@2                node2  node2
kube-proxy@2             node2  node2
kube-router              node   agent
kube-router@2            node2  agent
flanneld                 node   agent
flanneld@2               node2  agent
fault-keeper             node   fault
'

# daemons [GROUP]: the daemons of GROUP (default: all), in start order; node 2's only on two
# nodes.
daemons() {
    local two=0
    (( $(node_count) > 1 )) && two=1
    awk -v g="${1:-}" -v two="$two" \
        'NF == 3 && (g == "" || $3 == g) && (two || $1 !~ /@2$/) {print $1}' <<<"$DAEMON_TABLE"
}

daemon_group() { awk -v n="$1" 'NF == 3 && $1 == n {print $3}' <<<"$DAEMON_TABLE"; }

daemon_netns() {
    case "$(awk -v n="$1" 'NF == 3 && $1 == n {print $2}' <<<"$DAEMON_TABLE")" in
        node) echo "$NS_NODE" ;;
        node2) echo "$NS_NODE2" ;;
        ext) echo "$NS_EXT" ;;
        *) die "no daemon '$1' in the daemon table" ;;
    esac
}

# daemon_node NAME: the node a daemon runs on (2 for NAME@2, else 1).
daemon_node() { if [[ "$1" == *@2 ]]; then echo 2; else echo 1; fi; }

# on_node NAME K: NAME's copy on node K (kubelet, 2 -> kubelet@2).
on_node() { if [[ "$2" == 1 ]]; then echo "$1"; else echo "$1@$2"; fi; }

# daemons_of_cni CNI: the daemons that run with CNI, in start order.
daemons_of_cni() {
    local agent d group
    agent="$(cni_agent "$1")"
    for d in $(daemons); do
        group="$(daemon_group "$d")"
        [[ "$group" == fault ]] && continue
        if [[ "$group" != agent || "${d%@2}" == "$agent" ]]; then echo "$d"; fi
    done
}

# daemon_command NAME: set DAEMON_CMD to NAME's command line.
daemon_command() {
    local k name
    k="$(daemon_node "$1")"
    name="$(node_name "$k")"
    case "${1%@2}" in
        containerd) DAEMON_CMD=(containerd --config "$(node_conf "$k")/containerd.toml") ;;
        etcd) DAEMON_CMD=(etcd --name npc --data-dir "$RUN_DIR/etcd"
            --listen-client-urls https://127.0.0.1:2379 --advertise-client-urls https://127.0.0.1:2379
            --listen-peer-urls https://127.0.0.1:2380 --initial-advertise-peer-urls https://127.0.0.1:2380
            --initial-cluster npc=https://127.0.0.1:2380 --initial-cluster-state new
            --cert-file "$PKI/etcd-server.crt" --key-file "$PKI/etcd-server.key"
            --trusted-ca-file "$PKI/ca.crt" --client-cert-auth
            --peer-cert-file "$PKI/etcd-server.crt" --peer-key-file "$PKI/etcd-server.key"
            --peer-trusted-ca-file "$PKI/ca.crt" --peer-client-cert-auth
            --listen-metrics-urls http://127.0.0.1:2381 --unsafe-no-fsync --log-level warn) ;;
        external-server) DAEMON_CMD=(python3 "$LC_DIR/external_server.py" "${EXT_PORTS[@]}") ;;
        fault-keeper) DAEMON_CMD=(bash "$LC_DIR/fault_keeper.sh" "${FAULT_ARGS[@]}") ;;
        kube-apiserver) DAEMON_CMD=(kube-apiserver
            --advertise-address "$NODE_IP" --bind-address 0.0.0.0 --secure-port "$API_PORT"
            --etcd-servers https://127.0.0.1:2379 --etcd-cafile "$PKI/ca.crt"
            --etcd-certfile "$PKI/etcd-client.crt" --etcd-keyfile "$PKI/etcd-client.key"
            --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key"
            --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key"
            --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP
            --authorization-mode "Node,RBAC" --enable-admission-plugins NodeRestriction
            --service-cluster-ip-range "$SERVICE_CIDR"
            --service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN"
            --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key"
            --requestheader-client-ca-file "$PKI/ca.crt" --requestheader-allowed-names front-proxy-client
            --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group
            --requestheader-extra-headers-prefix X-Remote-Extra-
            --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key"
            --allow-privileged=true --profiling=false --event-ttl 1h) ;;
        kube-controller-manager) DAEMON_CMD=(kube-controller-manager
            --kubeconfig "$CONF/controller-manager.kubeconfig"
            --authentication-kubeconfig "$CONF/controller-manager.kubeconfig"
            --authorization-kubeconfig "$CONF/controller-manager.kubeconfig"
            --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true
            --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt"
            --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key"
            --allocate-node-cidrs=true --cluster-cidr "$POD_CIDR" --node-cidr-mask-size 24
            --service-cluster-ip-range "$SERVICE_CIDR" --profiling=false) ;;
        kube-scheduler) DAEMON_CMD=(kube-scheduler
            --kubeconfig "$CONF/scheduler.kubeconfig"
            --authentication-kubeconfig "$CONF/scheduler.kubeconfig"
            --authorization-kubeconfig "$CONF/scheduler.kubeconfig"
            --bind-address 127.0.0.1 --leader-elect=false --profiling=false) ;;
        kubelet) DAEMON_CMD=(kubelet --config "$(node_conf "$k")/kubelet.yaml"
            --kubeconfig "$(node_conf "$k")/kubelet.kubeconfig" --hostname-override "$name"
            --node-ip "$(node_ip "$k")" --root-dir "$(node_dir "$k")/kubelet"
            --cert-dir "$(node_dir "$k")/kubelet/pki") ;;
        kube-proxy) DAEMON_CMD=(kube-proxy --config "$(node_conf "$k")/kube-proxy.yaml") ;;
        # The firewall (NetworkPolicy); on two nodes also its router: BGP between the nodes,
        # each node's pod CIDR routed to it, no masquerade and no tunnel (the nodes share a LAN),
        # and graceful restart, so that a restarting node's routes are kept by the other (as
        # k0s and kube-router's own daemonset examples run it).
        # -v 1 logs "sync iptables took" after each full sync, which is how kube_router_synced
        # knows that the policies are in place.
        kube-router)
            local router=(--run-router=false)
            (( $(node_count) > 1 )) && router=(--run-router=true --enable-pod-egress=false
                --enable-overlay=false --enable-ibgp=true --advertise-pod-cidr=true
                --bgp-graceful-restart=true)
            DAEMON_CMD=(env NODE_NAME="$name" kube-router
            --kubeconfig "$CONF/kube-router.kubeconfig" --hostname-override "$name"
            --run-firewall=true "${router[@]}" --run-service-proxy=false --run-loadbalancer=false
            --enable-cni=false --metrics-port=0 --health-port 20244 -v 1) ;;
        # Kube subnet manager, host-gw backend, no masquerade.
        flanneld) DAEMON_CMD=(env NODE_NAME="$name" flanneld --kube-subnet-mgr
            --kubeconfig-file "$CONF/flannel.kubeconfig" --iface "$(node_iface "$k")" --ip-masq=false
            --net-config-path "$CONF/flannel-net.json"
            --subnet-file "$(node_dir "$k")/flannel/subnet.env") ;;
        *) die "no command line for daemon '$1'" ;;
    esac
}

# start NAME: run NAME detached in its network namespace, inside our pids cgroup. Its output is
# appended to $LOGS/NAME.log after a line that marks this start.
start() {
    local name="$1" ns
    ns="$(daemon_netns "$name")"
    daemon_command "$name"
    printf '==== local-cluster: %s started at %s\n' "$name" "$(utc_now)" >>"$LOGS/$name.log"
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' _ "/sys/fs/cgroup/pids/$CGROUP_ROOT" \
        nsenter --net="/run/netns/$ns" "${DAEMON_CMD[@]}" </dev/null >>"$LOGS/$name.log" 2>&1 9>&- &
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

# start_group GROUP: start the daemons of GROUP (not agents) in table order.
start_group() {
    local d
    for d in $(daemons "$1"); do start "$d"; done
}

daemon_pid() { # NAME: its pid when it is alive in our cgroup
    local pid
    pid="$(cat "$PIDS/$1.pid" 2>/dev/null)" || return 1
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    [[ "$(cat /proc/"$pid"/cgroup 2>/dev/null)" == *"pids:/$CGROUP_ROOT"* ]] || return 1
    # a zombie is not alive
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
    echo "$pid"
}

daemon_alive() { daemon_pid "$1" >/dev/null; }

# stop NAME [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 10); forgets its pid file.
stop() {
    local name="$1" secs="${2:-10}" pid deadline
    if pid="$(daemon_pid "$name")"; then
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$(( $(now_ms) + secs * 1000 ))
        while daemon_alive "$name"; do
            if (( $(now_ms) > deadline )); then
                log "$name did not stop within ${secs}s of SIGTERM: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
            fi
            sleep 0.05
        done
    fi
    rm -f "$PIDS/$name.pid"
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
        sleep 0.1
    done
}

# ---------------------------------------------------------------- CNI agents

# kube_router_synced NAME: its log shows a full policy sync since its last start.
kube_router_synced() {
    awk -v started="==== local-cluster: $1 started" \
        'index($0, started) == 1 {n = 0} /sync iptables took/ {n++} END {exit !(n > 0)}' \
        "$LOGS/$1.log"
}

flannel_subnet_ok() { # K
    local cidr; cidr="$(node_pod_cidr "$1")"
    grep -qx "FLANNEL_SUBNET=$(node_pod_gw "$1")/${cidr#*/}" "$(node_dir "$1")/flannel/subnet.env"
}

# agent_prepare NAME: what a CNI's node process needs before it starts.
agent_prepare() {
    local k; k="$(daemon_node "$1")"
    case "${1%@2}" in
        kube-router) ;;
        flanneld)
            wait_step 30 kube-controller-manager "the pod CIDR of $(node_name "$k")" node_pod_cidr_set "$k"
            mkdir -p "$(node_dir "$k")/flannel" ;;
        *) die "no way to start the CNI agent '$1' (cnis.txt names it; teach daemons.sh)" ;;
    esac
}

# agent_wait_ready NAME: wait until a started CNI node process does its job.
agent_wait_ready() {
    local k; k="$(daemon_node "$1")"
    case "${1%@2}" in
        kube-router) wait_step 30 "$1" "$1's first policy sync" kube_router_synced "$1" ;;
        flanneld) wait_step 30 "$1" "$1's subnet file with $(node_pod_cidr "$k")" flannel_subnet_ok "$k" ;;
        *) die "no readiness check for the CNI agent '$1'" ;;
    esac
}

prepare_and_start() { agent_prepare "$1"; start "$1"; }
