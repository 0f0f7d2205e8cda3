# `build`: Debian packages, Go binaries and container images (sourced by scripts/local-cluster).

DEB_PACKAGES=(containerd runc containernetworking-plugins iptables ipset conntrack umoci skopeo
    debootstrap iproute2 openssl util-linux procps dnsutils curl python3 ca-certificates gcc libc6-dev)
PROBE_PACKAGES=nginx,libnginx-mod-stream,curl,dnsutils,socat,procps
# Bump when the way an image is assembled changes, to force a rebuild.
IMAGE_RECIPE=3

KUBE_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

sha_of() { cat "$@" | sha256sum | cut -c1-16; }

stamp_ok() { [[ -f "$1" && "$(cat "$1")" == "$2" ]]; }

install_packages() {
    local missing=() p
    for p in "${DEB_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        log "Debian packages: all present"
        return
    fi
    command -v apt-get >/dev/null || die "missing Debian packages (${missing[*]}) and no apt-get: install them by hand"
    log "installing Debian packages: ${missing[*]} ..."
    export DEBIAN_FRONTEND=noninteractive
    # Installing containerd must not start a system-wide daemon: we run our own.
    local prc=/usr/sbin/policy-rc.d created_prc=0
    if [[ ! -e $prc ]]; then
        printf '#!/bin/sh\nexit 101\n' > "$prc"; chmod +x "$prc"; created_prc=1
    fi
    if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$LC_CACHE/apt.log" 2>&1; then
        log "apt-get install failed; running apt-get update and retrying"
        apt-get update >>"$LC_CACHE/apt.log" 2>&1 || true
        if ! apt-get install -y --no-install-recommends "${missing[@]}" >>"$LC_CACHE/apt.log" 2>&1; then
            ((created_prc)) && rm -f "$prc"
            die "could not install Debian packages ${missing[*]}: see $LC_CACHE/apt.log (is a Debian mirror reachable? try 'apt-get update')"
        fi
    fi
    ((created_prc)) && rm -f "$prc"
    log "Debian packages installed"
}

require_go() {
    command -v go >/dev/null || die "Go toolchain not found: install Go >= 1.24 at /usr/local/go (or put 'go' on PATH)"
}

kube_ldflags() {
    local v="$K8S_VERSION" major minor
    major="${v#v}"; major="${major%%.*}"
    minor="${v#v*.}"; minor="${minor%%.*}"
    local f="-s -w" pkg
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        f+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
        f+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    done
    echo "$f"
}

build_kube() {
    local mod="$LC_DIR/kube" ldflags key c ok=1
    ldflags="$(kube_ldflags)"
    key="$K8S_VERSION $(go env GOVERSION) $(sha_of "$mod/go.mod" "$mod"/go.sum 2>/dev/null) $ldflags"
    key="$(echo "$key" | sha256sum | cut -c1-16)"
    for c in "${KUBE_CMDS[@]}"; do [[ -x "$BIN/$c" ]] || ok=0; done
    if ((ok)) && stamp_ok "$BIN/.stamp-kube" "$key"; then
        log "kubernetes $K8S_VERSION binaries: up to date"
        return
    fi
    log "building ${KUBE_CMDS[*]} $K8S_VERSION ... (cold build takes ~6 min)"
    local pkgs=() t0; t0=$(date +%s)
    for c in "${KUBE_CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
    (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$BIN/" "${pkgs[@]}") \
        >"$LC_CACHE/build-kube.log" 2>&1 || die "building Kubernetes failed: see $LC_CACHE/build-kube.log"
    # go.sum may have been completed by -mod=mod: recompute the key from the final files.
    key="$K8S_VERSION $(go env GOVERSION) $(sha_of "$mod/go.mod" "$mod"/go.sum) $ldflags"
    echo "$key" | sha256sum | cut -c1-16 > "$BIN/.stamp-kube"
    log "kubernetes binaries built in $(( $(date +%s) - t0 )) s"
}

build_etcd() {
    local mod="$LC_DIR/etcd" key
    key="$(echo "$ETCD_VERSION $(go env GOVERSION) $(sha_of "$mod/go.mod" "$mod/main.go" "$mod"/go.sum 2>/dev/null)" | sha256sum | cut -c1-16)"
    if [[ -x "$BIN/etcd" ]] && stamp_ok "$BIN/.stamp-etcd" "$key"; then
        log "etcd $ETCD_VERSION: up to date"; return
    fi
    log "building etcd $ETCD_VERSION ... (cold build takes ~30 s)"
    (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" .) \
        >"$LC_CACHE/build-etcd.log" 2>&1 || die "building etcd failed: see $LC_CACHE/build-etcd.log"
    echo "$ETCD_VERSION $(go env GOVERSION) $(sha_of "$mod/go.mod" "$mod/main.go" "$mod/go.sum")" | sha256sum | cut -c1-16 > "$BIN/.stamp-etcd"
}

build_pause() {
    local mod="$LC_DIR/pause" key
    key="$(echo "$(go env GOVERSION) $(sha_of "$mod/go.mod" "$mod/main.go")" | sha256sum | cut -c1-16)"
    if [[ -x "$BIN/pause" ]] && stamp_ok "$BIN/.stamp-pause" "$key"; then
        log "pause: up to date"; return
    fi
    log "building pause ..."
    (cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/pause" .) \
        >"$LC_CACHE/build-pause.log" 2>&1 || die "building pause failed: see $LC_CACHE/build-pause.log"
    echo "$key" > "$BIN/.stamp-pause"
}

# go_install NAME MODULE@VERSION [CGO]: build an upstream command with `go install`.
go_install() {
    local name="$1" spec="$2" cgo="${3:-0}" key
    key="$(echo "$spec cgo=$cgo $(go env GOVERSION)" | sha256sum | cut -c1-16)"
    if [[ -x "$BIN/$name" ]] && stamp_ok "$BIN/.stamp-$name" "$key"; then
        log "$name: up to date"; return
    fi
    log "building $name from $spec ... (cold build takes ~1.5-2 min)"
    local gobin="$LC_CACHE/gobin-$name"
    rm -rf "$gobin"; mkdir -p "$gobin"
    (cd "$LC_CACHE" && CGO_ENABLED="$cgo" GOBIN="$gobin" GOFLAGS="" go install -trimpath -ldflags "-s -w" "$spec") \
        >"$LC_CACHE/build-$name.log" 2>&1 || die "building $name failed: see $LC_CACHE/build-$name.log"
    mv -f "$gobin/$name" "$BIN/$name"; rm -rf "$gobin"
    echo "$key" > "$BIN/.stamp-$name"
}

# flanneld is optional (`up --cni flannel`): a failure here only warns.
build_flannel() {
    local mod="$LC_DIR/flannel" key
    key="$(echo "$FLANNEL_VERSION $(go env GOVERSION) $(sha_of "$mod/go.mod" "$mod"/go.sum 2>/dev/null)" | sha256sum | cut -c1-16)"
    if [[ -x "$BIN/flanneld" ]] && stamp_ok "$BIN/.stamp-flanneld" "$key"; then
        log "flanneld $FLANNEL_VERSION: up to date"; return
    fi
    if ! command -v gcc >/dev/null; then
        log "warning: flanneld not built: it needs cgo and there is no gcc (apt-get install gcc); '--cni flannel' is unavailable"
        return
    fi
    log "building flanneld $FLANNEL_VERSION ... (cold build takes ~2.5 min)"
    if (cd "$mod" && CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath \
            -ldflags "-s -w -X github.com/flannel-io/flannel/pkg/version.Version=$FLANNEL_VERSION" \
            -o "$BIN/flanneld" github.com/flannel-io/flannel) >"$LC_CACHE/build-flanneld.log" 2>&1; then
        echo "$FLANNEL_VERSION $(go env GOVERSION) $(sha_of "$mod/go.mod" "$mod/go.sum")" | sha256sum | cut -c1-16 > "$BIN/.stamp-flanneld"
    else
        log "warning: building flanneld failed (see $LC_CACHE/build-flanneld.log); '--cni flannel' is unavailable"
    fi
}

debian_mirror() {
    local m
    m="$(grep -rhoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | awk '{print $NF}' | grep -E '/debian/?$' | head -n1 || true)"
    [[ -z "$m" ]] && m="$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -n1 | tr -d ' ' || true)"
    echo "${m:-http://deb.debian.org/debian}"
}

# The probe/server image's root file system: Debian minbase plus nginx, curl, nslookup, ps.
build_probe_rootfs() {
    local dir="$IMAGES/probe-rootfs" key suite
    suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
    key="$(echo "$suite $PROBE_PACKAGES $IMAGE_RECIPE" | sha256sum | cut -c1-16)"
    if [[ -d "$dir" ]] && stamp_ok "$IMAGES/.stamp-probe-rootfs" "$key"; then
        log "probe root file system: up to date"; return
    fi
    local mirror; mirror="$(debian_mirror)"
    log "debootstrap $suite minbase + $PROBE_PACKAGES from $mirror ... (takes ~2 min)"
    rm -rf "$dir.tmp" "$dir"
    if ! debootstrap --variant=minbase --include="$PROBE_PACKAGES" "$suite" "$dir.tmp" "$mirror" \
        >"$LC_CACHE/build-debootstrap.log" 2>&1; then
        # debootstrap may leave proc/sys mounted inside the target on failure.
        umount -R "$dir.tmp/proc" "$dir.tmp/sys" 2>/dev/null || true
        die "debootstrap failed: see $LC_CACHE/build-debootstrap.log (is the Debian mirror $mirror reachable?)"
    fi
    (
        cd "$dir.tmp" || exit 1
        # The suite mounts its own server config into /etc/nginx/conf.d/.
        rm -f etc/nginx/sites-enabled/default
        rm -rf var/lib/apt/lists/* var/cache/apt/*.bin var/cache/apt/archives/*.deb \
            usr/share/doc/* usr/share/man/* usr/share/info/* var/log/*.log var/log/apt/* tmp/*
        : > etc/resolv.conf
        echo probe > etc/hostname
    )
    for b in sh curl nslookup nginx ps sleep; do
        chroot "$dir.tmp" /bin/sh -c "command -v $b" >/dev/null || die "probe root file system lacks '$b'"
    done
    mv "$dir.tmp" "$dir"
    echo "$key" > "$IMAGES/.stamp-probe-rootfs"
}

# oci_image TAG REF ROOTFS_DIR KEY [umoci config args...]: assemble an image from a directory
# and save it as a docker archive $IMAGES/TAG.tar that `ctr images import` loads.
oci_image() {
    local tag="$1" ref="$2" src="$3" key="$4"; shift 4
    local layout="$IMAGES/oci"
    if [[ -f "$IMAGES/$tag.tar" ]] && stamp_ok "$IMAGES/.stamp-$tag" "$key"; then
        log "image $ref: up to date"; return
    fi
    log "assembling image $ref ..."
    [[ -d "$layout" ]] || umoci init --layout "$layout"
    umoci rm --image "$layout:$tag" >/dev/null 2>&1 || true
    umoci new --image "$layout:$tag"
    umoci insert --image "$layout:$tag" "$src" / >/dev/null
    umoci config --image "$layout:$tag" --author netpol-conformance "$@"
    umoci gc --layout "$layout"
    rm -f "$IMAGES/$tag.tar"
    skopeo --insecure-policy copy -q "oci:$layout:$tag" "docker-archive:$IMAGES/$tag.tar:$ref" \
        >"$LC_CACHE/build-image-$tag.log" 2>&1 || die "skopeo could not write $IMAGES/$tag.tar: see $LC_CACHE/build-image-$tag.log"
    echo "$key" > "$IMAGES/.stamp-$tag"
}

build_images() {
    local tmp key
    tmp="$(mktemp -d "$LC_CACHE/imgsrc.XXXXXX")"
    mkdir -p "$tmp/pause" "$tmp/coredns/etc"
    cp "$BIN/pause" "$tmp/pause/pause"
    key="$(echo "$IMAGE_RECIPE $(sha_of "$BIN/pause")" | sha256sum | cut -c1-16)"
    oci_image pause "$PAUSE_IMAGE" "$tmp/pause" "$key" --config.entrypoint /pause
    cp "$BIN/coredns" "$tmp/coredns/coredns"
    key="$(echo "$IMAGE_RECIPE $(sha_of "$BIN/coredns")" | sha256sum | cut -c1-16)"
    oci_image coredns "$COREDNS_IMAGE" "$tmp/coredns" "$key" --config.entrypoint /coredns \
        --config.exposedports 53/udp --config.exposedports 53/tcp
    key="$(cat "$IMAGES/.stamp-probe-rootfs")-$IMAGE_RECIPE"
    oci_image probe "$PROBE_IMAGE" "$IMAGES/probe-rootfs" "$key" \
        --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --config.cmd sleep --config.cmd infinity
    rm -rf "$tmp"
}

cmd_build() {
    require_root
    mkdir -p "$BIN" "$IMAGES"
    local t0; t0=$(date +%s)
    install_packages
    require_go
    # The probe root file system downloads while Go compiles.
    local rootfs_log="$LC_CACHE/build-rootfs.out" rootfs_pid=
    build_probe_rootfs 2>"$rootfs_log" & rootfs_pid=$!
    build_pause
    build_etcd
    build_kube
    go_install kube-router "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
    go_install coredns "github.com/coredns/coredns@$COREDNS_VERSION"
    build_flannel
    if ! wait "$rootfs_pid"; then
        cat "$rootfs_log" >&2; die "building the probe root file system failed"
    fi
    cat "$rootfs_log" >&2
    build_images
    log "build complete in $(( $(date +%s) - t0 )) s: binaries in $BIN, images in $IMAGES"
}
