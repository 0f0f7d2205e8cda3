"""The command registry: each subcommand module adds its parser and runs its own function."""

from __future__ import annotations

import pytest

from netpol_conformance import cli


def _command_name(module: object) -> str:
    """A module's subcommand: its name, with dashes for underscores (upgrade_check)."""
    return str(module.__name__).rsplit(".", 1)[1].replace("_", "-")  # type: ignore[attr-defined]


def test_every_registered_module_adds_the_subcommand_named_after_it() -> None:
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert list(subparsers.choices) == [_command_name(m) for m in cli.COMMANDS]
    for name, sub in subparsers.choices.items():
        module = next(m for m in cli.COMMANDS if _command_name(m) == name)
        assert sub.get_default("func") is module.run


def test_no_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2
    assert "simulate" in capsys.readouterr().err
