"""The tutorial's first command: does the cluster run the CNI we are about to judge?

kubectl get pods -n kube-system | grep -E "calico|cilium|weave|flannel"
"""

import re

from netpol_conformance.cni import PROFILES


def test_cni_under_test_is_running(netpol_backend, netpol_settings):
    """The CNI named by --cni runs, and no other known CNI does."""
    profile = netpol_settings.profile
    components = netpol_backend.cni_components()
    others = {
        name: [c for c in components if re.search(p.component_pattern, c)]
        for name, p in PROFILES.items()
        if name != profile.name and p.component_pattern
    }
    others = {name: found for name, found in others.items() if found}
    assert not others, (
        f"--cni {profile.name}, but this cluster runs {', '.join(others)} "
        f"({', '.join(c for found in others.values() for c in found)}): pass the right --cni"
    )
    if profile.component_pattern:
        ours = [c for c in components if re.search(profile.component_pattern, c)]
        assert ours, (
            f"--cni {profile.name}, but nothing matching {profile.component_pattern!r} runs; "
            f"seen: {', '.join(components) or 'nothing'}"
        )
