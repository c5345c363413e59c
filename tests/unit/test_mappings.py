"""mappings.yaml: the bundled file is valid; mistakes name the key and the line."""

from __future__ import annotations

import pytest

from helpdesk_core.errors import ConfigError
from helpdesk_core.mappings import Mappings, bundled_mappings_text, load_mappings
from helpdesk_core.provision import client_readonly, provision_payload, provision_script
from helpdesk_core.yaml_source import load_yaml_model


def load(text: str) -> Mappings:
    return load_yaml_model(text, Mappings, source="m.yaml", check=Mappings.reference_problems)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_bundled_mappings_define_the_regulation() -> None:
    m = load_mappings()
    assert [t.name for t in m.trackers] == ["Баг", "Задача", "Обсуждение"]
    assert m.closed_statuses == {"Закрыто", "Отклонено"}
    assert m.default_priority == "Средний"
    assert m.portal.reasons["Консультация"] == "Обсуждение"
    assert "view_private_notes" not in m.roles.client.permissions
    assert "set_notes_private" in m.roles.support.permissions


@pytest.mark.parametrize(("old", "new", "key", "needle"), [
    ("  Консультация: Обсуждение", "  Консультация: Обсуждения", "portal.reasons.Консультация",
     "  Консультация: Обсуждения"),
    ("    issues_visibility: all", "    issues_visibility: everyone", "roles.support.issues_visibility",
     "issues_visibility: everyone"),
    ("  fallback_status: На рассмотрении", "  fallback_status: Новая", "portal.fallback_status",
     "fallback_status: Новая"),
])
def test_mistakes_name_key_and_line(old: str, new: str, key: str, needle: str) -> None:
    text = bundled_mappings_text().replace(old, new)
    assert text != bundled_mappings_text()
    with pytest.raises(ConfigError) as error:
        load(text)
    assert error.value.key == key
    assert error.value.line == line_of(text, needle)
    assert f"m.yaml:{error.value.line}" in str(error.value)


def test_broken_yaml_names_the_line() -> None:
    text = bundled_mappings_text().replace("statuses:\n", "statuses: [\n", 1)
    with pytest.raises(ConfigError) as error:
        load(text)
    assert error.value.line is not None and "not valid YAML" in str(error.value)


def test_provision_script_carries_names_only_as_base64_data() -> None:
    hostile = bundled_mappings_text().replace("support_group: Сотрудники техподдержки",
                                              "support_group: \"x'); system('touch /tmp/pwned'); #{1}\"")
    mappings = load(hostile)
    script = provision_script(mappings, "off")
    assert "system(" not in script and "pwned" not in script
    assert provision_payload(mappings, "off")["settings"]["notified_events"] == []
    assert "notified_events" not in provision_payload(mappings, "keep")["settings"]


def test_any_client_of_the_company_may_tick_the_complaint_button() -> None:
    """The button is `client: editable` and the bundled client role has edit_issues (a colleague
    of the author may tick it, not only the author; edit_own_issues is not there to narrow it);
    every other field is read-only once the issue has left its first status, and on closed ones."""
    mappings = load_mappings()
    permissions = provision_payload(mappings)["roles"]["client"]["permissions"]
    assert "edit_issues" in permissions and "edit_own_issues" not in permissions
    assert mappings.transitions("client") == set()
    readonly = {(t, s, f) for t, s, f, _ in client_readonly(mappings)}
    assert ("Баг", "В работе", "subject") in readonly and ("Баг", "В работе", "Жалобы на задержку") in readonly
    assert ("Баг", "В работе", "Пожаловаться на задержку") not in readonly
    assert ("Баг", "Закрыто", "Пожаловаться на задержку") in readonly
