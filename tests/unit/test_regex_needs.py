"""policies.regex_needs: a pattern said to be impossible in a text never matches it there, so the
audits that skip such scans decide exactly as if they had run them."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.regex_needs import may_match, needs
from policies.text_audits import PhraseSet, _Model, load_audit_config


def _patterns(obj: object) -> list[re.Pattern[str]]:
    if isinstance(obj, re.Pattern):
        return [obj]
    if isinstance(obj, PhraseSet):
        return [*obj.patterns, *obj.exclude]
    if isinstance(obj, dict):
        return [p for v in obj.values() for p in _patterns(v)]
    if isinstance(obj, list):
        return [p for v in obj for p in _patterns(v)]
    if isinstance(obj, _Model):
        return [p for k in type(obj).model_fields for p in _patterns(getattr(obj, k))]
    return []


SHIPPED = _patterns(load_audit_config())


def test_the_needs_are_read_from_the_expression() -> None:
    assert needs(re.compile(r"(?:сирен\w*|sabre)\s*:[^\n]*", re.I)) == {":"}
    assert needs(re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")) == {"@", "."}
    assert needs(re.compile(r"статус\s*\??")) == set()          # optional: not needed
    assert needs(re.compile(r"a(?::|!)b")) == set()            # either one: neither is needed
    assert needs(re.compile(r"(?::x|:y)")) == {":"}            # both alternatives need it
    assert needs(re.compile(r"(?:!{2,}|x!)")) == {"!"}
    assert needs(re.compile(r"КАПС", re.I)) == set()           # letters never: case folding
    assert any(needs(p) for p in SHIPPED)  # the shortcut applies to the shipped rules at all


def test_a_text_without_a_needed_character_is_never_matched() -> None:
    pattern = re.compile(r"(?:ответ\w*)\s*:[^\n]*", re.I)
    assert not may_match(pattern, "ОТВЕТ пришёл без двоеточия")
    assert may_match(pattern, "ответ: НЕТ МЕСТ") and pattern.search("ответ: НЕТ МЕСТ")


_ALPHABET = "аяАЯzZ09 .,:;!?«»\"'@/+()[]-\n\tСиренаответ"


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(SHIPPED), st.text(alphabet=_ALPHABET, max_size=40))
def test_no_shipped_pattern_matches_where_it_is_said_impossible(pattern: re.Pattern[str], text: str) -> None:
    if not may_match(pattern, text):
        assert pattern.search(text) is None
