"""Hypothesis strategies for run records: any values the results document must carry."""

from __future__ import annotations

import dataclasses

from hypothesis import strategies as st

from netpol_conformance.plan.judge import meets
from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.spec import Probe
from netpol_conformance.results.records import (
    ClusterRecord,
    CniRecord,
    NodeRecord,
    ProbeRecord,
    RunRecord,
    StepResult,
    TestRecord,
)

text = st.text(max_size=12)
seconds = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
json_scalar = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | seconds | text
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
observations = st.builds(Observation, st.sampled_from(Outcome), text)
probes = st.builds(
    lambda kind_protocol, source, target, port, name: Probe(
        source, kind_protocol[0], target, port, kind_protocol[1], name
    ),
    st.sampled_from([("tcp", "TCP"), ("udp", "UDP"), ("dns", "UDP"), ("dns", "TCP")]),
    text,
    text,
    st.integers(0, 65535),
    text,
)


def consistent(record: ProbeRecord) -> ProbeRecord:
    """A record whose stored verdict is what its observation gives (as a run writes it)."""
    met = (
        record.observed is not None
        and not record.flap
        and meets(record.expected, record.observed, record.listening)
    )
    return dataclasses.replace(record, met=met)


probe_records = st.builds(
    ProbeRecord,
    probe=probes,
    expected=st.sampled_from(Outcome),
    observed=st.none() | observations,
    met=st.booleans(),
    history=st.lists(observations, max_size=3).map(tuple),
    command=text,
    evidence=text,
    path=st.sampled_from(["", "same-node", "cross-node", "external", "dns"]),
    deviation=text,
    flap=st.sampled_from(["", "connected at +3.1s (poll 4 of 6, ...)"]),
    listening=st.none() | st.booleans(),
).map(consistent)
steps = st.builds(
    StepResult,
    scenario=text,
    step=text,
    policies=st.lists(st.dictionaries(text, json_value, max_size=3), max_size=2).map(tuple),
    probes=st.lists(probe_records, max_size=4).map(tuple),
    converged=st.booleans(),
    polls=st.integers(0, 1000),
    time_to_enforce=st.none() | seconds,
    flapping=st.lists(text, max_size=2).map(tuple),
    phases=st.dictionaries(text, seconds, max_size=3),
    poll_times=st.lists(
        st.floats(0, 1000, allow_nan=False).map(lambda t: round(t, 3)), max_size=3
    ).map(tuple),
)
tests = st.builds(
    TestRecord,
    nodeid=text,
    outcome=st.sampled_from(["passed", "failed", "skipped", "xfailed", "xpassed", "error"]),
    duration=seconds,
    scenario=text,
    message=text,
    properties=st.dictionaries(text, json_value, max_size=3),
)
runs = st.builds(
    RunRecord,
    suite_version=text,
    started=text,
    finished=text,
    status=st.sampled_from(["passed", "failed", "error", "interrupted"]),
    options=st.dictionaries(text, json_value, max_size=4),
    cluster=st.builds(
        ClusterRecord,
        kind=text,
        kubernetes_version=text,
        context=text,
        nodes=st.lists(
            st.builds(NodeRecord, text, st.lists(text, max_size=3).map(tuple)), max_size=3
        ).map(tuple),
    ),
    cni=st.builds(CniRecord, text, st.booleans(), st.sampled_from(["drop", "reject"]), text),
    steps=st.lists(steps, max_size=3).map(tuple),
    setup_errors=st.dictionaries(text, text, max_size=2),
    tests=st.lists(tests, max_size=3).map(tuple),
    error=text,
)
