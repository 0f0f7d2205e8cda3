"""The run's metadata as testsuite properties of the JUnit XML report (`--junitxml`).

Each probe test records its own properties (scenario, step, probe, ...) as it runs; what the
whole run shares (suite version, cluster, Kubernetes version, CNI) is added here, in the
controller, once the cluster is known. The names follow the fields of the results file.
"""

from __future__ import annotations

from typing import Any

import pytest

from netpol_conformance.cluster.base import ClusterInfo
from netpol_conformance.pytest_plugin.run_record import suite_version
from netpol_conformance.pytest_plugin.state import ProcessState
from netpol_conformance.settings import SuiteSettings


def suite_properties(settings: SuiteSettings, info: ClusterInfo | None) -> list[tuple[str, str]]:
    """The run's metadata; a value the cluster never reported (its set-up failed) is ""."""
    p = settings.profile
    return [
        ("suite_version", suite_version()),
        ("cluster.kind", settings.cluster),
        ("cluster.kubernetes_version", info.kubernetes_version if info else ""),
        ("cni.name", p.name),
        ("cni.version", info.cni_version if info else ""),
        ("cni.enforces", "true" if p.enforces else "false"),
        ("cni.deny_style", p.deny_style),
    ]


def _junit_xml(config: pytest.Config) -> Any | None:
    """pytest's JUnit XML writer, when --junitxml is given (it is a plugin of the controller)."""
    for plugin in config.pluginmanager.get_plugins():
        if callable(getattr(plugin, "add_global_property", None)):
            return plugin
    return None


class JunitSuiteProperties:
    """Registered in the controller: adds the run's metadata before the XML is written."""

    def __init__(self, state: ProcessState) -> None:
        self.state = state

    @pytest.hookimpl(tryfirst=True)  # before the junitxml plugin writes its file
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        xml = _junit_xml(session.config)
        if xml is None:
            return
        info = self.state.session.known_info()
        for name, value in suite_properties(self.state.settings, info):
            xml.add_global_property(name, value)
