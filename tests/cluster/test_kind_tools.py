"""Breaker 3: kind and kubectl for this machine's architecture, and which kind is used."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from kind_fakes import FakeRun

from netpol_conformance.cluster.kind import tools as tools_module
from netpol_conformance.cluster.kind.tools import Platform, ToolFinder, this_platform
from netpol_conformance.cluster.kind.versions import KIND_VERSION, KUBECTL_VERSION
from netpol_conformance.errors import SetupError


@pytest.mark.parametrize(
    ("system", "machine", "expected"),
    [
        ("Linux", "x86_64", Platform("linux", "amd64")),
        ("Linux", "aarch64", Platform("linux", "arm64")),
        ("Darwin", "arm64", Platform("darwin", "arm64")),
        ("Darwin", "x86_64", Platform("darwin", "amd64")),
        ("Windows", "AMD64", Platform("windows", "amd64")),
    ],
)
def test_this_platform(system: str, machine: str, expected: Platform) -> None:
    assert this_platform(system, machine) == expected


@pytest.mark.parametrize(
    ("system", "machine"), [("Linux", "riscv64"), ("Linux", "armv7l"), ("SunOS", "x86_64")]
)
def test_an_unsupported_machine_is_refused_with_what_to_do(system: str, machine: str) -> None:
    with pytest.raises(SetupError) as exc_info:
        this_platform(system, machine)
    msg = str(exc_info.value)
    assert machine in msg and "put them on PATH" in msg and "--kind-bin" in msg


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_download_urls_name_the_architecture(arch: str) -> None:
    p = Platform("linux", arch)
    assert p.kind_url() == (
        f"https://github.com/kubernetes-sigs/kind/releases/download/{KIND_VERSION}/kind-linux-{arch}"
    )
    assert (
        p.kubectl_url() == f"https://dl.k8s.io/release/{KUBECTL_VERSION}/bin/linux/{arch}/kubectl"
    )
    assert Platform("windows", "amd64").kubectl_url().endswith("/windows/amd64/kubectl.exe")


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Path, str]] = []

    def __call__(self, what: str, target: Path, url: str) -> None:
        self.calls.append((what, target, url))
        target.write_text("#!/bin/sh\n")


def finder(
    tmp_path: Path, run: FakeRun, present: dict[str, str], arch: str = "arm64"
) -> tuple[ToolFinder, Recorder, list[str]]:
    notes: list[str] = []
    download = Recorder()
    f = ToolFinder(
        run,
        tmp_path / "bin",
        notes.append,
        which=lambda name: present.get(name),
        download=download,
        machine=Platform("linux", arch),
    )
    return f, download, notes


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_without_kind_and_kubectl_both_are_downloaded_for_this_architecture(
    tmp_path: Path, arch: str
) -> None:
    f, download, _ = finder(tmp_path, FakeRun(), {}, arch)
    tools = f.find()
    assert [(what, url) for what, _, url in download.calls] == [
        ("kind", Platform("linux", arch).kind_url()),
        ("kubectl", Platform("linux", arch).kubectl_url()),
    ]
    assert tools.kind_version == KIND_VERSION
    assert tools.kind.endswith(f"linux-{arch}/{KIND_VERSION}/kind")
    assert tools.kubectl.endswith(f"linux-{arch}/{KUBECTL_VERSION}/kubectl")
    f.find()  # a second run downloads nothing
    assert len(download.calls) == 2


def kubectl_reply(version: str) -> tuple[int, str, str]:
    """``kubectl version --client -o json``'s answer."""
    return 0, json.dumps({"clientVersion": {"gitVersion": version}}), ""


KUBECTL_1_35 = {("/usr/bin/kubectl", "version"): kubectl_reply("v1.35.2")}


def test_a_kind_of_the_pinned_line_on_path_is_used(tmp_path: Path) -> None:
    run = FakeRun(
        {
            ("/usr/local/bin/kind", "version"): (0, "kind v0.33.2 go1.27 linux/arm64\n", ""),
            **KUBECTL_1_35,
        }
    )
    f, download, _ = finder(
        tmp_path, run, {"kind": "/usr/local/bin/kind", "kubectl": "/usr/bin/kubectl"}
    )
    tools = f.find(server="v1.35.8")
    assert (tools.kind, tools.kind_version, tools.kubectl) == (
        "/usr/local/bin/kind",
        "v0.33.2",
        "/usr/bin/kubectl",
    )
    assert download.calls == []


def test_a_newer_kind_on_path_is_replaced_by_the_pinned_one(tmp_path: Path) -> None:
    """Node images are built for one kind release: a newer kind may not start them."""
    run = FakeRun(
        {("/usr/local/bin/kind", "version"): (0, "kind v0.34.1 go1.27 linux/arm64\n", "")}
    )
    f, download, notes = finder(tmp_path, run, {"kind": "/usr/local/bin/kind"})
    tools = f.find()
    assert tools.kind_version == KIND_VERSION and tools.kind != "/usr/local/bin/kind"
    assert [what for what, _, _ in download.calls] == ["kind", "kubectl"]
    assert any("v0.34.1" in n and f"not of the {KIND_VERSION} line" in n for n in notes)


@pytest.mark.parametrize(
    ("reply", "used"),
    [
        (kubectl_reply("v1.36.0"), True),  # one minor from the server: supported
        (kubectl_reply("v1.34.9"), True),
        (kubectl_reply("v1.38.1"), False),  # a CI runner's newest kubectl
        (kubectl_reply("v1.33.0"), False),
        ((1, "", "error: unknown flag"), False),  # a kubectl that cannot say its version
    ],
)
def test_a_kubectl_on_path_is_used_only_within_one_minor_of_the_server(
    tmp_path: Path, reply: tuple[int, str, str], used: bool
) -> None:
    run = FakeRun({("/usr/bin/kubectl", "version"): reply})
    f, download, notes = finder(tmp_path, run, {"kubectl": "/usr/bin/kubectl"})
    tools = f.find(server="v1.35.8")
    assert (tools.kubectl == "/usr/bin/kubectl") is used
    assert ("kubectl" in [what for what, _, _ in download.calls]) is not used
    assert any("not within one minor of Kubernetes v1.35.8" in n for n in notes) is not used


def test_an_explicit_kubectl_is_used_as_given_with_a_warning_when_far(tmp_path: Path) -> None:
    run = FakeRun({("/opt/kubectl", "version"): kubectl_reply("v1.38.1")})
    f, download, notes = finder(tmp_path, run, {})
    tools = f.find(kind_bin=None, kubectl_bin="/opt/kubectl", server="v1.35.8")
    assert tools.kubectl == "/opt/kubectl" and "kubectl" not in [w for w, _, _ in download.calls]
    assert any("3 minors from Kubernetes v1.35.8" in n for n in notes)


def test_an_old_kind_on_path_is_replaced_by_the_pinned_one(tmp_path: Path) -> None:
    """GitHub's runners and Homebrew ship a kind whose defaults would decide the version."""
    run = FakeRun(
        {("/usr/local/bin/kind", "version"): (0, "kind v0.29.0 go1.24 linux/amd64\n", "")}
    )
    f, download, notes = finder(tmp_path, run, {"kind": "/usr/local/bin/kind"})
    tools = f.find()
    assert tools.kind_version == KIND_VERSION and tools.kind != "/usr/local/bin/kind"
    assert [what for what, _, _ in download.calls] == ["kind", "kubectl"]
    assert any("v0.29.0" in n and f"not of the {KIND_VERSION} line" in n for n in notes)


def test_kind_bin_is_used_as_given_with_a_warning_when_old(tmp_path: Path) -> None:
    run = FakeRun(
        {("/opt/kind", "version"): (0, "kind v0.30.0 go1.24 linux/amd64\n", ""), **KUBECTL_1_35}
    )
    f, download, notes = finder(tmp_path, run, {"kubectl": "/usr/bin/kubectl"})
    tools = f.find(kind_bin="/opt/kind")
    assert (tools.kind, tools.kind_version) == ("/opt/kind", "v0.30.0")
    assert download.calls == [] and any("may not start" in n for n in notes)


def test_a_failed_download_says_what_to_install(tmp_path: Path) -> None:
    def broken(what: str, target: Path, url: str) -> None:
        raise OSError("Name or service not known")

    f = ToolFinder(
        FakeRun(),
        tmp_path,
        lambda _: None,
        which=lambda _: None,
        download=broken,
        machine=Platform("linux", "arm64"),
    )
    with pytest.raises(
        SetupError, match=r"downloading kind v0\.33\.0 for linux/arm64 failed.*PATH"
    ):
        f.find()


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_pytest_kind_ng_downloads_from_the_url_chosen_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arch: str
) -> None:
    """The real downloader: pytest-kind-ng's own code, with its HTTP call recorded."""
    import pytest_kind.cluster as kind_cluster

    monkeypatch.chdir(tmp_path)  # pytest-kind-ng makes .pytest-kind/ in the working directory
    fetched: list[str] = []

    class Response:
        def __enter__(self) -> Response:
            return self

        def __exit__(self, *exc: Any) -> None:
            return None

        def raise_for_status(self) -> None:
            return None

        def iter_content(self, chunk_size: int) -> list[bytes]:
            return [b"binary"]

    def get(url: str, stream: bool) -> Response:
        fetched.append(url)
        return Response()

    monkeypatch.setattr(kind_cluster.requests, "get", get)
    machine = Platform("linux", arch)
    kind = tmp_path / "bin" / "kind"
    kind.parent.mkdir()
    tools_module._download_with_pytest_kind("kind", kind, machine.kind_url())
    tools_module._download_with_pytest_kind(
        "kubectl", tmp_path / "bin" / "kubectl", machine.kubectl_url()
    )
    assert fetched == [machine.kind_url(), machine.kubectl_url()]
    assert kind.read_bytes() == b"binary" and os.access(kind, os.X_OK)
    assert "KIND_DOWNLOAD_URL" not in os.environ and "KUBECTL_DOWNLOAD_URL" not in os.environ
