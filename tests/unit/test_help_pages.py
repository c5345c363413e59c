"""CLI conventions: help pages within 80 columns with every option name whole, plain flags shown
as flags, `--version`, `--lang` after the subcommand, and click's own messages in Russian."""

from __future__ import annotations

import pytest

import cli
from tests.unit.test_cli import all_commands

PATHS = [(), *{p[:1] for p in all_commands() if len(p) > 1}, *all_commands()]


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("path", PATHS)
def test_help_fits_80_columns_and_names_every_option_whole(path: tuple[str, ...], lang: str,
                                                           capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # wider terminals still get 80 columns
    assert cli.main(["--lang", lang, *path, "--help"]) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if len(line) > 80] == []
    assert "<bool>" not in out
    command = cli.typer.main.get_command(cli.app)
    for name in path:
        command = command.commands[name]
    for param in command.params:
        for option in getattr(param, "opts", []):
            if option.startswith("--"):
                assert option in out, option


def test_plain_flags_are_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--lang", "en", "migrate", "run", "--help"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "--allow-notifications" in line)
    assert all(word.startswith("--") for word in line.replace(",", " ").split())  # no value follows a flag
    dry = next(line for line in out.splitlines() if line.strip().startswith("--workers"))
    assert dry.split()[1] == "N"  # an option with a value says so


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("helpdesk ") and out.strip().split()[1][0].isdigit()


def test_lang_after_the_subcommand_and_click_errors_in_russian(capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELPDESK_LANG", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert cli.main(["sweep", "rules", "--help", "--lang", "en"]) == 0
    assert "Usage: helpdesk sweep rules" in capsys.readouterr().out
    assert cli.main(["nosuch"]) == 2
    assert capsys.readouterr().err.splitlines() == ["ошибка: нет такой команды: nosuch.",
                                                    "подсказка: см. `helpdesk --help`"]
    assert cli.main(["migrate", "plan"]) == 2
    assert "ошибка: не хватает аргумента export." in capsys.readouterr().err
    assert cli.main(["sweep", "run", "--workers", "99"]) == 2
    assert "ошибка: недопустимое значение --workers: нужно не больше 32" in capsys.readouterr().err
    assert cli.main(["--lang", "en", "nosuch"]) == 2
    assert "error: No such command 'nosuch'." in capsys.readouterr().err
