"""Capture the real outputs of curl, socat and dig that tests/probe feeds the classifiers.

    sudo python3 tests/probe/captured/capture.py            # rewrites tests/probe/captured/*.txt

Every case runs the project's own probe command (``probe/commands.py``) inside a network
namespace that this script creates and deletes: it has only a loopback interface, so no packet
leaves it. Servers on loopback play the destinations (an HTTP server, a listener that never
answers, a UDP server that replies, DNS servers that answer, say NXDOMAIN, SERVFAIL, REFUSED or
nothing, a UDP socket that holds a source port a probe wants); iptables rules in the namespace
drop or reject; routes in it make networks unreachable. Each file starts with ``#>`` lines (the
command, the set-up, the tool's version), then the tool's stdout and stderr as the batch script
captures them, then ``rc=N``.

Needs root, ip, iptables, curl, socat and bind's dig (Debian: dnsutils).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from netpol_conformance.probe.commands import (  # noqa: E402
    ProbeSettings,
    curl_argv,
    dig_argv,
    udp_argv,
)

NETNS = "npcprobe-capture"
SETTINGS = ProbeSettings()
NAME = "kubernetes.default.svc.cluster.local"
# what a pod in namespace "default" has after its nameserver line
RESOLV_TAIL = "search default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
HTTP, SILENT, EMPTY, CLOSED = 8080, 8081, 8082, 8083
DROPPED, REJECTED, PROHIBITED = 9001, 9002, 9003
UDP_PORT = 5432
SOURCE_PORT = 24000  # what the probes bind (probe/ports.py hands out such ports)
IN_USE = 24999  # a source port that a socket of the servers holds
NO_NETWORK = "10.99.0.1"  # no route at all in the namespace
NO_ROUTE = "10.78.0.1"  # an `unreachable` route
# DNS servers on loopback, one behaviour each (see serve_dns)
DNS = {
    "answer": "127.0.0.10",
    "nxdomain": "127.0.0.11",
    "servfail": "127.0.0.12",
    "refused": "127.0.0.13",
    "nodata": "127.0.0.16",
    "dropped": "127.0.0.14",  # a server there, but iptables drops port 53
    "not-listening": "127.0.0.15",  # nothing on port 53: ICMP port-unreachable
    "net-unreachable": "10.99.0.53",
    "no-route": "10.78.0.53",
}
RCODES = {"answer": 0, "nxdomain": 3, "servfail": 2, "refused": 5, "nodata": 0, "dropped": 0}
RULES = [
    ["-p", "tcp", "--dport", str(DROPPED), "-j", "DROP"],
    ["-p", "udp", "--dport", str(DROPPED), "-j", "DROP"],
    ["-p", "tcp", "--dport", str(REJECTED), "-j", "REJECT"],  # icmp-port-unreachable
    ["-p", "udp", "--dport", str(REJECTED), "-j", "REJECT"],
    [
        "-p",
        "tcp",
        "--dport",
        str(PROHIBITED),
        "-j",
        "REJECT",
        "--reject-with",
        "icmp-admin-prohibited",
    ],
    [
        "-p",
        "udp",
        "--dport",
        str(PROHIBITED),
        "-j",
        "REJECT",
        "--reject-with",
        "icmp-admin-prohibited",
    ],
    ["-d", DNS["dropped"], "-p", "udp", "--dport", "53", "-j", "DROP"],
    ["-d", DNS["dropped"], "-p", "tcp", "--dport", "53", "-j", "DROP"],
]


# --- servers (run inside the namespace with --serve) ---------------------------------------


def dns_reply(packet: bytes, mode: str) -> bytes:
    ident, flags = struct.unpack("!HH", packet[:4])
    i, labels = 12, []
    while packet[i]:
        labels.append(packet[i + 1 : i + 1 + packet[i]].decode())
        i += 1 + packet[i]
    end = i + 5
    qtype = struct.unpack("!H", packet[end - 4 : end - 2])[0]
    rcode, answers = RCODES[mode], b""
    if mode == "answer":
        if ".".join(labels) != NAME:
            rcode = 3
        elif qtype == 1:
            answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 30, 4) + bytes([10, 96, 0, 1])
    reply_flags = 0x8000 | 0x0400 | 0x0080 | (flags & 0x0100) | rcode
    header = struct.pack("!HHHHHH", ident, reply_flags, 1, 1 if answers else 0, 0, 0)
    return header + packet[12:end] + answers


def serve_dns(address: str, mode: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 53))
    while True:
        packet, peer = sock.recvfrom(512)
        sock.sendto(dns_reply(packet, mode), peer)


def serve_dns_tcp(address: str, mode: str) -> None:
    """DNS over TCP: each message prefixed by its length."""
    srv = socket.create_server((address, 53))
    while True:
        conn, _ = srv.accept()
        with conn:
            size = struct.unpack("!H", conn.recv(2))[0]
            packet = b""
            while len(packet) < size:
                packet += conn.recv(size - len(packet))
            reply = dns_reply(packet, mode)
            conn.sendall(struct.pack("!H", len(reply)) + reply)


def serve_http() -> None:
    srv = socket.create_server(("127.0.0.1", HTTP))
    while True:
        conn, _ = srv.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")


def serve_empty() -> None:
    srv = socket.create_server(("127.0.0.1", EMPTY))
    while True:
        conn, _ = srv.accept()
        with conn:
            conn.recv(4096)  # the request, then close without a word


def serve_udp() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", UDP_PORT))
    while True:
        _, peer = sock.recvfrom(512)
        sock.sendto(b"netpol-conformance udp\n", peer)


def serve() -> None:
    silent = socket.create_server(("127.0.0.1", SILENT))  # accepts handshakes, never answers
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("0.0.0.0", IN_USE))  # a port a probe cannot bind
    jobs: list[Callable[[], None]] = [serve_http, serve_empty, serve_udp]
    jobs += [lambda a=a, m=m: serve_dns(a, m) for m, a in DNS.items() if m in RCODES]
    jobs += [lambda a=a, m=m: serve_dns_tcp(a, m) for m, a in DNS.items() if m in RCODES]
    for job in jobs:
        threading.Thread(target=job, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    silent.close()
    holder.close()


# --- cases ---------------------------------------------------------------------------------


def curl(address: str, port: int) -> list[str]:
    return curl_argv(address, port, SETTINGS)


def udp(address: str, port: int, source_port: int = SOURCE_PORT) -> list[str]:
    return udp_argv(address, port, SETTINGS, source_port)


DIG = dig_argv(NAME, SETTINGS, SOURCE_PORT)


def killed(argv: Sequence[str], signal: str) -> list[str]:
    return ["sh", "-c", f"{shlex.join(argv)} & p=$!; sleep 0.5; kill -{signal} $p; wait $p"]


# name -> (argv, the DNS server of the namespace's resolv.conf, what the set-up is)
CASES: dict[str, tuple[list[str], str, str]] = {
    "curl-connected": (curl("127.0.0.1", HTTP), "", "an HTTP server answers"),
    "curl-connected-no-answer": (
        curl("127.0.0.1", SILENT),
        "",
        "a listener whose backlog completes the handshake; nothing ever answers",
    ),
    "curl-empty-reply": (
        curl("127.0.0.1", EMPTY),
        "",
        "a server that reads the request and closes without answering",
    ),
    "curl-not-listening": (curl("127.0.0.1", CLOSED), "", "nothing listens on the port"),
    "curl-rejected": (curl("127.0.0.1", REJECTED), "", "iptables -j REJECT (port-unreachable)"),
    "curl-dropped": (curl("127.0.0.1", DROPPED), "", "iptables -j DROP"),
    "curl-admin-prohibited": (
        curl("127.0.0.1", PROHIBITED),
        "",
        "iptables -j REJECT --reject-with icmp-admin-prohibited",
    ),
    "curl-net-unreachable": (curl(NO_NETWORK, 80), "", "no route to that network at all"),
    "curl-no-route": (curl(NO_ROUTE, 80), "", "ip route add unreachable 10.78.0.0/24"),
    "curl-unresolvable": (
        ["curl", "-sS", "-v", "-o", "/dev/null", "--max-time", "2", "http://nosuch.invalid/"],
        DNS["nxdomain"],
        "a host name that the resolver says NXDOMAIN to",
    ),
    "udp-reply": (udp("127.0.0.1", UDP_PORT), "", "a UDP server replies to every datagram"),
    "udp-not-listening": (udp("127.0.0.1", CLOSED), "", "nothing listens: ICMP port-unreachable"),
    "udp-rejected": (udp("127.0.0.1", REJECTED), "", "iptables -j REJECT (port-unreachable)"),
    "udp-dropped": (udp("127.0.0.1", DROPPED), "", "iptables -j DROP"),
    "udp-admin-prohibited": (
        udp("127.0.0.1", PROHIBITED),
        "",
        "iptables -j REJECT --reject-with icmp-admin-prohibited",
    ),
    "udp-net-unreachable": (udp(NO_NETWORK, 53), "", "no route to that network at all"),
    "udp-no-route": (udp(NO_ROUTE, 53), "", "ip route add unreachable 10.78.0.0/24"),
    "udp-missing": (
        ["env", "PATH=/nonexistent", "/bin/sh", "-c", udp("127.0.0.1", UDP_PORT)[2]],
        "",
        "socat is not in the image (PATH without it)",
    ),
}
CASES["udp-source-port-in-use"] = (
    udp("127.0.0.1", UDP_PORT, IN_USE),
    "",
    "another socket holds the source port the probe binds",
)
for _mode, _server in DNS.items():
    CASES[f"dig-{_mode}"] = (DIG, _server, f"the resolver is {_mode}")
CASES["dig-tcp-answer"] = (
    dig_argv(NAME, SETTINGS, tcp=True),
    DNS["answer"],
    "the resolver answers over TCP",
)
CASES["dig-tcp-dropped"] = (
    dig_argv(NAME, SETTINGS, tcp=True),
    DNS["dropped"],
    "iptables drops TCP 53 to the resolver",
)
CASES["dig-tcp-not-listening"] = (
    dig_argv(NAME, SETTINGS, tcp=True),
    DNS["not-listening"],
    "nothing listens on TCP 53: a reset",
)
CASES["dig-invalid-option"] = (
    [*DIG[:-1], "+bogus", DIG[-1]],
    DNS["answer"],
    "an option the tool does not know",
)
CASES["dig-killed"] = (
    killed(DIG, "KILL"),
    DNS["dropped"],
    "SIGKILL while waiting for a dropped server",
)
CASES["dig-terminated"] = (
    killed(DIG, "TERM"),
    DNS["dropped"],
    "SIGTERM while waiting for a dropped server",
)
CASES["dig-source-port-in-use"] = (
    dig_argv(NAME, SETTINGS, IN_USE),
    DNS["answer"],
    "another socket holds the source port the probe binds",
)
CASES["dig-missing"] = (
    ["env", "PATH=/nonexistent", "/bin/sh", "-c", shlex.join(DIG)],
    "",
    "dig is not in the image (PATH without it)",
)


def version(argv: Sequence[str]) -> str:
    tool = argv[0] if argv[0] not in ("sh", "env") else ""
    probes = {
        "curl": ["curl", "--version"],
        "dig": ["dpkg-query", "-W", "-f", "bind9-dnsutils ${Version}", "bind9-dnsutils"],
    }
    text = " ".join(argv)
    if "socat" in text:
        probe = ["socat", "-V"]
    elif tool in probes:
        probe = probes[tool]
    elif "dig" in text:
        probe = probes["dig"]
    else:
        return "-"
    out = subprocess.run(probe, capture_output=True, text=True, check=False).stdout
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if "socat" in text:
        return next((ln for ln in lines if ln.startswith("socat version")), "socat ?")
    return lines[0] if lines else "?"


def ns(*argv: str) -> list[str]:
    return ["ip", "netns", "exec", NETNS, *argv]


def run(cmd: Sequence[str]) -> None:
    subprocess.run(cmd, check=True)


def set_up() -> None:
    run(["ip", "netns", "add", NETNS])
    run(["ip", "-n", NETNS, "link", "set", "lo", "up"])
    run(["ip", "-n", NETNS, "route", "add", "unreachable", "10.78.0.0/24"])
    for rule in RULES:
        run(ns("iptables", "-A", "INPUT", *rule))
    Path(f"/etc/netns/{NETNS}").mkdir(parents=True, exist_ok=True)


def tear_down() -> None:
    subprocess.run(["ip", "netns", "del", NETNS], check=False, stderr=subprocess.DEVNULL)
    shutil.rmtree(f"/etc/netns/{NETNS}", ignore_errors=True)


def capture(name: str, argv: list[str], server: str, setup: str, out_dir: Path) -> None:
    resolv = Path(f"/etc/netns/{NETNS}/resolv.conf")
    resolv.write_text(f"nameserver {server or DNS['answer']}\n{RESOLV_TAIL}")
    started = time.monotonic()
    result = subprocess.run(
        ns(*argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    took = time.monotonic() - started
    header = [
        f"#> command: {shlex.join(argv)}",
        f"#> setup: {setup}" + (f"; resolv.conf nameserver {server}" if server else ""),
        f"#> tool: {version(argv)}",
        f"#> took: {took:.1f}s",
    ]
    body = (
        result.stdout if result.stdout.endswith("\n") or not result.stdout else result.stdout + "\n"
    )
    (out_dir / f"{name}.txt").write_text(
        "\n".join(header) + "\n" + body + f"rc={result.returncode}\n"
    )
    print(f"{name}: rc={result.returncode} in {took:.1f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("names", nargs="*", help="only these cases (default: all)")
    args = parser.parse_args()
    if args.serve:
        serve()
        return 0
    if os.geteuid() != 0:
        print("capture.py: needs root (it creates a network namespace); run it with sudo")
        return 2
    missing = [t for t in ("ip", "iptables", "curl", "socat", "dig") if not shutil.which(t)]
    if missing:
        print(
            f"capture.py: missing tools: {' '.join(missing)} "
            "(apt-get install socat dnsutils curl iptables)"
        )
        return 2
    tear_down()
    set_up()
    servers = subprocess.Popen(
        ns(sys.executable, __file__, "--serve"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert servers.stdout is not None and servers.stdout.readline().strip() == "ready"
        for name, (argv, server, setup) in CASES.items():
            if not args.names or name in args.names:
                capture(name, argv, server, setup, args.out)
    finally:
        servers.kill()
        servers.wait()
        tear_down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
