# `cni restart` and `cni switch` (sourced by scripts/local-cluster): stop, start or replace the
# CNI's node process in place. The cluster, its pods and their addresses stay; only the policy
# controller changes. Each moment is printed on stdout as "AGENT EVENT UTC-TIME", e.g.
#   kube-router stopped 2026-11-25T20:41:03.123Z

CNI_NONE=bridge   # the CNI table's name for "pods on the bridge, no policy controller"

event() { printf '%s %s %s\n' "$(event_agent "$1")" "$2" "$(utc_now)"; }

# event_agent DAEMON: the agent's name in events: on two nodes AGENT/NODE (kube-router/netpol-node2).
event_agent() {
    if (( $(node_count) > 1 )); then echo "${1%@2}/$(node_name "$(daemon_node "$1")")"; else echo "$1"; fi
}

# The cluster runs (every daemon but the CNI agent, and the API server answers).
require_running() {
    [[ "$(state_get UP)" == 1 ]] || die "the local cluster is not up: run 'scripts/local-cluster up' first"
    node_netns_up || die "the node's network namespace $NS_NODE is gone: run 'scripts/local-cluster down' and 'up'"
    if (( $(node_count) > 1 )); then
        node2_netns_up || die "node 2's network namespace $NS_NODE2 is gone: run 'scripts/local-cluster down' and 'up'"
    fi
    local d
    for d in $(daemons_of_cni "$CNI_NONE"); do
        daemon_alive "$d" || die "the local cluster is not healthy ($d is not running): run 'scripts/local-cluster up'"
    done
    api_ready || die "the local cluster's API server does not answer: run 'scripts/local-cluster status'"
}

# No `cni` operation under a fault: it would undo the fault, or the fault would hide it.
require_no_fault() {
    local fault; fault="$(state_get FAULT)"
    [[ -z "$fault" ]] || die "the fault '$fault' is in force: run 'scripts/local-cluster fault clear' first"
}

stop_agent_events() { # AGENT
    event "$1" stopping
    stop "$1"
    event "$1" stopped
}

start_agent_events() { # AGENT
    agent_prepare "$1"
    start "$1"
    event "$1" started
    agent_wait_ready "$1"
    need_alive "$1"
    event "$1" ready
}

# ---------------------------------------------------------------- kube-router's rules

# What kube-router's own clean-up (NetworkPolicyController.Cleanup, run by `kube-router
# --cleanup-config`) removes: its chains KUBE-ROUTER-INPUT/FORWARD/OUTPUT, the KUBE-NWPLCY-*
# policy chains (KUBE-NWPLCY-DEFAULT too), the KUBE-POD-FW-* pod firewall chains and every rule
# that mentions them, then its KUBE-SRC-* and KUBE-DST-* ipsets. In v2.1.0 `--cleanup-config`
# leaves all of that in place (its clean-up runs without iptables handlers; fixed upstream in
# v2.1.1), so it is done here: one iptables-restore transaction that deletes exactly those
# rules and chains and leaves every other rule (kube-proxy's) alone.
KUBE_ROUTER_CHAINS='KUBE-ROUTER-(INPUT|FORWARD|OUTPUT)|KUBE-NWPLCY-|KUBE-POD-FW-'
KUBE_ROUTER_IPSETS='^KUBE-(SRC|DST)-'

# kube_router_cleanup_script: iptables-save of the filter table in, an `iptables-restore
# --noflush` script out (nothing when kube-router left nothing): delete the rules of other
# chains that mention its chains, then flush and delete its chains.
kube_router_cleanup_script() {
    awk -v re="$KUBE_ROUTER_CHAINS" '
        /^:/ { c = substr($1, 2); if (c ~ "^(" re ")") ours[++n] = c; next }
        /^-A / {
            if ($2 ~ "^(" re ")") next
            if ($0 ~ re) { sub(/^-A /, "-D "); del[++d] = $0 }
        }
        END {
            if (n + d == 0) exit
            print "*filter"
            for (i = 1; i <= d; i++) print del[i]
            for (i = 1; i <= n; i++) print ":" ours[i] " - [0:0]"
            for (i = 1; i <= n; i++) print "-X " ours[i]
            print "COMMIT"
        }'
}

# remove_kube_router_rules [K]: node K's (default 1); prints the "rules-removed" event of the
# node's kube-router as soon as its rules are gone.
remove_kube_router_rules() {
    local k="${1:-1}" ipt saved set scripts=() where
    where="$(node_name "$k")"
    for ipt in iptables ip6tables; do
        if ! saved="$(in_node_k "$k" "$ipt-save" -t filter 2>/dev/null)"; then
            [[ "$ipt" == ip6tables ]] && continue
            die "iptables-save failed in $where's namespace"
        fi
        kube_router_cleanup_script <<<"$saved" > "$RUN_DIR/kube-router-cleanup.$k.$ipt"
        [[ -s "$RUN_DIR/kube-router-cleanup.$k.$ipt" ]] && scripts+=("$ipt")
    done
    for ipt in "${scripts[@]}"; do
        in_node_k "$k" "$ipt-restore" -w 5 --noflush < "$RUN_DIR/kube-router-cleanup.$k.$ipt" \
            || die "removing kube-router's $ipt rules on $where failed (script: $RUN_DIR/kube-router-cleanup.$k.$ipt)"
    done
    event "$(on_node kube-router "$k")" rules-removed
    for ipt in iptables ip6tables; do
        if ! saved="$(in_node_k "$k" "$ipt-save" -t filter 2>/dev/null)"; then
            [[ "$ipt" == ip6tables ]] && continue
            die "iptables-save failed in $where's namespace"
        fi
        if grep -qE -- "$KUBE_ROUTER_CHAINS" <<<"$saved"; then
            die "kube-router's chains are still in $where's $ipt filter table"
        fi
    done
    for set in $(in_node_k "$k" ipset list -n | grep -E -- "$KUBE_ROUTER_IPSETS" || true); do
        in_node_k "$k" ipset destroy "$set" || die "could not destroy kube-router's ipset $set on $where"
    done
}

# ---------------------------------------------------------------- commands

cni_usage() { echo "usage: cni restart | cni switch none|kube-router | cni stop|start --node 1|2"; }

cmd_cni() {
    require_root
    require_no_fault
    local op="${1:-}"
    [[ $# -gt 0 ]] && shift
    case "$op" in
        restart|switch)
            local stopped; stopped="$(state_get STOPPED_ON)"
            [[ -z "$stopped" ]] || die "kube-router is stopped on $stopped: run 'scripts/local-cluster cni start --node N' for it first"
            if [[ "$op" == restart ]]; then
                [[ $# -eq 0 ]] || die "$(cni_usage)"; cni_restart
            else
                [[ $# -eq 1 ]] || die "$(cni_usage)"; cni_switch "$1"
            fi ;;
        stop|start)
            [[ $# -eq 2 && "$1" == --node ]] || die "$(cni_usage)"
            cni_one_node "$op" "$2" ;;
        *) die "$(cni_usage)" ;;
    esac
}

# cni_restart: stop the CNI's node process and start it again, node by node (a rolling restart:
# node 2's agent stops only once node 1's is ready again).
cni_restart() {
    require_running
    local cni agent t0 k
    cni="$(current_cni)" agent="$(cni_agent "$(current_cni)")"
    [[ -n "$agent" ]] || die "--cni $cni runs no node process: nothing to restart"
    t0=$(now_ms)
    for k in $(nodes); do
        stop_agent_events "$(on_node "$agent" "$k")"
        start_agent_events "$(on_node "$agent" "$k")"
    done
    log "cni restart: $agent stopped and ready again on $(node_count) node(s) in $(( $(now_ms) - t0 )) ms"
}

# cni_one_node stop|start K: the enforcer of one node switched off (its rules removed) or on
# again; the other node's goes on enforcing. The pod routes stay (the script's own routes stand
# in for a stopped router).
cni_one_node() {
    local op="$1" k="$2" agent t0 name
    require_running
    [[ "$k" =~ ^[0-9]+$ ]] && (( k >= 1 && k <= $(node_count) )) \
        || die "cni $op --node: no node '$k' on this cluster of $(node_count) node(s)"
    [[ "$(current_cni)" == kube-router ]] \
        || die "cni $op --node switches kube-router on one node; this cluster runs --cni $(current_cni)"
    agent="$(on_node kube-router "$k")" name="$(node_name "$k")"
    t0=$(now_ms)
    if [[ "$op" == stop ]]; then
        if ! daemon_alive "$agent"; then
            log "cni stop: kube-router is not running on $name (nothing to do)"
            return 0
        fi
        route_pods_statically "$FALLBACK_METRIC"
        stop_agent_events "$agent"
        remove_kube_router_rules "$k"
        state_set STOPPED_ON "$(echo "$(state_get STOPPED_ON) $name" | xargs -n1 | sort -u | xargs)"
    else
        if daemon_alive "$agent"; then
            log "cni start: kube-router already runs on $name (nothing to do)"
            return 0
        fi
        start_agent_events "$agent"
        state_set STOPPED_ON "$(state_get STOPPED_ON | xargs -n1 | grep -vx "$name" | xargs)"
    fi
    log "cni $op: kube-router on $name $( [[ $op == stop ]] && echo stopped, its rules removed || echo ready) in $(( $(now_ms) - t0 )) ms"
}

# cni_switch none|kube-router: turn the policy controller off (removing its rules) or on.
cni_switch() {
    local target="$1" cni t0
    [[ "$target" == none ]] && target="$CNI_NONE"
    [[ "$target" == "$CNI_NONE" || "$target" == kube-router ]] \
        || die "cni switch: unknown target '$1'; $(cni_usage)"
    require_running
    cni="$(current_cni)"
    if [[ "$cni" == "$target" ]]; then
        log "cni switch: the cluster already runs --cni $cni (nothing to do)"
        return 0
    fi
    [[ "$cni" == "$CNI_NONE" || "$cni" == kube-router ]] \
        || die "cni switch works between kube-router and none; this cluster runs --cni $cni: use 'scripts/local-cluster up --cni $target'"
    t0=$(now_ms)
    local k
    if [[ "$target" == "$CNI_NONE" ]]; then
        (( $(node_count) > 1 )) && route_pods_statically "$FALLBACK_METRIC"
        for k in $(nodes); do
            stop_agent_events "$(on_node kube-router "$k")"
            remove_kube_router_rules "$k"
        done
        state_set CNI "$CNI_NONE"
        state_set SWITCHED_OFF kube-router   # `info` says so: the suite may test it switched off
    else
        [[ -x "$BIN/kube-router" ]] || die "missing $BIN/kube-router: run 'scripts/local-cluster build' first"
        state_set CNI kube-router
        state_set SWITCHED_OFF ""
        for k in $(nodes); do start_agent_events "$(on_node kube-router "$k")"; done
    fi
    log "cni switch: now --cni $(current_cni) (took $(( $(now_ms) - t0 )) ms)"
}
