#!/usr/bin/env bash
# fault_keeper.sh steady|flap CHAIN COMMENT [PERIOD OFF]: the daemon fault-keeper of `fault`
# (fault.sh), run inside the node's network namespace. It keeps the jump to CHAIN (with COMMENT)
# the first rule of FORWARD, checking every TICK seconds, and logs when it had to put it back.
# With `flap` it also opens the chain (one ACCEPT for everything) for OFF seconds of every
# PERIOD, and logs each "open" and "closed" with its UTC time.
set -u
mode="$1" chain="$2" comment="$3" period="${4:-0}" off="${5:-0}"
jump=(-m comment --comment "$comment" -j "$chain")
TICK=0.1

now_ms() { date +%s%3N; }
utc() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

keep_first() {
    [[ "$(iptables -w 5 -S FORWARD 1 2>/dev/null)" == "-A FORWARD -m comment --comment \"$comment\" -j $chain" ]] && return
    while iptables -w 5 -D FORWARD "${jump[@]}" 2>/dev/null; do :; done
    iptables -w 5 -I FORWARD 1 "${jump[@]}" && echo "moved back to the top of FORWARD $(utc)"
}

# hold MS: keep the jump first for MS milliseconds.
hold() {
    local until=$(( $(now_ms) + $1 ))
    while (( $(now_ms) < until )); do
        keep_first
        sleep "$TICK"
    done
}

echo "fault-keeper: $mode $chain${4:+, period $period s, off $off s}"
trap 'iptables -w 5 -F "$chain" 2>/dev/null; exit 0' TERM INT
if [[ "$mode" == steady ]]; then
    while true; do keep_first; sleep "$TICK"; done
fi
period_ms=$(awk -v s="$period" 'BEGIN {printf "%d", s * 1000}')
off_ms=$(awk -v s="$off" 'BEGIN {printf "%d", s * 1000}')
while true; do
    start=$(now_ms)
    iptables -w 5 -A "$chain" -j ACCEPT && echo "open $(utc)"
    hold "$off_ms"
    iptables -w 5 -F "$chain" && echo "closed $(utc)"
    hold $(( start + period_ms - $(now_ms) ))
done
