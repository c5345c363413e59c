"""The learned half of the text audits: character n-grams and a linear model per audit.

Hand-written rules fit the phrasings they were written against; a client writes «третий день
тишина» or «есть подвижки?» and no rule knows it. A linear model over character n-grams of the
words (plus a few shape features: capitals, runs of «!») generalises to unseen word forms,
typos and transliteration. The model is trained at build time by scripts/build_audit_model.py
(scikit-learn, tuning batches of the corpus only) and shipped as plain weights in
policies/audit_model.json, so run time needs no scikit-learn, no numpy and no network: a score
is a sum of array reads over the rows of the text's features. The rules stay in front for
evidence and precision; the model adds recall, and a finding it makes quotes the fragment of the text that weighed most.

`features` is the one place that turns a text into features: the builder and the audits both
call it, so training and run time cannot drift apart.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from policies.russian_text import fold

NGRAMS = (3, 4)
_WORD = re.compile(r"[^\W_]+")
_CAPS_CYRILLIC = re.compile(r"(?<![^\W\d_])[А-ЯЁ]{2,}(?![^\W\d_])")
_CAPS_LATIN = re.compile(r"(?<![^\W\d_])[A-Z]{2,}(?![^\W\d_])")
_BANGS = re.compile(r"[!?]*![!?1]*")
_FRAGMENT = re.compile(r"[^.!?\n]+[.!?]*")
_FRAGMENT_WORDS = 12
_CYRILLIC = re.compile(r"[а-яёА-ЯЁ]")
_CYRILLIC_UPPER = re.compile(r"[А-ЯЁ]")


def _shape(text: str) -> set[str]:
    """Tone signals the n-grams of lower-cased words cannot see."""
    out: set[str] = set()
    caps = _CAPS_CYRILLIC.findall(text)
    if caps:
        out.add("#caps_cyr")
        out.add(f"#caps_cyr:{min(len(caps), 4)}")
        if any(len(c) >= 4 for c in caps):
            out.add("#caps_cyr_long")
    if _CAPS_LATIN.search(text):
        out.add("#caps_lat")
    letters = _CYRILLIC.subn("", text)[1]  # a count, without a list of one-letter strings
    if letters >= 8:
        upper = _CYRILLIC_UPPER.subn("", text)[1] / letters
        out.add(f"#caps_share:{min(int(upper * 5), 4)}")
    for run in _BANGS.findall(text):
        count = run.count("!")
        out.add(f"#bang:{min(count, 4)}")
        if count >= 2 and "?" in run:
            out.add("#bang_question")
    words = len(_WORD.findall(text))
    out.add("#len:" + ("1" if words <= 3 else "2" if words <= 8 else "3" if words <= 25 else "4"))
    return out


def _words(text: str) -> list[str]:
    """The lower-case words of `text`, numbers as «0» (so order numbers do not become features)."""
    return ["0" if w.isdigit() else w for w in _WORD.findall(fold(text).lower())]


def _pairs(words: list[str]) -> Iterator[str]:
    return (f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False))


@lru_cache(maxsize=1024)
def features(text: str) -> frozenset[str]:
    """Word n-grams (3 and 4 characters, word boundaries marked), whole words, word pairs and
    shape features of `text`: what the builder trains on. The audits score the same features
    through `_Vocabulary.text_rows`, built from the same parts. Memoised per text."""
    words = _words(text)
    out = _shape(text)
    out.update(*map(_word_features, set(words)))
    out.update(_pairs(words))
    return frozenset(out)


@lru_cache(maxsize=100_000)
def _word_features(word: str) -> frozenset[str]:
    """The word itself and its character n-grams with boundaries marked (words repeat a lot)."""
    padded = f" {word} "
    return frozenset({"w:" + word, *(padded[i:i + n] for n in NGRAMS for i in range(len(padded) - n + 1))})


class _Vocabulary:
    """Every feature any head weighs -> its row in the heads' weight arrays.

    A text is scored from the rows of its features: each word's rows are worked out once (words
    repeat; the n-grams no head weighs are dropped there) and a text's rows are the union of its
    words', pairs' and shape's, memoised per text for the two or three heads that score it.
    Summed in row order, so a score does not depend on the order of a set."""

    def __init__(self, features: list[str]) -> None:
        self.index = {feature: row for row, feature in enumerate(features)}
        self.text_rows = lru_cache(maxsize=1024)(self._text_rows)
        self._word_rows = lru_cache(maxsize=100_000)(self._rows_of_word)

    def _rows_of_word(self, word: str) -> frozenset[int]:
        index = self.index
        return frozenset(index[f] for f in _word_features(word) if f in index)

    def _text_rows(self, text: str) -> tuple[int, ...]:
        index = self.index
        words = _words(text)
        rows = {index[f] for f in (*_shape(text), *_pairs(words)) if f in index}
        rows.update(*map(self._word_rows, set(words)))
        return tuple(sorted(rows))


@dataclass(frozen=True, slots=True)
class Head:
    """One audit's linear model: a logistic score (one class) or a softmax over `classes`."""

    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]
    # The same weights laid out for scoring: the model's feature rows and, per class, one array of
    # doubles over them (0 where this head has no weight). Float objects in tuples lie all over
    # the heap and were read cold for every text; an array keeps a class's weights in one block.
    vocabulary: _Vocabulary
    columns: tuple[array[float], ...]
    evidence_columns: tuple[array[float], ...]  # the same without the length features

    def raw(self, text: str) -> list[float]:
        rows = self.vocabulary.text_rows(text)
        return [bias + sum(map(column.__getitem__, rows)) for bias, column in zip(self.bias, self.columns, strict=True)]

    def probability(self, text: str) -> float:
        """Binary head: the probability that `text` is of the positive class."""
        z = self.raw(text)[0]
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def distribution(self, text: str) -> dict[str, float]:
        """Multi-class head: class -> probability for `text`."""
        raw = self.raw(text)
        top = max(raw)
        exps = [math.exp(z - top) for z in raw]
        total = sum(exps)
        return {cls: e / total for cls, e in zip(self.classes, exps, strict=True)}

    def evidence(self, text: str, column: int = 0) -> str:
        """The fragment (a sentence or line, at most a dozen words) whose features push the
        score up most: what a finding quotes when the model, not a rule, decided."""
        return self.evidence_at(text, column)[0]

    def evidence_at(self, text: str, column: int = 0) -> tuple[str, tuple[int, int]]:
        """`evidence` and where its sentence or line stands in `text` (character span)."""
        best, best_score, where = text.strip(), -math.inf, (0, len(text))
        for match in _FRAGMENT.finditer(text):
            fragment = match.group().strip()
            words = fragment.split()
            if not words:
                continue
            fragment = " ".join(words[:_FRAGMENT_WORDS])
            score = sum(map(self.evidence_columns[column].__getitem__, self.vocabulary.text_rows(fragment)))
            if score > best_score:
                best, best_score, where = fragment, score, match.span()
        return best, where


@dataclass(frozen=True, slots=True)
class LearnedModel:
    heads: dict[str, Head]
    thresholds: dict[str, float]  # head -> the score at which the model may add a finding
    built_from: tuple[str, ...]  # the corpus batches it was trained on


def _head(data: dict[str, Any], vocabulary: _Vocabulary) -> Head:
    """The head's weights as read, and as arrays over the shared rows."""
    weights = {feat: tuple(float(v) for v in w) for feat, w in data["weights"].items()}
    zero = (0.0,) * len(data["bias"])

    def column(i: int, length_too: bool) -> array[float]:
        return array("d", (weights.get(feat, zero)[i] if length_too or not feat.startswith("#len:") else 0.0
                           for feat in vocabulary.index))

    classes = range(len(data["bias"]))
    return Head(tuple(data["classes"]), tuple(data["bias"]), weights, vocabulary,
                tuple(column(i, True) for i in classes), tuple(column(i, False) for i in classes))


@cache
def load_model(path: Path) -> LearnedModel:
    """Read the weights once per process (a few hundred kilobytes of JSON)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    vocabulary = _Vocabulary(list(dict.fromkeys(f for h in data["heads"].values() for f in h["weights"])))
    heads = {name: _head(h, vocabulary) for name, h in data["heads"].items()}
    return LearnedModel(heads, {k: float(v) for k, v in data["thresholds"].items()}, tuple(data["built_from"]))
