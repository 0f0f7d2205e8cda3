"""Scenarios as data: ordered states, each the change that leads to it and its expected table.

Pure: no cluster, no Kubernetes client. The catalogue of upstream's NetworkPolicy specs lives
here, with its topology and the hand-written tables a test checks against the oracle.
"""
