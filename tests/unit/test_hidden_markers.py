"""No machine marker where clients read (regulation), recognition intact: the pure parts.

A time entry's portal id travels in the support-only field «ID трудозатрат в портале» (the
comment is the portal's text); entries of earlier versions are still recognised by the marker that
opened their comment. A delta run's note on new files hides its marker (a link reference
definition) and names the files in correct Russian.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from helpdesk_core.doctor import _recognition_field_checks
from helpdesk_core.errors import ConfigError
from helpdesk_core.export_model import TimeEntry
from helpdesk_core.mappings import load_mappings
from helpdesk_core.provision import provision_payload
from migrator.decide import COMMENT_LIMIT, Person, logged_time, time_writer
from migrator.engine import Migration, MigrationOptions
from migrator.ledger import Ledger
from migrator.live import our_time_entries, time_entry_source
from migrator.text import literal_markdown, new_files_note, note_marker, time_marker
from migrator.verify import verify_migration
from tests.hostile_export import forged_markers, staff, write_export
from tests.unit.fake_migration_redmine import ADMIN, FakeRedmine

FIELD = 77
MAPPINGS = load_mappings()


def _entry(comments: str, value: str | None, user_id: int = ADMIN) -> dict[str, object]:
    fields = [] if value is None else [{"id": FIELD, "name": "ID трудозатрат в портале", "value": value}]
    return {"id": 1, "comments": comments, "user": {"id": user_id}, "custom_fields": fields}


def test_the_field_carries_the_id_and_the_comment_is_never_read_where_it_is_set() -> None:
    assert time_entry_source(_entry("разбор логов", "W1"), FIELD) == "W1"
    # the client's own text quoting another entry's old marker: the field decides
    assert time_entry_source(_entry("[portal:time:W9] цитата", "W1"), FIELD) == "W1"


def test_an_entry_of_an_earlier_version_is_recognised_by_its_opening_comment_marker() -> None:
    assert time_entry_source(_entry(f"{time_marker('W3')} разбор", None), FIELD) == "W3"
    assert time_entry_source(_entry(f"{time_marker('W3')} разбор", ""), FIELD) == "W3"  # field there, empty
    assert time_entry_source(_entry("разбор [portal:time:W3]", None), FIELD) is None  # quoted, not opening
    assert time_entry_source(_entry("разбор", None), FIELD) is None


def test_only_this_tickets_ids_logged_for_the_tool_or_the_entrys_user_count() -> None:
    entries = [_entry("a", "W1"), _entry("b", "W2", user_id=42), _entry("c", "W9"), _entry("d", "W4", user_id=43)]
    found = our_time_entries(entries, {ADMIN}, {"W1": 5, "W2": 42, "W4": 5}, FIELD)
    assert [source for source, _ in found] == ["W1", "W2"]  # W9: another ticket's; W4: someone else logged it


def _time(comment: str, user_id: str = "S1") -> TimeEntry:
    return TimeEntry(id="W1", user_id=user_id, spent_on=date(2024, 5, 7), hours=Decimal("1.5"), comment=comment)


def test_the_comment_clients_read_is_the_portals_text_with_the_person_named_when_someone_else_logs_it() -> None:
    support = Person(10, "s.petrov", "Сергей Петров", "staff")
    client = Person(11, "i.ivanov", "Иван Иванов", "client", company_id="C1")
    own = logged_time(_time(" разбор логов "), time_writer(support, False, "Сергей Петров"))
    assert (own.person, own.comments, own.portal_id) == (support, "разбор логов", "W1")
    for_client = logged_time(_time("созвон"), time_writer(client, False, "Иван Иванов (i.ivanov)"))
    assert (for_client.person, for_client.comments) == (None, "созвон (Иван Иванов (i.ivanov))")
    assert logged_time(_time(""), time_writer(client, False, "Иван Иванов")).comments == "(Иван Иванов)"
    assert len(logged_time(_time("я" * 2000), time_writer(support, False, "x")).comments) == COMMENT_LIMIT


def test_the_rest_writer_sends_the_id_in_the_field_and_a_rerun_without_ledger_logs_nothing(tmp_path: Path) -> None:
    fake = FakeRedmine()
    piece = staff("t") + forged_markers("t", 2)  # W1xt's own text quotes W2xt's old-style marker
    export = write_export(tmp_path / "e", piece)
    Migration(export, fake, MAPPINGS, Ledger(tmp_path / "l.sqlite"), MigrationOptions(dry_run=False)).execute()  # type: ignore[arg-type]
    field = fake.field[("time_entry", "ID трудозатрат в портале")]
    logged = list(fake.time_entries.values())
    # the comments are the portal's texts (W1xt's own text quotes W2xt's old marker: client text)
    assert sorted(e["comments"] for e in logged) == ["[portal:time:W2xt] цитата", "настоящая вторая запись"]
    wanted = sorted(e["id"] for t in piece.tickets for e in t["time_entries"])
    assert sorted(v["value"] for e in logged for v in e["custom_fields"] if v["id"] == field) == wanted
    Migration(export, fake, MAPPINGS, Ledger(tmp_path / "lost.sqlite"), MigrationOptions(dry_run=False)).execute()  # type: ignore[arg-type]
    assert len(fake.time_entries) == len(logged)
    assert verify_migration(export, fake, MAPPINGS, Ledger.snapshot(tmp_path / "none")).differences == []  # type: ignore[arg-type]


def test_a_rerun_over_entries_of_an_earlier_version_logs_nothing_twice(tmp_path: Path) -> None:
    fake = FakeRedmine()
    export = write_export(tmp_path / "e", staff("t") + forged_markers("t", 2))
    Migration(export, fake, MAPPINGS, Ledger(tmp_path / "l.sqlite"), MigrationOptions(dry_run=False)).execute()  # type: ignore[arg-type]
    for logged in fake.time_entries.values():  # as an earlier version wrote them: marker first, no field
        [source] = [v["value"] for v in logged.pop("custom_fields")]
        logged["comments"] = f"{time_marker(source)} {logged['comments']}"
    before = len(fake.time_entries)
    Migration(export, fake, MAPPINGS, Ledger(tmp_path / "lost.sqlite"), MigrationOptions(dry_run=False)).execute()  # type: ignore[arg-type]
    assert len(fake.time_entries) == before
    assert verify_migration(export, fake, MAPPINGS, Ledger.snapshot(tmp_path / "none")).differences == []  # type: ignore[arg-type]


def test_the_provisioning_payload_carries_the_time_entry_field_from_mappings() -> None:
    payload = provision_payload(MAPPINGS)
    assert payload["time_entry_fields"] == [{"name": "ID трудозатрат в портале", "format": "string",
                                             "filter": False, "searchable": False, "client": "creation"}]


# --- a delta run's note on new files --------------------------------------------------------------------


def test_one_new_file_is_named_in_the_singular_and_the_marker_opens_the_note_out_of_sight() -> None:
    note = new_files_note("A9", ["отчёт.pdf"])
    assert note == "[portal:attachment:A9]: #\nФайл, добавленный в портале после переноса: отчёт.pdf"
    assert note_marker(note) == ("attachment", "A9")


def test_several_new_files_are_named_in_the_plural_by_their_names_not_ids() -> None:
    note = new_files_note("A9", ["отчёт.pdf", "скрин.png"])
    assert note.splitlines()[1] == "Файлы, добавленные в портале после переноса: отчёт.pdf, скрин.png"
    assert "A9" not in note.splitlines()[1]


def test_a_file_name_never_turns_into_markup() -> None:
    assert literal_markdown("_итог_ [1]*.png") == r"\_итог\_ \[1\]\*.png"
    assert literal_markdown("отчёт.pdf") == "отчёт.pdf"


def test_the_old_form_of_the_note_is_still_recognised() -> None:
    assert note_marker("_[portal:attachment:A9] Вложения из портала: A9, A10_") == ("attachment", "A9")
    assert note_marker("Вложения [portal:attachment:A9]: #\n") is None  # quoted, not opening


def test_doctor_reports_the_time_entry_field_missing_of_another_kind_or_visible_to_clients() -> None:
    name = "ID трудозатрат в портале"
    hidden = {"name": name, "customized_type": "time_entry", "visible": False}

    def verdict(fields: dict[str, dict[str, object]]) -> tuple[str, str]:
        [check] = [c for c in _recognition_field_checks(fields, MAPPINGS) if c.subject == name]
        return check.status, check.detail

    assert verdict({name: hidden}) == ("ok", "")
    assert verdict({}) == ("problem", "missing")
    assert verdict({name: {**hidden, "customized_type": "issue"}}) == (
        "problem", "a issue field (want a time_entry field)")
    assert verdict({name: {**hidden, "visible": True}}) == (
        "problem", "visible to every role (clients would read the portal ids)")


def test_a_redmine_not_provisioned_for_the_field_is_told_to_run_provision(tmp_path: Path) -> None:
    fake = FakeRedmine()
    fake.fields = [f for f in fake.fields if f["customized_type"] != "time_entry"]
    export = write_export(tmp_path / "e", staff("t") + forged_markers("t", 2))
    with pytest.raises(ConfigError, match="time entry custom field ID трудозатрат в портале: run `helpdesk provision`"):
        Migration(export, fake, MAPPINGS, Ledger(tmp_path / "l.sqlite"), MigrationOptions()).execute()  # type: ignore[arg-type]
    assert fake.writes == []
