"""policies.razdel_tokens and the sentence fast path of policies.russian_text cut text exactly as
razdel does: the audits' decisions were measured with razdel, so no boundary may move."""

from __future__ import annotations

import razdel
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.razdel_tokens import tokenize
from tests.unit.corpus_tickets import load_corpus


def _razdel(text: str) -> list[tuple[int, int, str]]:
    return [(t.start, t.stop, t.text) for t in razdel.tokenize(text)]


def test_every_corpus_text_is_cut_as_razdel_cuts_it() -> None:
    texts = [e.text for e in load_corpus()]
    assert len(texts) > 3000
    differing = [t for t in texts if tokenize(t) != _razdel(t)]
    assert differing == []


def test_the_joining_rules_each_decide_as_in_razdel() -> None:
    for text in ["что-то из-за", "что -то", "- то", "snake_case _x", "3.14 и 2,5 и 1/2 и 3\\4", "a.5",
                 "Что?! Ну... :-) ;((( =)", "-- ** ---", "ΔP mβж", "Yahoo! yahoo!!", "‑–—−-", "", "   ",
                 "«Сирена» (1A) №5 100%", "e-mail: a_b@c.d", "1-2 RU-LAT--x"]:
        assert tokenize(text) == _razdel(text), text


# Characters razdel treats differently: letters of both scripts, digits, every punctuation and
# dash it knows, smiley parts, other symbols, spaces and newlines.
_ALPHABET = "аяёЁЖzZq09._,-‑–—−/\\!?…:;()[]{}«»\"'=*#%@№ΔσЇ \n\t"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_generated_text_is_cut_as_razdel_cuts_it(text: str) -> None:
    assert tokenize(text) == _razdel(text)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30))
def test_any_unicode_is_cut_as_razdel_cuts_it(text: str) -> None:
    assert tokenize(text) == _razdel(text)


def test_the_analysis_of_every_corpus_text_is_the_one_razdel_gives(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The whole analysis (tokens, sentences, clauses, questions), not only the cuts."""
    from policies import russian_text

    texts = [e.text for e in load_corpus()]
    fast = [russian_text._analyse(t) for t in texts]
    monkeypatch.setattr(russian_text, "tokenize", _razdel)
    assert [russian_text._analyse(t) for t in texts] == fast


def _razdel_sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for line in text.split("\n"):
        spans += [(start + s.start, start + s.stop) for s in razdel.sentenize(line) if s.text.strip()]
        start += len(line) + 1
    return spans


def test_sentences_of_every_corpus_text_are_razdels() -> None:
    from policies.russian_text import _sentences

    texts = [e.text for e in load_corpus()]
    assert [_sentences(t) for t in texts] == [_razdel_sentences(t) for t in texts]


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=_ALPHABET + "\u00a0\u2003ВЕ", max_size=60))
def test_sentences_of_generated_text_are_razdels(text: str) -> None:
    from policies.russian_text import _sentences

    assert _sentences(text) == _razdel_sentences(text)


# Pieces that make razdel's sentence rules work: ends, runs of spaces around its 10-character
# window, abbreviations, initials, bullets, quotes, brackets, dashes, smileys, lower/upper starts.
_PIECES = ["Текст", "слово", "ещё", "Ответ", "а", "И", "т", "е", "См", "г", "А", "1", "12", "ii", "b",
           ".", "!", "?", "…", ";", "?!", "...", ":)", ";-(", "»", "«", '"', ")", "(", "]", " - ", "—",
           " ", "  ", "     ", "          ", "           ", "\u00a0", "\t", "\n"]


@settings(max_examples=4000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_sentences_of_generated_phrases_are_razdels(text: str) -> None:
    from policies.russian_text import _sentences

    assert _sentences(text) == _razdel_sentences(text)
