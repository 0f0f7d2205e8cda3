# `fault` (sourced by scripts/local-cluster): break the node's real dataplane the way a buggy
# enforcer would, and put it right again. One fault at a time; `down` removes it with the rest.
#
#   flap PERIOD OFF     every PERIOD seconds, all pod traffic accepted for OFF seconds (an
#                       enforcer whose rules vanish while it resyncs)
#   bypass PROTO/PORT   one protocol and port unfiltered, e.g. udp/5432 (a rule that never
#                       made it into the dataplane)
#   dns-any             port 53, UDP and TCP, open to every destination (an enforcer that
#                       treats any port-53 flow as DNS)
#   stale-rules         kube-router stopped, its last rules left in place: nothing made after
#                       that (pods, policies) is enforced
#   clear               remove the fault in force
#
# The first three live in the chain NPC-FAULT, jumped to from the first rule of the node's
# FORWARD chain (every pod flow crosses it: bridged traffic too, through br_netfilter).
# kube-router checks at every sync that the first FORWARD rule carrying the hash of its own jump
# is the first rule, and moves its jump back up when it is not; the fault's jump carries that
# hash in its comment, so kube-router's syncs leave it first, with no moment in which the fault
# is not in force. The daemon fault-keeper (fault_keeper.sh) still checks ten times a second
# that it is first (and logs when it was not), and for `flap` opens and closes the chain on
# time. Each moment is printed on stdout as "fault EVENT UTC-TIME", as `cni` does.

FAULT_CHAIN=NPC-FAULT

fault_usage() {
    echo "usage: fault flap PERIOD OFF | fault bypass tcp|udp/PORT | fault dns-any | fault stale-rules | fault clear | fault"
}

current_fault() { state_get FAULT; }

# A fault needs a cluster that enforces: on a plain bridge nothing could show it.
require_enforcing() {
    require_running
    local cni; cni="$(current_cni)"
    [[ "$cni" == kube-router ]] \
        || die "faults break an enforcer's dataplane; this cluster runs --cni $cni, which enforces nothing: use 'scripts/local-cluster up --cni kube-router'"
    (( $(node_count) == 1 )) \
        || die "faults break one node's dataplane and this cluster has $(node_count) nodes: use 'scripts/local-cluster up --nodes 1', or 'cni stop --node K' for a fault of one node"
}

# ipt ARGS...: iptables in the node, waiting for the lock that kube-router also takes.
ipt() { in_node iptables -w 5 "$@"; }

# fault_comment: the comment of the fault's jump, with the hash of kube-router's own jump.
fault_comment() {
    local hash
    hash="$(ipt -S FORWARD | sed -n 's/.*"kube-router netpol - \([A-Z2-7]*\)".*/\1/p' | head -n 1)"
    [[ -n "$hash" ]] || die "kube-router's jump from FORWARD is missing: is kube-router synced? (see 'scripts/local-cluster logs kube-router')"
    echo "netpol-conformance fault, above kube-router netpol - $hash"
}

# positive_seconds NAME VALUE: VALUE is a number of seconds > 0 (fractions allowed).
positive_seconds() {
    [[ "$2" =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v v="$2" 'BEGIN {exit !(v > 0)}' \
        || die "fault flap: $1 must be a number of seconds > 0, got '$2'; $(fault_usage)"
}

# fault_rules NAME [ARGS]: the rules of NPC-FAULT for a steady fault, one per line.
fault_rules() {
    case "$1" in
        bypass)
            local proto="${2%%/*}" port="${2#*/}"
            [[ "$2" == */* && ( "$proto" == tcp || "$proto" == udp ) ]] \
                || die "fault bypass: PROTO/PORT is tcp/PORT or udp/PORT, got '${2:-}'"
            [[ "$port" =~ ^[0-9]+$ ]] && (( port >= 1 && port <= 65535 )) \
                || die "fault bypass: PORT must be 1-65535, got '$port'"
            echo "-p $proto --dport $port -j ACCEPT" ;;
        dns-any)
            echo "-p udp --dport 53 -j ACCEPT"
            echo "-p tcp --dport 53 -j ACCEPT" ;;
    esac
}

cmd_fault() {
    require_root
    local name="${1:-}"
    [[ $# -gt 0 ]] && shift
    case "$name" in
        "") [[ -n "$(current_fault)" ]] && echo "$(current_fault)" || echo none ;;
        clear) [[ $# -eq 0 ]] || die "$(fault_usage)"; fault_clear ;;
        flap)
            [[ $# -eq 2 ]] || die "$(fault_usage)"
            positive_seconds PERIOD "$1"
            positive_seconds OFF "$2"
            awk -v p="$1" -v o="$2" 'BEGIN {exit !(o < p)}' \
                || die "fault flap: OFF ($2 s) must be shorter than PERIOD ($1 s)"
            fault_set "flap $1 $2" flap "$1" "$2" ;;
        bypass)
            [[ $# -eq 1 ]] || die "$(fault_usage)"
            fault_rules bypass "$1" >/dev/null
            fault_set "bypass $1" steady ;;
        dns-any) [[ $# -eq 0 ]] || die "$(fault_usage)"; fault_set dns-any steady ;;
        stale-rules) [[ $# -eq 0 ]] || die "$(fault_usage)"; fault_stale_rules ;;
        *) die "unknown fault '$name'; $(fault_usage)" ;;
    esac
}

# fault_set DESCRIPTION MODE [PERIOD OFF]: replace the fault in force by a chain fault.
fault_set() {
    local what="$1" mode="$2" rule comment
    shift 2
    require_enforcing
    fault_clear >/dev/null
    comment="$(fault_comment)"
    ipt -N "$FAULT_CHAIN" 2>/dev/null || ipt -F "$FAULT_CHAIN"
    if [[ "$mode" == steady ]]; then
        # shellcheck disable=SC2086 # a rule is words
        while read -r rule; do ipt -A "$FAULT_CHAIN" $rule; done < <(fault_rules $what)
    fi
    ipt -I FORWARD 1 -m comment --comment "$comment" -j "$FAULT_CHAIN"
    state_set FAULT "$what"
    FAULT_ARGS=("$mode" "$FAULT_CHAIN" "$comment" "$@")
    start fault-keeper
    sleep 0.3
    need_alive fault-keeper
    event fault "set:$what"
    log "fault in force: $what (kept first in FORWARD by fault-keeper; 'fault clear' removes it)"
}

fault_stale_rules() {
    require_enforcing
    fault_clear >/dev/null
    stop_agent_events kube-router
    state_set FAULT stale-rules
    event fault set:stale-rules
    log "fault in force: stale-rules (kube-router stopped, its rules left as they were)"
}

# fault_clear: remove whatever fault is in force (nothing to do is fine).
fault_clear() {
    local what; what="$(current_fault)"
    stop fault-keeper 2
    if node_netns_up; then
        local rule
        while rule="$(ipt -S FORWARD | grep -m 1 -- "-j $FAULT_CHAIN\$")"; do
            # shellcheck disable=SC2046 # the rule as iptables printed it, quotes and all
            eval "ipt -D ${rule#-A }" || break
        done
        ipt -F "$FAULT_CHAIN" 2>/dev/null || true
        ipt -X "$FAULT_CHAIN" 2>/dev/null || true
    fi
    state_set FAULT ""
    if [[ "$what" == stale-rules ]] && node_netns_up; then
        start_agent_events kube-router
    fi
    if [[ -n "$what" ]]; then
        event fault "cleared:$what"
        log "fault cleared: $what"
    else
        log "no fault in force"
    fi
}
