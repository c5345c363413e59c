"""Russian client text as the audits read it: words with their lemmas, sentences, clauses, and
whether a place is asked about (a question) or only supposed (if…, бы).

Lemmas come from pymorphy3 with its Russian dictionaries, tokens and sentences from razdel
(tokens through `policies.razdel_tokens`, the same cuts made faster):
hand-written word-form lists missed forms («ответа всё нет», «списаны»). The analyser is built
once per process on first use; lemmas and whole analyses are memoised (the only state here is
those caches). Offsets index the original text, so matches can be quoted as the client wrote.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import chain
from typing import NamedTuple

import razdel
from pymorphy3 import MorphAnalyzer
from razdel.segmenters.sentenize import DELIMITER as SENTENCE_DELIMITER

from policies.razdel_tokens import tokenize

# «ни» is left out: it doubles a negation («не работает ни у кого») rather than adding one.
NEGATIONS = frozenset({"не", "нет", "без", "никак"})
# Words that open a new clause: negation and conditions do not reach across them.
CLAUSE_WORDS = frozenset({"но", "а", "однако", "зато", "хотя", "то", "если", "поэтому", "потому"})
CLAUSE_PUNCT = frozenset({",", ";", ":", "—", "–", "-", "(", ")", "…", "...", "."})
CONDITION_WORDS = frozenset({"если", "вдруг", "ежели"})
# A question whose answer is a fact the client reports («Почему списали дважды?») is not hypothetical.
WHY_WORDS = frozenset({"почему", "зачем", "отчего"})
ASKING_VERBS = frozenset({"подсказать", "объяснить", "проконсультировать"})
_MASK = re.compile(r"https?://\S+|\bwww\.\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_QUESTION_END = re.compile(r"\?[\s!?.)»\"']*$")
_LETTER = re.compile(r"[^\W\d_]")
_HEADING_WORDS = 8
_CACHED_TEXT = 20_000  # characters
_QUOTES = frozenset({"«", "»", '"', "“", "”", "'"})


def fold(text: str) -> str:
    """ё -> е, keeping length so match spans index the original text for quoting."""
    return text.replace("ё", "е").replace("Ё", "Е")


@cache
def analyser() -> MorphAnalyzer:
    """Built once per process, on first use (loading the dictionaries takes ~0.4 s)."""
    return MorphAnalyzer()


@lru_cache(maxsize=200_000)
def lemmas(word: str) -> frozenset[str]:
    """The folded lower-case word and every normal form pymorphy3 proposes for it."""
    low = fold(word).lower()
    if not _LETTER.search(low):
        return frozenset({low})
    return frozenset({low, *(fold(p.normal_form) for p in analyser().parse(low))})


@lru_cache(maxsize=20_000)
def lemma(word: str) -> str:
    """The most likely normal form: how a pattern word written in any form is compared."""
    low = fold(word).lower()
    return fold(analyser().parse(low)[0].normal_form) if _LETTER.search(low) else low


_LATIN_NAME = re.compile(r"[A-Z][a-z]{2,}")
_PERSON = ("Name", "Surn", "Patr")


@lru_cache(maxsize=50_000)
def may_be_subject(word: str) -> bool:
    """A noun that can be in the nominative (pymorphy3 proposes it) and is not a person's name,
    or a Latin name (Sabre, Hotelbeds): who may be doing something in a sentence. A person
    named is mostly the writer's colleague passing a complaint on, so names do not count."""
    if _LATIN_NAME.fullmatch(word):
        return True
    parses = analyser().parse(fold(word).lower())
    if len(word) < 3 or parses[0].tag.POS != "NOUN" or any(g in parses[0].tag for g in _PERSON):
        return False
    return any(p.tag.POS == "NOUN" and "nomn" in p.tag for p in parses)


_NOT_ORDINARY = ("Abbr", "Name", "Surn", "Patr", "Geox", "Orgn", "Trad", "Init")


@lru_cache(maxsize=50_000)
def ordinary_word(word: str) -> bool:
    """A word of the dictionary that is not an abbreviation, a name or a place («РАЗ», not «РФ»)."""
    low = fold(word).lower()
    if not _LETTER.search(low) or not analyser().word_is_known(low):
        return False
    return not any(g in analyser().parse(low)[0].tag for g in _NOT_ORDINARY)


@lru_cache(maxsize=50_000)
def preposition(word: str) -> bool:
    return analyser().parse(fold(word).lower())[0].tag.POS == "PREP"


@lru_cache(maxsize=50_000)
def second_person(word: str) -> bool:
    """«вы», «ваш», «ответите», «молчите»: the writer addresses the reader."""
    return any("2per" in p.tag or p.normal_form in ("ваш", "твой") for p in analyser().parse(fold(word).lower()))


class Token(NamedTuple):
    """A tuple, not a frozen dataclass: tens of thousands are made per second."""

    text: str
    start: int
    end: int
    forms: frozenset[str]  # lemmas plus the folded lower-case text
    word: bool             # False for punctuation
    sentence: int
    clause: int
    question: bool         # in a question that is not a why-question
    condition: bool        # in an if-clause or a sentence with «бы»

    @property
    def negation(self) -> bool:
        return self.word and not self.forms.isdisjoint(NEGATIONS)


@dataclass(frozen=True, slots=True)
class Analysis:
    text: str
    tokens: tuple[Token, ...]
    index: dict[str, tuple[int, ...]]  # form -> positions of tokens having it
    sentences: tuple[tuple[int, int], ...]  # character spans
    ends: tuple[int, ...]  # token end offsets, ascending (for bisect)

    def positions(self, form: str) -> tuple[int, ...]:
        return self.index.get(form, ())

    def sentence_of(self, offset: int) -> tuple[int, int]:
        for span in self.sentences:
            if span[0] <= offset < span[1]:
                return span
        return (0, len(self.text))


# Where razdel may end a sentence (its own pattern), and how far it looks around one.
_SENTENCE_END = re.compile(SENTENCE_DELIMITER)
_SENTENCE_WINDOW = 10


def _one_sentence(line: str) -> bool:
    """razdel would keep `line` whole: at each place where a sentence may end, its first two rules
    join (nothing but spaces on one side within its window, or no space right after the mark:
    «Не работает!!!», «...?!»), and they join before any other rule is asked. Most lines are
    one sentence; razdel's rule objects are costly, so they are asked only about the others."""
    for end in _SENTENCE_END.finditer(line):
        right = line[end.end():end.end() + _SENTENCE_WINDOW]
        if right[:1].isspace() and right.strip() and line[max(0, end.start() - _SENTENCE_WINDOW):end.start()].strip():
            return False
    return True


def _sentences(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for line in text.split("\n"):
        if _one_sentence(line):  # razdel would find one sentence: the line, stripped
            stripped = line.strip()
            if stripped:
                lead = len(line) - len(line.lstrip())
                spans.append((start + lead, start + lead + len(stripped)))
        else:
            for sent in razdel.sentenize(line):
                if sent.text.strip():
                    spans.append((start + sent.start, start + sent.stop))
        start += len(line) + 1
    return spans


def _is_question(sentence: str, words: list[frozenset[str]]) -> bool:
    if not words or any(not w.isdisjoint(WHY_WORDS) for w in words[:3]):
        return False
    return bool(_QUESTION_END.search(sentence)) or any("ли" in w for w in words) \
        or not words[0].isdisjoint(ASKING_VERBS)


def analyse(text: str) -> Analysis:
    """The analysis of `text`, memoised for ordinary sizes: a sweep runs several audits over
    one ticket. A huge text (a pasted log) is analysed each time rather than kept in memory."""
    return _analyse_cached(text) if len(text) <= _CACHED_TEXT else _analyse(text)


@lru_cache(maxsize=1024)
def _analyse_cached(text: str) -> Analysis:
    return _analyse(text)


def _analyse(text: str) -> Analysis:
    """Tokens with lemmas and their sentence, clause, question and condition flags.

    URLs and e-mail addresses are masked (their «?» is not a question). A short first line
    without an end mark is a heading (a ticket subject): it is a question when the first
    real sentence after it is one, so «Штраф за дубли» over «Есть ли штраф…?» is asked, not told.
    """
    masked = fold(text)
    if "@" in masked or "http" in masked or "www." in masked:  # what _MASK needs to match at all
        masked = _MASK.sub(lambda m: " " * len(m.group()), masked)
    raw: list[list[Token]] = []
    index: dict[str, list[int]] = {}
    ends: list[int] = []
    clause = 0
    new_token = tuple.__new__  # Token(...) without the NamedTuple's Python-level __new__
    for number, (s_start, s_end) in enumerate(_sentences(masked)):
        piece = masked[s_start:s_end]
        items = [(start, stop, _reading(token_text)) for start, stop, token_text in tokenize(piece)
                 if token_text not in _QUOTES]
        word_forms = [r.forms for _, _, r in items if r.word]
        question = _is_question(piece, word_forms)
        subjunctive = any(r.subjunctive for _, _, r in items)
        condition = False
        sentence: list[Token] = []
        previous_is_v = False
        for start, stop, r in items:
            if r.opens_clause:
                clause += 1
                condition = r.condition_word
            if r.case_word and previous_is_v:  # «в случае»
                condition = True
            previous_is_v = r.is_v
            for form in r.forms:
                positions = index.get(form)
                if positions is None:
                    index[form] = [len(ends)]
                else:
                    positions.append(len(ends))
            ends.append(s_start + stop)
            sentence.append(new_token(Token, (r.text, s_start + start, s_start + stop, r.forms, r.word,
                                              number, clause, question, condition or subjunctive)))
        clause += 1
        raw.append(sentence)
    if len(raw) > 1 and raw[0] and _heading(text, raw[0]):
        follow = next((s for s in raw[1:] if s and not _greeting(s)), None)
        if follow is not None and follow[0].question:
            raw[0] = [_with_question(t) for t in raw[0]]
    spans = tuple((s[0].start, s[-1].end) for s in raw if s)
    return Analysis(text, tuple(chain.from_iterable(raw)), {k: tuple(v) for k, v in index.items()}, spans,
                    tuple(ends))


class _Reading(NamedTuple):
    """What the analysis needs to know of one token's text, worked out once per distinct text."""

    text: str
    word: bool              # letters or a number, not punctuation
    forms: frozenset[str]
    opens_clause: bool      # clause punctuation or a clause word
    condition_word: bool    # «если», «вдруг»…: the clause it opens is an if-clause
    case_word: bool         # «случай» (after «в»: an if-clause)
    is_v: bool              # «в»
    subjunctive: bool       # «бы»: the sentence is only supposed


@lru_cache(maxsize=100_000)
def _reading(text: str) -> _Reading:
    word = bool(_LETTER.search(text)) or text.isdigit()
    forms = lemmas(text) if word else frozenset({text})
    return _Reading(text, word, forms,
                    opens_clause=text in CLAUSE_PUNCT or (word and not forms.isdisjoint(CLAUSE_WORDS)),
                    condition_word=word and not forms.isdisjoint(CONDITION_WORDS),
                    case_word=word and "случай" in forms, is_v="в" in forms, subjunctive=word and "бы" in forms)


def _heading(text: str, first: list[Token]) -> bool:
    line_end = text.find("\n")
    if line_end < 0 or first[-1].end > line_end:
        return False
    words = [t for t in first if t.word]
    return 0 < len(words) <= _HEADING_WORDS and first[-1].text not in {".", "!", "?"}


_GREETING = frozenset({"добрый", "день", "здравствовать", "здравствуйте", "коллега", "привет", "утро", "вечер"})


def _greeting(sentence: list[Token]) -> bool:
    return all(not t.word or not t.forms.isdisjoint(_GREETING) for t in sentence)


def _with_question(token: Token) -> Token:
    return token._replace(question=True)


# --- lemma patterns ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Slot:
    kind: str  # word | gap | end | punct | number
    forms: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    negated: bool = False   # «!a|b»: a word that is none of these
    optional: bool = False  # «a|b?»
    size: int = 0           # gap: up to this many words
    numbers: bool = False   # `#` among the alternatives: a number is also taken

    def takes(self, token: Token) -> bool:
        if self.kind == "punct":
            return token.text in self.forms
        if self.kind == "number":
            return token.text.isdigit()
        if not token.word or (self.negated and token.text.isdigit()):
            return False
        hit = not token.forms.isdisjoint(self.forms) or (self.numbers and token.text.isdigit()) or any(
            f.startswith(p) for p in self.prefixes for f in token.forms)
        return hit != self.negated


@dataclass(frozen=True, slots=True)
class Match:
    first: int  # token positions, end exclusive
    last: int
    start: int  # character offsets in the text
    end: int
    negated: bool
    question: bool
    condition: bool


class LemmaPattern:
    """A phrase over lemmas: «списать|списаться ~3 деньги|средства». Slots, space-separated:
    `word` (any form of it; alternatives with `|`), `pre*` (a lemma starting so), `!a|b` (a word
    of letters that is none of these), `#` (a number; also as an alternative), `~` / `~N` (up to
    3 / N words of the same clause), `$` (end of the clause), punctuation as itself; a trailing
    `?` makes a slot optional.
    A match never crosses a sentence; it is negated when a negation the pattern does not
    spell out stands inside it or up to two words before it in its clause."""

    def __init__(self, source: str) -> None:
        self.source = source
        slots = [self._slot(part) for part in source.split()]
        if not slots or slots[0].kind != "word" or slots[0].negated or slots[0].optional \
                or not (slots[0].forms or slots[0].prefixes):
            raise ValueError(f"lemma pattern {source!r} must start with a word")
        self.slots = tuple(slots)
        self._own_negations = sum(1 for s in slots if s.kind == "word" and not s.negated and not s.optional
                                  and not s.forms.isdisjoint(NEGATIONS))

    @staticmethod
    def _slot(part: str) -> _Slot:
        if part.startswith("~"):
            size = part[1:] or "3"
            if not size.isdigit():
                raise ValueError(f"gap {part!r}: write ~ or ~N")
            return _Slot("gap", size=int(size))
        if part == "$":
            return _Slot("end")
        if part == "#":
            return _Slot("number")
        if not _LETTER.search(part):
            return _Slot("punct", forms=frozenset({part}))
        optional = part.endswith("?")
        negated = part.startswith("!")
        body = part.strip("!?")
        forms: set[str] = set()
        prefixes: list[str] = []
        numbers = False
        for alternative in filter(None, body.split("|")):
            if alternative == "#":
                numbers = True
            elif alternative.endswith("*"):
                prefixes.append(fold(alternative[:-1]).lower())
            else:
                forms |= {fold(alternative).lower(), lemma(alternative)}
        return _Slot("word", frozenset(forms), tuple(prefixes), negated, optional, numbers=numbers)

    @property
    def first_forms(self) -> frozenset[str] | None:
        """Forms one of which a text must have for a match; None when a prefix decides."""
        first = self.slots[0]
        return None if first.prefixes else first.forms

    def matches(self, analysis: Analysis) -> list[Match]:
        tokens = analysis.tokens
        first = self.slots[0]
        if first.prefixes:
            starts = [i for i, t in enumerate(tokens) if first.takes(t)]
        else:
            index = analysis.index
            present = [form for form in first.forms if form in index]  # a few lookups, not a set of all forms
            if not present:
                return []
            starts = sorted({i for form in present for i in analysis.index[form]})
        found: list[Match] = []
        for start in starts:
            end = self._match(tokens, 1, start + 1, tokens[start])
            if end is not None:
                found.append(self._described(analysis, start, end))
        return found

    def _match(self, tokens: tuple[Token, ...], k: int, pos: int, anchor: Token) -> int | None:
        if k == len(self.slots):
            return pos
        slot = self.slots[k]
        here = tokens[pos] if pos < len(tokens) and tokens[pos].sentence == anchor.sentence else None
        if slot.kind == "gap":
            for skip in range(slot.size + 1):
                end = self._match(tokens, k + 1, pos + skip, anchor)
                if end is not None:
                    return end
                nxt = tokens[pos + skip] if pos + skip < len(tokens) else None
                if nxt is None or not nxt.word or nxt.sentence != anchor.sentence or nxt.clause != anchor.clause:
                    return None
            return None
        if slot.kind == "end":
            if here is None or here.clause != tokens[pos - 1].clause or here.text in CLAUSE_PUNCT:
                return self._match(tokens, k + 1, pos, anchor)
            return None
        if here is not None and slot.takes(here):
            end = self._match(tokens, k + 1, pos + 1, anchor)
            if end is not None:
                return end
        return self._match(tokens, k + 1, pos, anchor) if slot.optional else None

    def _described(self, analysis: Analysis, first: int, last: int) -> Match:
        tokens = analysis.tokens
        span = tokens[first:last]
        before = [t for t in tokens[max(0, first - 2):first]
                  if t.sentence == tokens[first].sentence and t.clause == tokens[first].clause]
        negations = sum(1 for t in (*before, *span) if t.negation)
        return Match(first, last, tokens[first].start, tokens[last - 1].end,
                     negated=negations > self._own_negations,
                     question=any(t.question for t in span), condition=any(t.condition for t in span))

    def __repr__(self) -> str:
        return f"LemmaPattern({self.source!r})"


def token_at(analysis: Analysis, offset: int) -> int | None:
    """Position of the first token ending after `offset` (to put a regex hit in context)."""
    position = bisect_right(analysis.ends, offset)
    return position if position < len(analysis.tokens) else None
