"""The external test host's server: accepts TCP on the given ports and answers HTTP.

Run inside the external network namespace by scripts/local-cluster:
    python3 external_server.py 80 5432
"""

import http.server
import socketserver
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"external {self.server.server_address[1]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, fmt, *args):
        sys.stderr.write(f"{self.client_address[0]} {fmt % args}\n")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(ports):
    servers = [Server(("0.0.0.0", int(p)), Handler) for p in ports]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    print("external server listening on", ", ".join(ports), flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main(sys.argv[1:] or ["80", "5432"])
