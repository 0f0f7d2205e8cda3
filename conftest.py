"""The netpol-conformance plugin (netpol_conformance.pytest_plugin) is registered by the
package's pytest11 entry point; this keeps a plain checkout working the same way."""

pytest_plugins = ["netpol_conformance.pytest_plugin"]
