"""CLI conventions every command keeps: help with examples, exit codes, one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer

import cli


def all_commands() -> list[tuple[str, ...]]:
    root = typer.main.get_command(cli.app)
    found: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):  # a group (click is vendored by newer typer)
            for name, sub in command.commands.items():
                walk(sub, (*path, name))
        else:
            found.append(path)

    walk(root, ())
    return found


def test_every_command_is_documented_with_an_example() -> None:
    commands = all_commands()
    assert ("migrate", "run") in commands and ("doctor",) in commands
    root = typer.main.get_command(cli.app)
    for path in commands:
        command = root
        for name in path:
            command = command.commands[name]
        assert command.help and len(command.help) > 20, f"{' '.join(path)} has no help"
        if path[0] in ("migrate", "provision", "doctor"):
            assert "Example:" in command.help, f"{' '.join(path)} has no example"


@pytest.mark.parametrize("path", all_commands())
def test_help_of_every_command_exits_0(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--lang", "en", *path, "--help"]) == 0
    assert "Usage" in capsys.readouterr().out
    assert cli.main([*path, "--help", "--lang", "ru"]) == 0
    assert "Использование:" in capsys.readouterr().out


def test_missing_connection_is_a_one_line_configuration_error(monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("REDMINE_URL", raising=False)
    monkeypatch.delenv("REDMINE_API_KEY", raising=False)
    monkeypatch.delenv("HELPDESK_CONFIG", raising=False)
    assert cli.main(["doctor"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "не заданы REDMINE_URL и REDMINE_API_KEY" in captured.err  # Russian by default
    assert "Traceback" not in captured.err


def test_unreachable_redmine_fails_with_exit_1_and_a_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("REDMINE_URL", "REDMINE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    key = "0123456789abcdef" * 2 + "01234567"
    config = tmp_path / "helpdesk.yaml"
    config.write_text("redmine:\n  url: http://127.0.0.1:9\n  api_key: " + key +
                      "\n  retry: {attempts: 2, initial_wait: 0, max_wait: 0}\n")
    assert cli.main(["--config", str(config), "doctor", "--format", "json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "попыток: 2, все неудачны" in captured.err and "подсказка: проверьте REDMINE_URL" in captured.err
    assert key not in captured.err


def test_bad_config_file_names_key_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDMINE_URL", "REDMINE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "helpdesk.yaml"
    config.write_text("redmine:\n  url: http://x\n  api_key: secret-key-value\n  timeout: soon\n")
    assert cli.main(["--config", str(config), "doctor"]) == 2
    err = capsys.readouterr().err
    assert "redmine.timeout" in err and "secret-key-value" not in err


def test_provision_without_ruby_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["provision"]) == 2
    assert "--ruby" in capsys.readouterr().err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrate", "plan", "--no-such-option"]) == 2
