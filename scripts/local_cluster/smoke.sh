#!/usr/bin/env bash
# Smoke check of a running local cluster: two pods of the probe image, pod-to-pod HTTP on 80
# and 5432, a Service, cluster DNS, the external host, and a default-deny-ingress policy
# (enforced with kube-router, not with the plain bridge).
#   scripts/local_cluster/smoke.sh
set -Eeuo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LC="$HERE/../local-cluster"
"$LC" status >/dev/null || { "$LC" status; exit 1; }
INFO="$("$LC" info)"
j() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$INFO" "$1"; }
KUBECONFIG="$(j 'd["kubeconfig"]')"; export KUBECONFIG
CNI="$(j 'd["cni"]')"; IMAGE="$(j 'd["images"]["probe"]')"; EXT="$(j 'd["external"]["ip"]')"
CACHE="${NETPOL_CACHE:-$HOME/.cache/netpol-conformance}/local-cluster/v1"
export PATH="$CACHE/bin:$PATH"
NS=smoke
step() { printf '[smoke] %s\n' "$*"; }
fail() { printf '[smoke] FAIL: %s\n' "$*"; exit 1; }

kubectl delete namespace "$NS" --ignore-not-found --wait=true >/dev/null
kubectl create namespace "$NS" >/dev/null
kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data:
  default.conf: |
    server {
        listen 80;
        listen 5432;
        location / { return 200 "\$hostname \$server_port\n"; }
    }
$(for p in a b; do cat <<POD
---
apiVersion: v1
kind: Pod
metadata: {name: $p, labels: {app: $p}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: server
    image: $IMAGE
    imagePullPolicy: Never
    command: [nginx, -g, "daemon off;"]
    volumeMounts:
    - {name: web, mountPath: /etc/nginx/conf.d/default.conf, subPath: default.conf}
  - name: probe
    image: $IMAGE
    imagePullPolicy: Never
    command: [sleep, infinity]
  volumes:
  - name: web
    configMap: {name: web}
POD
done)
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec:
  selector: {app: b}
  ports: [{name: http, port: 80}]
EOF
# The namespace's default ServiceAccount appears a moment after the namespace.
t0=$(date +%s%3N)
kubectl -n "$NS" wait --for=condition=Ready pod/a pod/b --timeout=90s >/dev/null || {
    kubectl -n "$NS" describe pods; fail "pods not Ready"; }
step "pods Ready in $(( $(date +%s%3N) - t0 )) ms"
B_IP="$(kubectl -n "$NS" get pod b -o jsonpath='{.status.podIP}')"
ex() { kubectl -n "$NS" exec a -c probe -- "$@"; }
for port in 80 5432; do
    out="$(ex curl -sS -m 3 "http://$B_IP:$port/")" || fail "a -> b:$port"
    step "a -> b $B_IP:$port: $out"
done
# kube-proxy programs the Service a moment after the pod turns Ready.
for i in $(seq 1 20); do
    out="$(ex curl -sS -m 3 "http://b.$NS.svc.cluster.local/" 2>&1)" && break
    ((i == 20)) && fail "a -> service b: $out"
    sleep 0.5
done
step "a -> service b.$NS.svc.cluster.local: $out"
out="$(ex nslookup kubernetes.default.svc.cluster.local)" || fail "nslookup"
step "nslookup kubernetes.default.svc.cluster.local: $(echo "$out" | awk '/^Address/ {a=$2} END {print a}')"
for port in 80 5432; do
    out="$(ex curl -sS -m 3 "http://$EXT:$port/")" || fail "a -> external $EXT:$port"
    step "a -> external $EXT:$port: $out"
done

kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress}
spec:
  podSelector: {}
  policyTypes: [Ingress]
EOF
sleep 2
set +e
t0=$(date +%s%3N)
out="$(ex curl -sS -m 5 "http://$B_IP:80/" 2>&1)"; rc=$?
dt=$(( $(date +%s%3N) - t0 ))
set -e
step "after default-deny-ingress: a -> b:80 curl exit $rc in $dt ms: $out"
if [[ "$CNI" == kube-router ]]; then
    [[ $rc -eq 7 ]] || fail "expected a refused connection (curl exit 7) with kube-router, got $rc"
    out="$(ex curl -sS -m 3 "http://$EXT:5432/")" || fail "egress to the external host must stay open"
    step "egress a -> external still open: $out"
else
    [[ $rc -eq 0 ]] || fail "expected no enforcement with --cni $CNI, got curl exit $rc"
fi
kubectl delete namespace "$NS" --wait=false >/dev/null
step "OK (cni=$CNI)"
