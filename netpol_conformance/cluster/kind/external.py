"""The step-4 external database: a container on kind's Docker network, outside the pod network.

kind puts its nodes on the Docker network ``kind`` unless ``KIND_EXPERIMENTAL_DOCKER_NETWORK``
names another; the external host joins the same one, so that pods reach it through their node.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

from netpol_conformance.cluster.base import MANAGED_LABEL, Progress
from netpol_conformance.cluster.kind.commands import Runner
from netpol_conformance.cluster.pull_errors import mentions_rate_limit
from netpol_conformance.errors import SetupError

NETWORK_VARIABLE = "KIND_EXPERIMENTAL_DOCKER_NETWORK"


def kind_network(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(NETWORK_VARIABLE) or "kind"


def start_script(ports: Sequence[int]) -> str:
    """The container's command: an nginx answering HTTP on the external host's ports."""
    listen = " ".join(f"listen {int(p)};" for p in ports)
    conf = f"server {{ {listen} location / {{ return 200 'external-db'; }} }}"
    return f"echo \"{conf}\" > /etc/nginx/conf.d/default.conf && exec nginx -g 'daemon off;'"


class ExternalHostContainer:
    def __init__(
        self, run: Runner, name: str, image: str, network: str, ports: Sequence[int]
    ) -> None:
        self.run, self.name, self.image, self.network = run, name, image, network
        self.ports = tuple(ports)

    def _check(self, argv: list[str], what: str) -> str:
        result = self.run(argv, timeout=600)
        if result.returncode != 0:
            err = result.stderr.strip()[-2000:]
            hint = (
                "; Docker Hub's pull rate limit: `docker login` and run again, or pass "
                "--server-image from a mirror"
                if mentions_rate_limit(err)
                else ""
            )
            raise SetupError(f"{what} failed ({' '.join(argv[:3])} ...): {err}{hint}")
        return result.stdout

    def ensure(self, progress: Progress) -> str:
        """The external host's address on the kind network, started if it is not."""
        inspect = self.run(["docker", "inspect", self.name], timeout=60)
        if inspect.returncode != 0:
            progress(f"kind: starting the external host {self.name} on network {self.network}")
            self._check(
                [
                    "docker",
                    "run",
                    "-d",
                    "--name",
                    self.name,
                    "--network",
                    self.network,
                    "--label",
                    f"{MANAGED_LABEL}=true",
                    "--entrypoint",
                    "sh",
                    self.image,
                    "-c",
                    start_script(self.ports),
                ],
                "starting the external host",
            )
            inspect = self.run(["docker", "inspect", self.name], timeout=60)
        data = json.loads(inspect.stdout)[0]
        if not data.get("State", {}).get("Running", True):  # e.g. after a Docker restart
            progress(f"kind: starting the stopped external host {self.name}")
            self._check(["docker", "start", self.name], "starting the external host")
            data = json.loads(self._check(["docker", "inspect", self.name], "docker inspect"))[0]
        networks = data["NetworkSettings"]["Networks"]
        ip = networks.get(self.network, {}).get("IPAddress")
        if not ip:
            raise SetupError(
                f"the external host {self.name} has no address on the Docker network "
                f"{self.network}: remove it with `docker rm -f {self.name}` and run again"
            )
        return str(ip)

    def remove(self) -> None:
        self.run(["docker", "rm", "-f", self.name], timeout=120)
