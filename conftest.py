"""Registers the netpol-conformance pytest plugin; everything else lives in the package."""

pytest_plugins = ["netpol_conformance.plugin"]
