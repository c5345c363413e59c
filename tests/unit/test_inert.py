"""Issue 11, item 8: untrusted text reaches the terminal inert (no ESC/CSI/OSC, C1, bidi)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from rich.console import Console

import cli
from helpdesk_cli.terminal import render_terminal
from helpdesk_core.inert import inert, inert_json
from helpdesk_core.messages import messages_for
from helpdesk_core.report import Column, Metric, Report, Section, Table

HOSTILE = [
    "\x1b[2J\x1b[H",                      # clear the screen, cursor home
    "\x1b[31mred\x1b[0m",                 # colour
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x1b]0;window title\x07",            # OSC 0 title, BEL-terminated
    "\x9b2J",                             # C1 CSI
    "\x9d0;title\x9c",                    # C1 OSC ... ST
    "safe\u202egnp.exe",                  # right-to-left override
    "\u2066isolated\u2069\u200f",         # isolates and a mark
    "bell\x07 back\x08 cr\r del\x7f",
]
FORBIDDEN = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))] + [
    "\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)),
    "\u2028", "\u2029"]


def assert_inert(text: str) -> None:
    found = sorted({f"U+{ord(c):04X}" for c in text if c in FORBIDDEN})
    assert found == [], found


@pytest.mark.parametrize("text", HOSTILE)
def test_inert_leaves_nothing_a_terminal_obeys_and_shows_what_was_there(text: str) -> None:
    shown = inert(text)
    assert_inert(shown)
    assert len(shown) >= len(text)  # replaced by a stand-in, never silently dropped


def test_inert_keeps_ordinary_text_newlines_and_tabs() -> None:
    text = "Обращение «Ромашка»\n\tстрока 2 — ok ✓"
    assert inert(text) == text
    assert inert("\x1b[2J") == "␛[2J" and inert("\u202e") == "<U+202E>" and inert("\x9b") == "<U+009B>"


def hostile_report() -> Report:
    rows = [{"priority": text, "subject": f"Тема {text}", "login": text} for text in HOSTILE]
    return Report(title="Отчёт \x1b]0;PWN\x07", subtitle="\x1b[2J", generated_at=datetime(2026, 1, 1, tzinfo=UTC),
                  summary=[Metric(label="\x9b31m", value="\x1b[5m")],
                  sections=[Section(title="\u202eSection", table=Table(
                      columns=[Column(key=k, label=k + "\x1b[7m") for k in ("priority", "subject", "login")],
                      rows=rows))])


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_terminal_renderer_prints_every_string_inert(lang: str) -> None:
    out = io.StringIO()
    render_terminal(hostile_report(), Console(file=out, width=200, force_terminal=False, color_system=None),
                    messages_for(lang))
    text = out.getvalue()
    assert_inert(text)
    assert "␛[2J" in text and "<U+202E>" in text  # shown, not hidden


def test_error_output_is_inert(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REDMINE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("REDMINE_API_KEY", "x" * 40)
    assert cli.main(["sweep", "plan", "--now", "2026\x1b]0;PWN\x07\u202e"]) == 2
    err = capsys.readouterr().err
    assert_inert(err)
    assert "␛]0;PWN␇" in err


def test_json_on_stdout_is_the_same_data_and_inert() -> None:
    document = json.dumps({"subject": "".join(HOSTILE)}, ensure_ascii=False)
    shown = inert_json(document)
    assert_inert(shown)
    assert json.loads(shown) == json.loads(document)
