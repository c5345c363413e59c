"""Redmine speaks Russian to clients: provisioning sets the default, accounts carry it, doctor checks it."""

from __future__ import annotations

import pytest

from helpdesk_core.doctor import EmailSettings, _account_languages_check, _language_check
from helpdesk_core.mail_preferences import with_client_preferences
from helpdesk_core.mappings import load_mappings
from helpdesk_core.messages import messages_for
from helpdesk_core.provision import provision_payload


@pytest.mark.parametrize("notifications", ["keep", "on", "off"])
def test_provisioning_makes_russian_redmines_default_language_in_every_mode(notifications: str) -> None:
    settings = provision_payload(load_mappings(), notifications)["settings"]  # type: ignore[arg-type]
    assert settings["default_language"] == "ru"


def test_an_approved_account_gets_russian_whatever_it_registered_with() -> None:
    body = with_client_preferences({"user": {"status": 1, "language": "en"}})
    assert body["user"] == {"status": 1, "mail_notification": "only_my_events", "language": "ru"}


def test_doctor_finds_an_english_default_a_problem_and_says_so_in_russian() -> None:
    check = _language_check(EmailSettings(notified_events=[], default_language="en"))
    assert (check.area, check.status) == ("language", "problem")
    assert "provision" in check.fix
    m = messages_for("ru")
    assert m.text(check.detail) == "en, а не русский: на нём клиенты читают страницы и письма"
    assert m.text(check.subject) == "язык Redmine по умолчанию"


def test_doctor_finds_a_russian_default_fine() -> None:
    check = _language_check(EmailSettings(notified_events=[], default_language="ru"))
    assert check.status == "ok"
    assert messages_for("ru").text(check.detail) == "русский"


def test_doctor_warns_of_accounts_keeping_another_language_of_their_own() -> None:
    """Redmine stored its default of the moment (English) in accounts made before provisioning."""
    mixed = _account_languages_check(EmailSettings(notified_events=[], account_languages={"": 1, "ru": 9, "en": 2}))
    assert mixed.status == "warning"
    assert messages_for("ru").text(mixed.detail) == (
        "свой язык, не русский, у учётных записей (не администраторов): 2; на нём они читают страницы и письма")
    fine = _account_languages_check(EmailSettings(notified_events=[], account_languages={"": 1, "ru": 9}))
    assert fine.status == "ok"
