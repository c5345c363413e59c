"""Text audits over the corpus, plus the config's validation and the matching details."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from helpdesk_core.errors import ConfigError
from policies.text_audits import (
    AuditConfig,
    PhraseSet,
    TicketText,
    ToneConfig,
    audit_completeness,
    audit_delay_complaint,
    audit_priority,
    audit_tone,
    load_audit_config,
)
from tests.unit.corpus_tickets import (
    BAD_COMPLETENESS,
    BAD_PRIORITY,
    BAD_TONE,
    CALM_TEXTS,
    DELAY_COMPLAINTS,
    GOOD_TICKETS,
    NOT_DELAY_COMPLAINTS,
)

CFG = load_audit_config()


def _ids(cases: list[tuple]) -> list[str]:
    return [case[0] for case in cases]


@pytest.mark.parametrize(("name", "ticket"), GOOD_TICKETS, ids=_ids(GOOD_TICKETS))
def test_good_tickets_are_not_flagged(name: str, ticket: TicketText) -> None:
    assert audit_priority(ticket, CFG) is None
    assert audit_completeness(ticket, CFG) is None
    assert audit_tone(ticket.body(), CFG) is None
    for comment in ticket.client_comments:
        assert audit_tone(comment, CFG) is None
        assert audit_delay_complaint(comment, CFG) is None


def test_corpus_is_big_enough() -> None:
    assert len(GOOD_TICKETS) >= 8
    assert min(len(BAD_PRIORITY), len(BAD_COMPLETENESS), len(BAD_TONE), len(DELAY_COMPLAINTS)) >= 2


# --- priority ------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "ticket", "suggested", "fragment"), BAD_PRIORITY, ids=_ids(BAD_PRIORITY))
def test_wrong_priority_is_flagged(name: str, ticket: TicketText, suggested: str, fragment: str) -> None:
    finding = audit_priority(ticket, CFG)
    assert finding is not None
    assert finding.rule == "priority-audit"
    assert finding.current == ticket.priority
    assert finding.suggested == suggested
    assert any(fragment in line for line in finding.evidence), finding.evidence
    assert all(line.startswith("«") and line.endswith("»") for line in finding.evidence)
    assert finding.matched_rule in finding.summary
    assert finding.explanation


def test_direction_and_rule_names() -> None:
    lower = audit_priority(BAD_PRIORITY[0][1], CFG)
    higher = audit_priority(BAD_PRIORITY[2][1], CFG)
    assert lower is not None and lower.direction == "lower" and lower.matched_rule == "blocker-works"
    assert higher is not None and higher.direction == "raise"
    assert higher.matched_rule == "money-under-critical"


def test_yo_and_case_are_folded() -> None:
    ticket = TicketText(priority="низкий", description="ПОТЕРЯ ДЕНЕГ: деньги ушли, а заказ не создан")
    finding = audit_priority(ticket, CFG)
    assert finding is not None and finding.suggested == "Критический" and finding.current == "Низкий"
    # ё in the text is matched by е in the patterns, and quoted as the client wrote it.
    yo = audit_priority(TicketText(priority="Низкий", description="Нам пришёл штраф"), CFG)
    assert yo is not None and "«пришёл штраф»" in yo.evidence


def test_negated_money_phrase_is_not_money() -> None:
    ticket = TicketText(priority="Низкий", description="Оплата не прошла, деньги не списались, это норма.")
    assert audit_priority(ticket, CFG) is None


def test_cosmetic_words_in_a_functional_failure_do_not_lower() -> None:
    ticket = TicketText(priority="Критический",
                        description="Кнопка оплаты съехала и не нажимается, клиенты не могут оплатить.")
    assert audit_priority(ticket, CFG) is None


def test_unknown_priority_is_left_alone() -> None:
    assert audit_priority(TicketText(priority="Normal", description="Поиск работает, но"), CFG) is None


def test_later_comments_do_not_change_priority_audit() -> None:
    ticket = TicketText(priority="Блокер", subject="Сайт не открывается",
                        client_comments=["Спасибо, поиск работает, но медленно"])
    assert audit_priority(ticket, CFG) is None


# --- completeness --------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "ticket", "missing"), BAD_COMPLETENESS, ids=_ids(BAD_COMPLETENESS))
def test_missing_data_is_flagged(name: str, ticket: TicketText, missing: list[str]) -> None:
    finding = audit_completeness(ticket, CFG)
    assert finding is not None
    assert finding.rule == "completeness-audit"
    assert [m.check for m in finding.missing] == missing
    assert all(m.label for m in finding.missing)
    assert len(finding.evidence) == len(missing)


def test_conditional_check_says_why_it_applies() -> None:
    finding = audit_completeness(BAD_COMPLETENESS[2][1], CFG)
    assert finding is not None
    assert "«терминале»" in finding.evidence[0] and "«Sabre»" in finding.evidence[0]


def test_discussion_needs_nothing() -> None:
    ticket = TicketText(tracker="Обсуждение", description="Сравнили с терминалом, вопрос по отображению")
    assert audit_completeness(ticket, CFG) is None


def test_tracker_map_is_configuration() -> None:
    completeness = CFG.completeness.model_copy(update={"default_checks": ["page_link"]})
    cfg = CFG.model_copy(update={"completeness": completeness})
    finding = audit_completeness(TicketText(tracker="Feature", description="Вопрос"), cfg)
    assert finding is not None and [m.check for m in finding.missing] == ["page_link"]


def test_pnr_must_be_upper_case_latin() -> None:
    base = {"tracker": "Баг", "custom_fields": {"Учетная запись": "a", "Ссылка на страницу": "https://x.ru"}}
    assert audit_completeness(TicketText(description="Бронь ZX4KLM не выписана", **base), CFG) is None
    assert audit_completeness(TicketText(description="Бронь QWERTY не выписана", **base), CFG) is None
    flagged = audit_completeness(TicketText(description="Ошибка: unable to process", **base), CFG)
    assert flagged is not None and [m.check for m in flagged.missing] == ["order_numbers"]
    lower = audit_completeness(TicketText(description="бронь zx4klm", **base), CFG)
    assert lower is not None
    seven = audit_completeness(TicketText(description="см. AMADEUS1 и GALILEO", **base), CFG)
    assert seven is not None


def test_image_link_satisfies_screenshots() -> None:
    ticket = TicketText(tracker="Задача", description="В терминале другое: https://files.example.ru/x/term.jpeg")
    assert audit_completeness(ticket, CFG) is None


# --- tone ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "text", "fragment"), BAD_TONE, ids=_ids(BAD_TONE))
def test_shouting_is_flagged(name: str, text: str, fragment: str) -> None:
    finding = audit_tone(text, CFG)
    assert finding is not None
    assert finding.rule == "tone-audit"
    assert any(fragment in line for line in finding.evidence), finding.evidence


@pytest.mark.parametrize("text", CALM_TEXTS)
def test_calm_text_is_not_flagged(text: str) -> None:
    assert audit_tone(text, CFG) is None


def test_caps_share_reported_and_threshold_configurable() -> None:
    text = "ПОЖАЛУЙСТА ПРОВЕРЬТЕ заказ, он не выписан"
    finding = audit_tone(text, CFG)
    assert finding is None  # 19 of 35 letters in capitals is below 0.6...
    strict = CFG.model_copy(update={"tone": ToneConfig(uppercase_share=Decimal("0.5"))})
    finding = audit_tone(text, strict)
    assert finding is not None and finding.uppercase_share == Decimal("0.54")
    assert finding.exclamation_runs == 0


def test_too_few_letters_to_judge_caps() -> None:
    finding = audit_tone("СРОЧНО", CFG)
    assert finding is None
    finding = audit_tone("СРОЧНО!!!", CFG)
    assert finding is not None and finding.uppercase_share is None and finding.exclamation_runs == 1


# --- delay complaints ----------------------------------------------------------------------

@pytest.mark.parametrize("comment", DELAY_COMPLAINTS)
def test_delay_complaint(comment: str) -> None:
    finding = audit_delay_complaint(comment, CFG)
    assert finding
    assert finding.rule == "delay-complaint"
    assert finding.evidence and finding.summary


@pytest.mark.parametrize("comment", NOT_DELAY_COMPLAINTS)
def test_not_a_delay_complaint(comment: str) -> None:
    assert audit_delay_complaint(comment, CFG) is None


# --- configuration -------------------------------------------------------------------------

def test_phrase_set_exclude_and_merge() -> None:
    phrases = PhraseSet.model_validate({"patterns": [r"нет\s+ответа", r"ответа\s+уже"],
                                        "exclude": [r"от\s+банка"]})
    assert phrases.find("Нет ответа уже день") == ["Нет ответа уже"]
    assert phrases.find("нет ответа от банка") == ["нет ответа"]
    assert PhraseSet.model_validate(["ё"]).find("Ёлка и елка") == ["Ё", "е"]


def test_config_validation_names_the_problem(tmp_path: Path) -> None:
    data = CFG.model_dump(mode="json")
    data["priority"]["rules"][0]["any_of"] = ["no_such_signal"]
    with pytest.raises(ValidationError, match="unknown signal 'no_such_signal'"):
        AuditConfig.model_validate(data)
    data = CFG.model_dump(mode="json")
    data["completeness"]["trackers"]["Баг"].append("nope")
    with pytest.raises(ValidationError, match="unknown check 'nope'"):
        AuditConfig.model_validate(data)
    bad = tmp_path / "rules.yaml"
    bad.write_text("priority:\n  levels: [A, B]\n  signals:\n    x: ['(unclosed']\n  rules: []\n",
                   encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rules.yaml:4.*invalid regular expression"):
        load_audit_config(bad)


def test_config_round_trips() -> None:
    again = AuditConfig.model_validate(CFG.model_dump(mode="json"))
    ticket = BAD_PRIORITY[0][1]
    assert audit_priority(ticket, again) == audit_priority(ticket, CFG)
