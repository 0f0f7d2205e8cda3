"""Source ports of datagram probes: no port comes back for a source before the whole range."""

from __future__ import annotations

import random
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netpol_conformance.probe.ports import FIRST, LAST, SourcePorts


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    size=st.integers(1, 40),
    sources=st.lists(st.sampled_from("abc"), min_size=1, max_size=200),
)
def test_a_source_sees_every_port_of_the_range_before_one_comes_back(
    seed: int, size: int, sources: list[str]
) -> None:
    ports = SourcePorts(20000, 20000 + size - 1, random.Random(seed))
    taken: dict[str, list[int]] = {}
    for source in sources:
        taken.setdefault(source, []).append(ports.take(source))
    for seen in taken.values():
        assert all(20000 <= p < 20000 + size for p in seen)
        for i in range(len(seen)):  # any `size` consecutive ports of one source are distinct
            window = seen[i : i + size]
            assert len(set(window)) == len(window)


def test_the_default_range_stays_below_nodeports_and_the_ephemeral_range() -> None:
    assert 1024 < FIRST <= LAST < 30000  # NodePorts: 30000-32767; ephemeral: 32768-60999


def test_two_runs_start_at_different_places() -> None:
    starts = {SourcePorts().take(("frontend-x", "web")) for _ in range(20)}
    assert len(starts) > 1


def test_concurrent_takes_of_one_source_are_all_distinct() -> None:
    ports = SourcePorts()
    got: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(200):
            p = ports.take("pod")
            with lock:
                got.append(p)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == len(set(got)) == 1600


@pytest.mark.parametrize(("first", "last"), [(80, 100), (30000, 20000), (60000, 70000)])
def test_a_bad_range_is_refused(first: int, last: int) -> None:
    with pytest.raises(ValueError, match="bad source port range"):
        SourcePorts(first, last)
