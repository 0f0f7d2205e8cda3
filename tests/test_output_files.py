"""Output files go to regular files only: a device, FIFO, socket or directory (or a link to
one) is refused with one line before any work, and is still what it was afterwards."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from report_runs import make_run

from netpol_conformance.cli import main
from netpol_conformance.errors import ResultsWriteError, UsageError
from netpol_conformance.output_files import check_output, output_problem
from netpol_conformance.results.write import write_atomically, write_results

ROOT = Path(__file__).resolve().parents[1]


def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def char_device(tmp_path: Path) -> Path:
    """A node with /dev/null's numbers, in the test's own directory: if the suite replaced
    it, only this node would be lost."""
    if os.geteuid() != 0:
        pytest.skip("mknod of a device needs root")
    path = tmp_path / "null"
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        yield path


KINDS: dict[str, Callable[[Path], Path]] = {
    "a FIFO": fifo,
    "a character device": char_device,
    "a directory": lambda tmp: tmp,
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_anything_but_a_regular_file_is_refused_and_left_alone(tmp_path: Path, kind: str) -> None:
    path = KINDS[kind](tmp_path)
    before = path.lstat().st_mode
    assert kind.split()[-1] in str(output_problem(path))
    with pytest.raises(UsageError, match="--html: "):
        check_output(path, "--html")
    with pytest.raises(ResultsWriteError, match=f"cannot write the file: {path} "):
        write_atomically(path, "text")
    assert path.lstat().st_mode == before


def test_a_socket_and_a_link_to_a_fifo_are_refused(tmp_path: Path, unix_socket: Path) -> None:
    assert "is a socket" in str(output_problem(unix_socket))
    link = tmp_path / "link"
    link.symlink_to(fifo(tmp_path))
    assert "a FIFO (through a symbolic link)" in str(output_problem(link))
    with pytest.raises(ResultsWriteError):
        write_atomically(link, "text")
    assert stat.S_ISFIFO((tmp_path / "pipe").stat().st_mode) and link.is_symlink()


def test_a_regular_file_or_nothing_is_fine_and_a_link_is_written_through(tmp_path: Path) -> None:
    assert output_problem(tmp_path / "new.json") is None
    check_output(None, "--html")
    check_output("-", "--markdown")  # stdout
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_atomically(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_report_refuses_a_fifo_before_reading_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipe = fifo(tmp_path)
    code = main(["report", str(tmp_path / "missing.json"), "--markdown", str(pipe)])
    err = capsys.readouterr().err
    assert code == 2 and f"--markdown: {pipe} is a FIFO" in err and err.count("\n") == 1
    assert stat.S_ISFIFO(pipe.stat().st_mode)


def test_report_html_into_a_directory_names_the_option_not_a_results_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_results(make_run(scenarios=("0-no-policies",)), tmp_path / "r.json")
    assert main(["report", str(tmp_path / "r.json"), "--html", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"--html: {tmp_path} is a directory" in err and "results file" not in err


def test_the_suite_refuses_a_fifo_as_its_results_file_before_any_cluster_work(
    tmp_path: Path,
) -> None:
    pipe = fifo(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "suites", "--cluster", "simulated",
         "--netpol-results", str(pipe), "-p", "no:cacheprovider", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert f"--netpol-results: {pipe} is a FIFO" in proc.stderr
    assert "deploying" not in proc.stdout + proc.stderr
    assert stat.S_ISFIFO(pipe.stat().st_mode)


def test_upgrade_check_out_must_be_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("x")
    args = ["upgrade-check", "--cluster", "simulated", "--upgrade-command", "true"]
    assert main([*args, "--out", str(taken)]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "is not a directory" in err and err.count("\n") == 1
    assert main([*args, "--out", str(tmp_path / "o"), "--html", str(fifo(tmp_path))]) == 2
    assert "--html: " in capsys.readouterr().err
