"""The kind backend: a throw-away kind cluster with the CNI under test, from pinned releases.

Import what you need from its modules (``kind.provider``, ``kind.options``, ...): importing the
package itself loads no Kubernetes client."""
