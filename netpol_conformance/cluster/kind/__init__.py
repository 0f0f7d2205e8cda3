"""The kind backend: a throw-away kind cluster with the CNI under test, from pinned releases."""

from netpol_conformance.cluster.kind.options import KindOptions, add_kind_options, kind_options
from netpol_conformance.cluster.kind.provider import KindProvider

__all__ = ["KindOptions", "KindProvider", "add_kind_options", "kind_options"]
