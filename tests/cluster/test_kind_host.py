"""The host preflight of the kind backend: the inotify limits and the engine's cgroup version,
one line each with the command that fixes it, before any kind command runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from kind_fakes import FakeRun
from test_cluster_kind import fresh_replies, make

from netpol_conformance.cluster.kind.host import Engine, host_problems
from netpol_conformance.cluster.kind.options import KindOptions
from netpol_conformance.cluster.kind.versions import NODE_IMAGES
from netpol_conformance.errors import SetupError

DEFAULT_LINUX = {
    "/proc/sys/fs/inotify/max_user_instances": "128\n",
    "/proc/sys/fs/inotify/max_user_watches": "8192\n",
}
TUNED = {
    "/proc/sys/fs/inotify/max_user_instances": "512\n",
    "/proc/sys/fs/inotify/max_user_watches": "524288\n",
}
ENGINE = Engine("28.3.0", "Ubuntu 24.04 LTS", "2")


def test_a_stock_linux_host_gets_the_two_sysctl_lines() -> None:
    problems = host_problems(NODE_IMAGES["1.35"], ENGINE, "linux", None, DEFAULT_LINUX.get)
    assert problems == [
        "fs.inotify.max_user_instances is 128; a three-node kind cluster needs at least 512 "
        "(its pods fail with 'too many open files'): run `sudo sysctl -w "
        "fs.inotify.max_user_instances=512`",
        "fs.inotify.max_user_watches is 8192; a three-node kind cluster needs at least 524288 "
        "(its pods fail with 'too many open files'): run `sudo sysctl -w "
        "fs.inotify.max_user_watches=524288`",
    ]
    assert host_problems(NODE_IMAGES["1.35"], ENGINE, "linux", None, TUNED.get) == []


@pytest.mark.parametrize(
    ("engine", "system", "docker_host"),
    [
        (Engine("28.3.0", "Docker Desktop", "2"), "linux", None),  # its own VM's kernel
        (ENGINE, "linux", "tcp://10.0.0.5:2376"),  # a remote engine
        (ENGINE, "darwin", None),
    ],
)
def test_the_limits_are_read_only_where_the_engine_runs_on_this_kernel(
    engine: Engine, system: str, docker_host: str | None
) -> None:
    assert host_problems(NODE_IMAGES["1.35"], engine, system, docker_host, DEFAULT_LINUX.get) == []


def test_a_cgroup_v1_engine_is_refused_for_the_images_whose_kubelet_needs_v2() -> None:
    v1 = Engine("28.3.0", "Debian GNU/Linux 12", "1")
    (line,) = host_problems(NODE_IMAGES["1.37"], v1, "darwin", None, TUNED.get)
    assert "cgroup v1" in line and "--k8s-version 1.36" in line
    assert host_problems(NODE_IMAGES["1.36"], v1, "linux", None, TUNED.get) == []
    unknown = Engine.parse("28.3.0\n")  # an engine that did not say
    assert unknown == Engine("28.3.0") and not host_problems(
        NODE_IMAGES["1.37"], unknown, "linux", None, TUNED.get
    )


def test_docker_info_is_parsed_field_by_field() -> None:
    assert Engine.parse("28.3.0|Docker Desktop|2\n") == Engine("28.3.0", "Docker Desktop", "2")
    assert Engine.parse("28.3.0|Docker Desktop|2").on_a_vm and not ENGINE.on_a_vm


def test_the_provider_stops_before_any_kind_command_with_every_problem(tmp_path: Path) -> None:
    run = FakeRun(fresh_replies({("docker", "info"): (0, "28.3.0|Debian GNU/Linux 12|1\n", "")}))
    p = make(tmp_path, run, options=KindOptions(k8s_version="1.37"))
    p.read_host = DEFAULT_LINUX.get
    with pytest.raises(SetupError) as exc_info:
        p.prepare(lambda _: None)
    lines = str(exc_info.value).splitlines()
    assert lines[0] == "this host cannot run the kind cluster:"
    assert len(lines) == 4 and "sysctl -w fs.inotify.max_user_instances=512" in lines[1]
    assert "cgroup v1" in lines[3]
    assert [c[0] for c in run.calls] == ["docker"]  # nothing made, nothing to clean up
