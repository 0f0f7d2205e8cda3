"""Reading a kubeconfig's contexts: every way a file can be wrong is one UsageError line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol_conformance.cluster.kubeconfig import (
    KubeconfigContexts,
    kubeconfig_path,
    read_kubeconfig_contexts,
    require_kube_context,
)
from netpol_conformance.errors import UsageError

REPO = Path(__file__).resolve().parents[2]

GOOD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [
        {"name": "lab", "cluster": {"server": "https://127.0.0.1:6443"}},
        {"name": "ci", "cluster": {"server": "https://127.0.0.1:7443"}},
    ],
    "users": [{"name": "admin", "user": {"token": "x"}}, {"name": "anonymous", "user": None}],
    "contexts": [
        {"name": "lab", "context": {"cluster": "lab", "user": "admin"}},
        {"name": "ci", "context": {"cluster": "ci", "user": "anonymous", "namespace": "default"}},
        {"name": "no-user", "context": {"cluster": "ci"}},
    ],
    "current-context": "lab",
}


def write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "config"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(yaml.safe_dump(content))
    return path


def error(path: Path | str, context: str | None = None) -> str:
    with pytest.raises(UsageError) as info:
        if context is None:
            read_kubeconfig_contexts(path)
        else:
            require_kube_context(path, context)
    message = str(info.value)
    assert "\n" not in message
    assert info.value.exit_code == 2
    return message


def test_contexts_and_the_current_one_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    contexts = read_kubeconfig_contexts(path)
    assert contexts.names == ("lab", "ci", "no-user")
    assert contexts.current == "lab"
    assert (contexts.clusters, contexts.users) == (("lab", "ci"), ("admin", "anonymous"))
    assert require_kube_context(path, "ci") == contexts
    require_kube_context(path, "no-user")  # a context may go without a user


def test_no_current_context_is_none(tmp_path: Path) -> None:
    data = {k: v for k, v in GOOD.items() if k != "current-context"}
    assert read_kubeconfig_contexts(write(tmp_path, data)).current is None
    assert (
        read_kubeconfig_contexts(write(tmp_path, {**data, "current-context": ""})).current is None
    )


def test_a_context_it_lacks_lists_the_ones_it_has(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    assert error(path, "prod") == (
        f"kubeconfig {path} has no context 'prod'; it has: lab, ci, no-user "
        "(choose one with --kube-context)"
    )


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"contexts": [{"name": "lab", "context": {"cluster": "gone"}}]},
         "context 'lab' names cluster 'gone', which it does not define"),
        ({"contexts": [{"name": "lab", "context": {"user": "admin"}}]},
         "context 'lab' names no cluster"),
        ({"contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "root"}}]},
         "context 'lab' names user 'root', which it does not define"),
    ],
)  # fmt: skip
def test_the_chosen_context_must_name_what_the_file_defines(
    tmp_path: Path, change: dict[str, Any], needle: str
) -> None:
    path = write(tmp_path, {**GOOD, **change})
    assert error(path, "lab") == f"kubeconfig {path}: {needle}"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\xff\xfeapiVersion: v1\n", "is not UTF-8 text (byte 0)"),
        ("clusters: [\n", "is not valid YAML (line 2): "),
        ("", "is empty"),
        ("just a string\n", "must be a mapping with clusters, contexts and users, found a string"),
        ("- a\n- b\n", "must be a mapping with clusters, contexts and users, found a list"),
        ({"apiVersion": "v1"}, "defines no contexts"),
        ({"contexts": []}, "defines no contexts"),
        ({"contexts": {"lab": {}}}, "contexts must be a list, found a mapping"),
        ({"contexts": ["lab"]},
         "contexts[0] must be a mapping with a name and a context, found a string 'lab'"),
        ({"contexts": [{"context": {}}]}, "contexts[0] has no name; every entry needs a name"),
        ({"contexts": [{"name": 7, "context": {}}]}, "contexts[0] has name an integer 7"),
        ({"contexts": [{"name": "", "context": {}}]}, "contexts[0] has name a string ''"),
        ({"contexts": [{"name": "a"}]}, "contexts[0] (a) needs a context mapping, found none"),
        ({"contexts": [{"name": "a", "context": "lab"}]},
         "contexts[0] (a) needs a context mapping, found a string 'lab'"),
        ({"contexts": [{"name": "a", "context": {}}, {"name": "a", "context": {}}]},
         "context 'a' is defined twice (contexts[0], contexts[1])"),
        ({"contexts": [{"name": "a", "context": {"cluster": ["x"]}}]},
         "contexts[0].context.cluster must be a name, found a list"),
        ({**GOOD, "current-context": ["lab"]}, "current-context must be a string, found a list"),
        ({**GOOD, "clusters": 5}, "clusters must be a list, found an integer 5"),
        ({**GOOD, "clusters": [{"name": "lab"}]}, "clusters[0] (lab) needs a cluster mapping"),
        ({**GOOD, "users": [{"user": {}}]}, "users[0] has no name"),
    ],
)  # fmt: skip
def test_each_malformed_file_is_one_line_naming_the_file(
    tmp_path: Path, content: Any, needle: str
) -> None:
    path = write(tmp_path, content)
    message = error(path)
    assert message.startswith(f"kubeconfig {path}")
    assert needle in message


def test_missing_and_unreadable_paths(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert error(missing) == (
        f"kubeconfig {missing} does not exist: pass --kubeconfig PATH or set KUBECONFIG"
    )
    assert error(tmp_path) == f"kubeconfig {tmp_path} is a directory, not a kubeconfig file"
    assert error("") == "no kubeconfig given: pass --kubeconfig PATH or set KUBECONFIG"


def test_the_path_comes_from_the_option_then_the_environment_then_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", "/a/config:/b/config")
    assert kubeconfig_path("/explicit") == "/explicit"
    assert kubeconfig_path(None) == "/a/config"
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert kubeconfig_path(None) == str(tmp_path / ".kube" / "config")


def test_reading_a_kubeconfig_does_not_import_the_kubernetes_client() -> None:
    code = (
        "import sys, netpol_conformance.cluster.kubeconfig; sys.exit('kubernetes' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0


# --- any content at all: a result or one UsageError line, never another exception

FIXTURE = HealthCheck.function_scoped_fixture  # tmp_path: each example overwrites one file
YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "context",
                    "cluster",
                    "user",
                    "contexts",
                    "clusters",
                    "users",
                    "current-context",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(YAML_VALUES, st.sampled_from(["lab", "a", ""]))
def test_any_yaml_gives_contexts_or_one_usage_error(
    tmp_path: Path, data: Any, context: str
) -> None:
    path = write(tmp_path, yaml.safe_dump(data))
    try:
        contexts = require_kube_context(path, context)
    except UsageError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
    else:
        assert isinstance(contexts, KubeconfigContexts) and context in contexts.names


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=64))
def test_any_bytes_give_contexts_or_one_usage_error(tmp_path: Path, raw: bytes) -> None:
    path = write(tmp_path, raw)
    try:
        read_kubeconfig_contexts(path)
    except UsageError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


# --- the client loader uses it


def test_the_client_loader_refuses_an_unknown_context_as_a_usage_error(tmp_path: Path) -> None:
    from netpol_conformance.cluster.kube import load_configuration

    path = write(tmp_path, GOOD)
    with pytest.raises(UsageError, match="has no context 'prod'; it has: lab, ci, no-user"):
        load_configuration(str(path), "prod")
    assert load_configuration(str(path), "lab").host == "https://127.0.0.1:6443"


def test_what_the_client_trips_on_is_a_usage_error_too(tmp_path: Path) -> None:
    from netpol_conformance.cluster.kube import load_configuration

    cluster = {"server": "https://127.0.0.1:6443", "certificate-authority": 5}
    broken = {**GOOD, "clusters": [{"name": "lab", "cluster": cluster}]}
    with pytest.raises(UsageError) as info:
        load_configuration(str(write(tmp_path, broken)), "lab")
    assert str(info.value).startswith(f"kubeconfig {tmp_path / 'config'}, context 'lab': ")
