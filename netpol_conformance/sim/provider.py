"""The simulated cluster as a provider: every process gets its own in-memory cluster."""

from __future__ import annotations

from netpol_conformance.cluster.base import Backend, ClusterInfo, Progress
from netpol_conformance.cluster.providers import Provider
from netpol_conformance.cni import CniProfile
from netpol_conformance.sim.cluster import SimulatedCluster
from netpol_conformance.sim.faults import Faults


class SimulatedProvider(Provider):
    def __init__(
        self,
        profile: CniProfile,
        faults: Faults,
        delay: float,
        probe_timeout: float,
        external_ports: tuple[int, ...],
    ) -> None:
        super().__init__(profile)
        self.faults, self.delay, self.probe_timeout = faults, delay, probe_timeout
        self.external_ports = external_ports

    def _cluster(self) -> SimulatedCluster:
        return SimulatedCluster(
            self.profile, self.faults, self.delay, self.probe_timeout, self.external_ports
        )

    def prepare(self, progress: Progress) -> ClusterInfo:
        return self._cluster().info

    def connect(self, info: ClusterInfo) -> Backend:
        return self._cluster()
