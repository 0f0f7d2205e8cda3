"""`netpol-conformance cleanup` refuses a bad kubeconfig or context in one line, before any call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from netpol_conformance.cli import main

REPO = Path(__file__).resolve().parents[2]

KUBECONFIG = {
    "clusters": [{"name": "lab", "cluster": {"server": "https://127.0.0.1:6443"}}],
    "users": [{"name": "admin", "user": {"token": "x"}}],
    "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "admin"}}],
}


def cleanup(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["cleanup", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\x89PNG\r\n\x1a\n", "is not UTF-8 text (byte 0)"),
        (
            b"a plain string\n",
            "must be a mapping with clusters, contexts and users, found a string",
        ),
        (b"- lab\n", "found a list"),
        (b"contexts: [lab]\n", "contexts[0] must be a mapping"),
        (b"clusters: [\n", "is not valid YAML (line 2)"),
    ],
)
def test_a_malformed_kubeconfig_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, needle: str
) -> None:
    path = tmp_path / "config"
    path.write_bytes(content)
    code, out, err = cleanup(capsys, "--kube-context", "lab", "--kubeconfig", path)
    assert (code, out) == (2, "")
    assert err.startswith(f"netpol-conformance: error: kubeconfig {path}")
    assert needle in err
    assert err.count("\n") == 1


def test_a_context_the_kubeconfig_lacks_lists_the_ones_it_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(KUBECONFIG))
    code, out, err = cleanup(capsys, "--kube-context", "prod", "--kubeconfig", path)
    assert (code, out) == (2, "")
    assert err == (
        f"netpol-conformance: error: kubeconfig {path} has no context 'prod'; it has: lab "
        "(choose one with --kube-context)\n"
    )


def test_the_kubeconfig_defaults_to_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "absent"
    monkeypatch.setenv("KUBECONFIG", str(missing))
    code, _, err = cleanup(capsys, "--kube-context", "lab")
    assert code == 2
    assert f"kubeconfig {missing} does not exist" in err


def test_the_console_command_shows_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_bytes(b"\xff\xfe\x00k\x00i\x00n\x00d\x00")
    done = subprocess.run(
        [sys.executable, "-m", "netpol_conformance.cli", "cleanup", "--kube-context", "lab",
         "--kubeconfig", str(path)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"netpol-conformance: error: kubeconfig {path} is not UTF-8 text (byte 0): "
        "is it a kubeconfig?\n"
    )
