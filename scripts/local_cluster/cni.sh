# `cni restart` and `cni switch` (sourced by scripts/local-cluster): stop, start or replace the
# CNI's node process in place. The cluster, its pods and their addresses stay; only the policy
# controller changes. Each moment is printed on stdout as "AGENT EVENT UTC-TIME", e.g.
#   kube-router stopped 2026-11-25T20:41:03.123Z

CNI_NONE=bridge   # the CNI table's name for "pods on the bridge, no policy controller"

event() { printf '%s %s %s\n' "$1" "$2" "$(utc_now)"; }

# The cluster runs (every daemon but the CNI agent, and the API server answers).
require_running() {
    [[ "$(state_get UP)" == 1 ]] || die "the local cluster is not up: run 'scripts/local-cluster up' first"
    node_netns_up || die "the node's network namespace $NS_NODE is gone: run 'scripts/local-cluster down' and 'up'"
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

# remove_kube_router_rules: prints the "rules-removed" event as soon as the rules are gone.
remove_kube_router_rules() {
    local ipt saved set scripts=()
    for ipt in iptables ip6tables; do
        if ! saved="$(in_node "$ipt-save" -t filter 2>/dev/null)"; then
            [[ "$ipt" == ip6tables ]] && continue
            die "iptables-save failed in the node namespace"
        fi
        kube_router_cleanup_script <<<"$saved" > "$RUN_DIR/kube-router-cleanup.$ipt"
        [[ -s "$RUN_DIR/kube-router-cleanup.$ipt" ]] && scripts+=("$ipt")
    done
    for ipt in "${scripts[@]}"; do
        in_node "$ipt-restore" -w 5 --noflush < "$RUN_DIR/kube-router-cleanup.$ipt" \
            || die "removing kube-router's $ipt rules failed (script: $RUN_DIR/kube-router-cleanup.$ipt)"
    done
    event kube-router rules-removed
    for ipt in iptables ip6tables; do
        if ! saved="$(in_node "$ipt-save" -t filter 2>/dev/null)"; then
            [[ "$ipt" == ip6tables ]] && continue
            die "iptables-save failed in the node namespace"
        fi
        if grep -qE -- "$KUBE_ROUTER_CHAINS" <<<"$saved"; then
            die "kube-router's chains are still in the node's $ipt filter table"
        fi
    done
    for set in $(in_node ipset list -n | grep -E -- "$KUBE_ROUTER_IPSETS" || true); do
        in_node ipset destroy "$set" || die "could not destroy kube-router's ipset $set in the node namespace"
    done
}

# ---------------------------------------------------------------- commands

cni_usage() { echo "usage: cni restart | cni switch none|kube-router"; }

cmd_cni() {
    require_root
    require_no_fault
    local op="${1:-}"
    [[ $# -gt 0 ]] && shift
    case "$op" in
        restart) [[ $# -eq 0 ]] || die "$(cni_usage)"; cni_restart ;;
        switch) [[ $# -eq 1 ]] || die "$(cni_usage)"; cni_switch "$1" ;;
        *) die "$(cni_usage)" ;;
    esac
}

# cni_restart: stop the CNI's node process and start it again.
cni_restart() {
    require_running
    local cni agent t0
    cni="$(current_cni)" agent="$(cni_agent "$(current_cni)")"
    [[ -n "$agent" ]] || die "--cni $cni runs no node process: nothing to restart"
    t0=$(now_ms)
    stop_agent_events "$agent"
    start_agent_events "$agent"
    log "cni restart: $agent stopped and ready again in $(( $(now_ms) - t0 )) ms"
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
    if [[ "$target" == "$CNI_NONE" ]]; then
        stop_agent_events kube-router
        remove_kube_router_rules
        state_set CNI "$CNI_NONE"
        state_set SWITCHED_OFF kube-router   # `info` says so: the suite may test it switched off
    else
        [[ -x "$BIN/kube-router" ]] || die "missing $BIN/kube-router: run 'scripts/local-cluster build' first"
        state_set CNI kube-router
        state_set SWITCHED_OFF ""
        start_agent_events kube-router
    fi
    log "cni switch: now --cni $(current_cni) (took $(( $(now_ms) - t0 )) ms)"
}
