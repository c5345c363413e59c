"""The learned half of the text audits: character n-grams and a linear model per audit.

Hand-written rules fit the phrasings they were written against; a client writes «третий день
тишина» or «есть подвижки?» and no rule knows it. A linear model over character n-grams of the
words (plus a few shape features: capitals, runs of «!») generalises to unseen word forms,
typos and transliteration. The model is trained at build time by scripts/build_audit_model.py
(scikit-learn, tuning batches of the corpus only) and shipped as plain weights in
policies/audit_model.json, so run time needs no scikit-learn, no numpy and no network: a score
is a sum of dictionary lookups. The rules stay in front for evidence and precision; the model
adds recall, and a finding it makes quotes the fragment of the text that weighed most.

`features` is the one place that turns a text into features: the builder and the audits both
call it, so training and run time cannot drift apart.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

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
    letters = len(_CYRILLIC.findall(text))
    if letters >= 8:
        upper = len(_CYRILLIC_UPPER.findall(text)) / letters
        out.add(f"#caps_share:{min(int(upper * 5), 4)}")
    for run in _BANGS.findall(text):
        count = run.count("!")
        out.add(f"#bang:{min(count, 4)}")
        if count >= 2 and "?" in run:
            out.add("#bang_question")
    words = len(_WORD.findall(text))
    out.add("#len:" + ("1" if words <= 3 else "2" if words <= 8 else "3" if words <= 25 else "4"))
    return out


@lru_cache(maxsize=1024)
def features(text: str) -> frozenset[str]:
    """Word n-grams (3 and 4 characters, word boundaries marked), whole words, word pairs and
    shape features of `text`. Numbers become «0» so order numbers do not become features.
    Memoised: the three audits of one ticket read the same text."""
    low = fold(text).lower()
    words = ["0" if w.isdigit() else w for w in _WORD.findall(low)]
    out = _shape(text)
    for word in set(words):
        out |= _word_features(word)
    out.update(f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return frozenset(out)


@lru_cache(maxsize=100_000)
def _word_features(word: str) -> frozenset[str]:
    """The word itself and its character n-grams with boundaries marked (words repeat a lot)."""
    padded = f" {word} "
    return frozenset({"w:" + word, *(padded[i:i + n] for n in NGRAMS for i in range(len(padded) - n + 1))})


@dataclass(frozen=True, slots=True)
class Head:
    """One audit's linear model: a logistic score (one class) or a softmax over `classes`."""

    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]
    columns: tuple[dict[str, float], ...]  # per class: feature -> weight (a score is one C-level sum)

    def raw(self, feats: frozenset[str]) -> list[float]:
        if len(self.bias) == 1:
            return [self.bias[0] + sum(filter(None, map(self.columns[0].get, feats)))]
        hits = list(filter(None, map(self.weights.get, feats)))  # weight tuples are never empty
        if not hits:
            return list(self.bias)
        return [bias + sum(column) for bias, column in zip(self.bias, zip(*hits, strict=True), strict=True)]

    def probability(self, feats: frozenset[str]) -> float:
        """Binary head: the probability of the positive class."""
        z = self.raw(feats)[0]
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def distribution(self, feats: frozenset[str]) -> dict[str, float]:
        """Multi-class head: class -> probability."""
        raw = self.raw(feats)
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
            weights = self.weights
            score = sum(weights[f][column] for f in features(fragment) if f in weights and not f.startswith("#len:"))
            if score > best_score:
                best, best_score, where = fragment, score, match.span()
        return best, where


@dataclass(frozen=True, slots=True)
class LearnedModel:
    heads: dict[str, Head]
    thresholds: dict[str, float]  # head -> the score at which the model may add a finding
    built_from: tuple[str, ...]  # the corpus batches it was trained on


@cache
def load_model(path: Path) -> LearnedModel:
    """Read the weights once per process (a few hundred kilobytes of JSON)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    heads = {name: Head(tuple(h["classes"]), tuple(h["bias"]),
                        {feat: tuple(w) for feat, w in h["weights"].items()},
                        tuple({feat: float(w[i]) for feat, w in h["weights"].items() if w[i]}
                              for i in range(len(h["bias"]))))
             for name, h in data["heads"].items()}
    return LearnedModel(heads, {k: float(v) for k, v in data["thresholds"].items()}, tuple(data["built_from"]))
