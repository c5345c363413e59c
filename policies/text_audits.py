"""Text audits of tickets against the regulation: priority, mandatory data, tone, delay complaints.

Pure functions over `TicketText`; the Russian phrase sets are data (`audit_rules.yaml`,
validated by the models below) so support can tune them without a release. A phrase set
mixes regular expressions (formats: order numbers, links, browser versions) and lemma
patterns (`policies.russian_text`: any word form, negation, questions and if-clauses seen),
and a signal can refuse to count where it is negated, asked about or only supposed. Every
finding quotes the fragments that decided it, because a sweep that changes a ticket or asks
a client must be able to say why. Beside the rules, a learned model (`policies.audit_model`:
character n-grams and a linear model, trained on the corpus) adds what the rules miss when it is
confident; such a finding says so, gives the model's score and quotes the fragment that weighed
most. Measured on tests/data/audit_corpus.yaml by bench/audits.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from helpdesk_core.yaml_source import load_yaml_file
from policies.audit_model import LearnedModel, load_model
from policies.regex_needs import may_match
from policies.russian_text import (
    LemmaPattern,
    analyse,
    fold,
    may_be_subject,
    ordinary_word,
    preposition,
    second_person,
    token_at,
)

DEFAULT_RULES_PATH = Path(__file__).with_name("audit_rules.yaml")

RULE_PRIORITY = "priority-audit"
RULE_COMPLETENESS = "completeness-audit"
RULE_TONE = "tone-audit"
RULE_DELAY = "delay-complaint"

_QUOTE_LIMIT = 80
_VOCABULARY_REF = re.compile(r"@(\w+)")


def _same_name(a: str, b: str) -> bool:
    return fold(a).strip().casefold() == fold(b).strip().casefold()


def quote(fragment: str) -> str:
    """«fragment», whitespace collapsed and long fragments cut, for evidence lines."""
    text = " ".join(fragment.split())
    if len(text) > _QUOTE_LIMIT:
        text = text[: _QUOTE_LIMIT - 1].rstrip() + "…"
    return f"«{text}»"


def _compile(value: object) -> re.Pattern[str]:
    if isinstance(value, re.Pattern):
        return value
    if not isinstance(value, str):
        raise ValueError("a pattern must be a string")
    try:
        return re.compile(fold(value), re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None


def _lemma_pattern(value: object) -> LemmaPattern:
    if isinstance(value, LemmaPattern):
        return value
    if not isinstance(value, str):
        raise ValueError("a lemma pattern must be a string")
    if "@" in value:
        raise ValueError(f"lemma pattern {value!r}: unknown vocabulary reference")
    return LemmaPattern(value)


Regex = Annotated[re.Pattern[str], BeforeValidator(_compile), PlainSerializer(lambda p: p.pattern)]
Lemmas = Annotated[LemmaPattern, BeforeValidator(_lemma_pattern), PlainSerializer(lambda p: p.source)]
Context = Literal["negated", "questions", "conditions"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class PhraseSet(_Model):
    """Regexes and lemma patterns that signal one thing. A match overlapping an `exclude` /
    `exclude_lemmas` match does not count, which is how «нет ответа от поставщика» stops being
    a complaint about us. `skip` drops matches that are negated («деньги не списались»), in an
    open question («Будет ли штраф…?»; a why-question reports a fact and counts) or in an
    if-clause or «бы» sentence; `only_questions` keeps only matches inside questions.

    YAML: either a list of regexes or `{patterns: [...], lemmas: [...], exclude: [...],
    exclude_lemmas: [...], skip: [negated, questions, conditions], only_questions: false}`.
    """

    patterns: list[Regex] = []
    lemmas: list[Lemmas] = []
    exclude: list[Regex] = []
    exclude_lemmas: list[Lemmas] = []
    skip: list[Context] = []
    only_questions: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: object) -> object:
        return {"patterns": data} if isinstance(data, list) else data

    def find(self, text: str) -> list[str]:
        """Distinct matched fragments of `text` (original spelling), in order of appearance."""
        return list(dict.fromkeys(text[start:end] for start, end in self.spans(text)))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the matches that count, merged where they overlap, in order."""
        if not text:
            return []
        folded = fold(text)
        analysis = analyse(text) if self.lemmas or self.exclude_lemmas or self.skip or self.only_questions \
            else None
        if self.only_questions and analysis is not None and not any(t.question for t in analysis.tokens):
            return []  # nothing is asked: nothing can count
        spans: list[tuple[int, int]] = []
        for pattern in self.patterns:
            if not may_match(pattern, folded):
                continue
            for hit in pattern.finditer(folded):
                if hit.start() < hit.end() and (analysis is None or self._counts_regex(analysis, hit.start())):
                    spans.append(hit.span())
        if analysis is not None and self.lemmas:
            for position in _candidates(self._lemma_index, analysis.index):
                spans += [(m.start, m.end) for m in self.lemmas[position].matches(analysis)
                          if self._counts(m.negated, m.question, m.condition)]
        if not spans:
            return []
        blocked = [m.span() for p in self.exclude if may_match(p, folded) for m in p.finditer(folded)]
        if analysis is not None:
            blocked += [(m.start, m.end) for position in _candidates(self._exclude_index, analysis.index)
                        for m in self.exclude_lemmas[position].matches(analysis)]
        spans = [(start, end) for start, end in spans
                 if not any(start < b_end and b_start < end for b_start, b_end in blocked)]
        merged: list[tuple[int, int]] = []
        for start, end in sorted(spans):  # overlapping hits are one piece of evidence
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    @cached_property
    def _lemma_index(self) -> _FirstWords:
        return _first_words(self.lemmas)

    @cached_property
    def _exclude_index(self) -> _FirstWords:
        return _first_words(self.exclude_lemmas)

    def _counts(self, negated: bool, question: bool, condition: bool) -> bool:
        if self.only_questions and not question:
            return False
        return not ((negated and "negated" in self.skip) or (question and "questions" in self.skip)
                    or (condition and "conditions" in self.skip))

    def _counts_regex(self, analysis: Any, offset: int) -> bool:
        position = token_at(analysis, offset)
        if position is None:
            return self._counts(False, False, False)
        token = analysis.tokens[position]
        before = [t for t in analysis.tokens[max(0, position - 2):position]
                  if t.sentence == token.sentence and t.clause == token.clause]
        return self._counts(any(t.negation for t in before), token.question, token.condition)


_FirstWords = tuple[dict[str, tuple[int, ...]], tuple[int, ...]]


def _first_words(patterns: list[LemmaPattern]) -> _FirstWords:
    """First-word form -> positions of the lemma patterns starting with it; and the positions of
    patterns that start with a prefix (`pre*`), which decide token by token."""
    by_form: dict[str, list[int]] = {}
    open_ended: list[int] = []
    for position, lemma_pattern in enumerate(patterns):
        first = lemma_pattern.first_forms
        if first is None:
            open_ended.append(position)
            continue
        for form in first:
            by_form.setdefault(form, []).append(position)
    return {form: tuple(p) for form, p in by_form.items()}, tuple(open_ended)


def _candidates(first_words: _FirstWords, index: dict[str, tuple[int, ...]]) -> list[int]:
    """The positions of the lemma patterns that can match a text with these forms, in order: a
    long phrase set is mostly skipped without trying its patterns one by one."""
    by_form, open_ended = first_words
    if len(index) < len(by_form):
        found = {i for form in index if form in by_form for i in by_form[form]}
    else:
        found = {i for form in by_form if form in index for i in by_form[form]}
    return sorted(found.union(open_ended))


def _expand_vocabulary(data: object, vocabulary: dict[str, list[str]], key: str = "") -> object:
    """`@name` in a lemma pattern stands for `a|b|c` of `vocabulary.name`."""
    if isinstance(data, dict):
        return {k: _expand_vocabulary(v, vocabulary, str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [_expand_vocabulary(v, vocabulary, key) for v in data]
    if isinstance(data, str) and key in {"lemmas", "exclude_lemmas"}:
        def expand(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in vocabulary:
                raise ValueError(f"lemma pattern {data!r}: unknown vocabulary '@{name}'; "
                                 f"known: {', '.join(vocabulary) or 'none'}")
            return "|".join(vocabulary[name])
        return _VOCABULARY_REF.sub(expand, data)
    return data


# --- the ticket ----------------------------------------------------------------------------

class Attachment(_Model):
    filename: str
    content_type: str | None = None


FieldValue = str | list[str] | None


class TicketText(_Model):
    """The parts of a ticket the text audits read; built by the sweep from a Redmine issue."""

    subject: str = ""
    description: str = ""
    tracker: str = ""
    priority: str = ""
    attachments: list[Attachment] = []
    custom_fields: dict[str, FieldValue] = {}
    client_comments: list[str] = []

    def body(self) -> str:
        """What the client wrote when creating the ticket."""
        return f"{self.subject}\n{self.description}"

    def all_client_text(self) -> str:
        """Creation text plus later client comments: data may arrive after we asked for it."""
        return "\n".join([self.subject, self.description, *self.client_comments])

    def field_values(self, name: str) -> list[str]:
        values: list[str] = []
        for key, value in self.custom_fields.items():
            if _same_name(key, name) and value is not None:
                values.extend([value] if isinstance(value, str) else value)
        return values


# --- findings ------------------------------------------------------------------------------

class Finding(_Model):
    """What every audit returns: the rule id, one sentence for reports, the quoted evidence;
    `decided_by` says whether a hand-written rule or the learned model made it, `model_score`
    is the model's confidence when it did."""

    rule: str
    summary: str
    evidence: list[str]
    decided_by: Literal["rules", "model"] = "rules"
    model_score: float | None = None


class PriorityFinding(Finding):
    rule: Literal["priority-audit"] = RULE_PRIORITY
    current: str
    suggested: str
    direction: Literal["raise", "lower"]
    matched_rule: str  # id of the PriorityRule in audit_rules.yaml
    explanation: str


class MissingItem(_Model):
    check: str
    label: str  # Russian, ready to be put into a question to the client


class CompletenessFinding(Finding):
    rule: Literal["completeness-audit"] = RULE_COMPLETENESS
    tracker: str
    missing: list[MissingItem]


class ToneFinding(Finding):
    rule: Literal["tone-audit"] = RULE_TONE
    uppercase_share: Decimal | None  # None when too few letters to judge
    exclamation_runs: int


class DelayComplaintFinding(Finding):
    rule: Literal["delay-complaint"] = RULE_DELAY


# --- configuration -------------------------------------------------------------------------

class PriorityRule(_Model):
    """If the ticket has one of `priorities` and its text shows the signals, suggest `suggest`.

    Signals: all of `all_of`, at least one of `any_of` (if given), none of `none_of`; a
    reference `a|b` holds when either signal does. Rules are tried in order; the first that
    matches is the finding.
    """

    id: str
    priorities: list[str] = Field(min_length=1)
    all_of: list[str] = []
    any_of: list[str] = []
    none_of: list[str] = []
    suggest: str
    explanation: str

    @model_validator(mode="after")
    def _needs_evidence(self) -> PriorityRule:
        if not self.all_of and not self.any_of:
            raise ValueError(f"rule '{self.id}' needs all_of or any_of: a finding must have evidence")
        return self


class PriorityAuditConfig(_Model):
    levels: list[str] = Field(min_length=2)  # highest first
    signals: dict[str, PhraseSet]
    rules: list[PriorityRule]
    # level -> signals that forbid the model from suggesting it (the rules' evidence wins)
    model_vetoes: dict[str, list[str]] = {}

    @model_validator(mode="after")
    def _check_references(self) -> PriorityAuditConfig:
        for level, names in self.model_vetoes.items():
            if level not in self.levels:
                raise ValueError(f"model_vetoes: unknown priority '{level}'; known: {', '.join(self.levels)}")
            for name in names:
                if name not in self.signals:
                    raise ValueError(f"model_vetoes.{level}: unknown signal '{name}'; known: {', '.join(self.signals)}")
        for rule in self.rules:
            for name in (n for ref in (*rule.all_of, *rule.any_of, *rule.none_of) for n in ref.split("|")):
                if name not in self.signals:
                    raise ValueError(f"rule '{rule.id}': unknown signal '{name}'; "
                                     f"known: {', '.join(self.signals)}")
            for level in (*rule.priorities, rule.suggest):
                if level not in self.levels:
                    raise ValueError(f"rule '{rule.id}': unknown priority '{level}'; "
                                     f"known: {', '.join(self.levels)}")
            if rule.suggest in rule.priorities:
                raise ValueError(f"rule '{rule.id}' suggests one of the priorities it applies to")
        return self


class CompletenessCheck(_Model):
    """One piece of mandatory data: satisfied by a non-placeholder value in one of `fields`,
    a `present` match in the client's text or (if `image_attachment`) an image attached.
    `applies_when` limits the check to tickets whose text matches (e.g. display bugs);
    `skip_when` drops it where it cannot be met (no order numbers when the site is down)."""

    label: str
    fields: list[str] = []
    present: PhraseSet = PhraseSet()
    applies_when: PhraseSet | None = None
    skip_when: PhraseSet | None = None
    image_attachment: bool = False


class CompletenessConfig(_Model):
    checks: dict[str, CompletenessCheck]
    trackers: dict[str, list[str]]
    default_checks: list[str] = []  # for trackers not listed
    placeholders: list[str] = ["-", "—", "нет", "n/a"]
    image_extensions: list[str] = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]

    @model_validator(mode="after")
    def _check_references(self) -> CompletenessConfig:
        for where, ids in [*self.trackers.items(), ("default_checks", self.default_checks)]:
            for check in ids:
                if check not in self.checks:
                    raise ValueError(f"{where}: unknown check '{check}'; known: {', '.join(self.checks)}")
        return self

    def checks_for(self, tracker: str) -> list[str]:
        for name, ids in self.trackers.items():
            if _same_name(name, tracker):
                return ids
        return self.default_checks

    def is_image(self, attachment: Attachment) -> bool:
        if (attachment.content_type or "").lower().startswith("image/"):
            return True
        suffix = PurePosixPath(attachment.filename.lower()).suffix.lstrip(".")
        return suffix in {ext.lower().lstrip(".") for ext in self.image_extensions}


class ToneConfig(_Model):
    """Shouting: more than `uppercase_share` of the counted letters are capitals (judged only
    over at least `min_letters`), or a run of `exclamation_run` «!» after a sentence that is
    not `courtesy` («Спасибо!!!» is warmth, not shouting). Only `letters` are counted (Cyrillic:
    a pasted GDS answer is Latin capitals by nature); `ignore` removes what is legitimately
    upper case (acronyms, PNR codes, URLs, quoted system messages) before counting."""

    uppercase_share: Decimal = Field(default=Decimal("0.6"), gt=0, lt=1)
    min_letters: int = Field(default=12, ge=1)
    exclamation_run: int = Field(default=3, ge=2)
    letters: Regex = _compile("[а-яё]")
    ignore: PhraseSet = PhraseSet()
    courtesy: PhraseSet = PhraseSet()
    # Short capitals (ЦБ, НДС) are removed before the share is counted but can still be part of
    # a shouted phrase: `caps_phrase` finds words in capitals in a row (after `ignore`), which
    # shout when they hold `caps_phrase_letters` letters and a word of `caps_phrase_word`.
    acronyms: PhraseSet = PhraseSet()
    caps_phrase: Regex | None = None
    caps_phrase_letters: int = Field(default=10, ge=2)
    caps_phrase_word: int = Field(default=5, ge=2)
    # A shorter run shouts too when it holds this many ordinary dictionary words (not
    # abbreviations, names or places: «ЕЩЁ РАЗ», «ГДЕ ОТВЕТ», «НЕ ТРОГАЙТЕ»); 0: off.
    caps_phrase_ordinary_words: int = Field(default=0, ge=0)
    # «где?!! где?!!»: this many runs of two or more «!» (not courtesy) shout too; 0: off.
    repeated_double_bangs: int = Field(default=0, ge=0)


class DelayComplaintConfig(_Model):
    """`phrases` count anywhere; `questions` only inside a question («Есть подвижки?», «Что по
    срокам?»: asked, they are about our processing; told, they are not)."""

    phrases: PhraseSet
    questions: PhraseSet = PhraseSet(only_questions=True)
    model_vetoes: PhraseSet = PhraseSet()  # where these match, the model may not add a complaint
    # Lemmas of the nouns that are us, our work on the ticket or time («поддержка», «задача»,
    # «день»). When given, a hit does not count in a sentence that names someone else as who is
    # slow or silent (a noun that can be nominative, or a Latin name, none of these: «консульство
    # не отвечает», «Sabre починит») and does not address us («вы», «ваш», a verb in the second
    # person). Third parties are endless; what is ours is a short list.
    ours: frozenset[str] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _fold_ours(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("ours"), list):
            return {**data, "ours": frozenset(fold(str(w)).lower() for w in data["ours"])}
        return data

    def someone_else(self, text: str, span: tuple[int, int]) -> bool:
        """The sentence of `span` names someone else as its subject and does not address us."""
        if not self.ours:
            return False
        analysis = analyse(text)
        position = token_at(analysis, span[0])
        if position is None:
            return False
        sentence = [t for t in analysis.tokens if t.sentence == analysis.tokens[position].sentence and t.word]
        if any(second_person(t.text) for t in sentence):
            return False
        # who: a noun before the hit or inside it after its first word («когда Sabre починит»),
        # not after a preposition («по возможности»)
        return any(may_be_subject(t.text) and t.forms.isdisjoint(self.ours)
                   for before, t in zip([None, *sentence], sentence, strict=False)
                   if (t.end <= span[0] or span[0] < t.start < span[1])
                   and (before is None or not preposition(before.text)))


class ModelConfig(_Model):
    """The learned model beside the rules: its weights file (relative to this package unless
    absolute) and, per audit, whether it may add findings the rules did not make. The score
    thresholds are the builder's, stored with the weights (chosen on out-of-fold scores)."""

    file: str = "audit_model.json"
    complaint: bool = True
    shouting: bool = True
    priority: bool = True

    def learned(self) -> LearnedModel:
        return self._learned

    @cached_property
    def _learned(self) -> LearnedModel:
        path = Path(self.file)
        return load_model(path if path.is_absolute() else DEFAULT_RULES_PATH.parent / path)


class AuditConfig(_Model):
    """The whole of audit_rules.yaml. `vocabulary` names word lists that lemma patterns use
    as `@name` (third parties, components…), expanded when the file is loaded. `model`: the
    learned half (None: rules only)."""

    vocabulary: dict[str, list[str]] = {}
    priority: PriorityAuditConfig
    completeness: CompletenessConfig
    tone: ToneConfig = ToneConfig()
    delay_complaint: DelayComplaintConfig
    model: ModelConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _vocabulary(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        vocabulary = data.get("vocabulary") or {}
        if not isinstance(vocabulary, dict):
            return data
        return {k: v if k == "vocabulary" else _expand_vocabulary(v, vocabulary) for k, v in data.items()}


def load_audit_config(path: Path | None = None) -> AuditConfig:
    """Load and validate the rules (the shipped defaults unless `path` is given).

    Errors are `ConfigError`s naming the file, key and line.
    """
    return load_yaml_file(path or DEFAULT_RULES_PATH, AuditConfig)


# --- the audits ----------------------------------------------------------------------------

def audit_priority(ticket: TicketText, cfg: AuditConfig) -> PriorityFinding | None:
    """Compare the chosen priority with the regulation's definitions, as far as the text shows.

    Only positive evidence counts: a Критический ticket that never mentions money is not
    flagged, since the text may just be terse. Later client comments are not read: "поиск
    работает" after our fix must not downgrade the original report.
    """
    audit = cfg.priority
    current = next((level for level in audit.levels if _same_name(level, ticket.priority)), None)
    if current is None:
        return None
    text = ticket.body()
    found: dict[str, list[str]] = {}

    def hits(reference: str) -> list[str]:
        if reference not in found:
            found[reference] = [f for signal in reference.split("|") for f in audit.signals[signal].find(text)]
        return found[reference]

    for rule in audit.rules:
        if current not in rule.priorities:
            continue
        if not all(hits(s) for s in rule.all_of):
            continue
        if rule.any_of and not any(hits(s) for s in rule.any_of):
            continue
        if any(hits(s) for s in rule.none_of):
            continue
        evidence = [quote(f) for s in (*rule.all_of, *rule.any_of) for f in hits(s)]
        direction: Literal["raise", "lower"] = (
            "lower" if audit.levels.index(rule.suggest) > audit.levels.index(current) else "raise")
        return PriorityFinding(
            summary=(f"Приоритет «{current}» не соответствует описанию: предлагается «{rule.suggest}» "
                     f"({rule.explanation}; правило {rule.id})"),
            evidence=_dedupe(evidence), current=current, suggested=rule.suggest, direction=direction,
            matched_rule=rule.id, explanation=rule.explanation)
    if cfg.model is None or not cfg.model.priority:
        return None
    learned = cfg.model.learned()
    distribution = learned.heads["priority"].distribution(text)
    return _priority_by_model(text, current, distribution, learned.thresholds["priority"], cfg, found)


def model_priority(text: str, current: str, distribution: dict[str, float], threshold: float,
                   cfg: AuditConfig, found: dict[str, list[str]] | None = None) -> tuple[str, float] | None:
    """The level the model suggests and its score, or None: no rule matched, and the model is
    confident, names a real level other than the client's, and no rule signal in the text
    speaks against that level (`priority.model_vetoes`). The builder calls this too, so the
    thresholds are chosen on the very decision the audit makes. `found`: signals already found
    in `text` by the rules (name -> fragments), reused rather than searched again."""
    found = {} if found is None else found

    def hits(reference: str) -> list[str]:
        if reference not in found:
            found[reference] = cfg.priority.signals[reference].find(text)
        return found[reference]

    suggested, score = max(distribution.items(), key=lambda kv: kv[1])
    if suggested not in cfg.priority.levels or _same_name(suggested, current) or score < threshold:
        return None
    if any(hits(signal) for signal in cfg.priority.model_vetoes.get(suggested, [])):
        return None
    return suggested, score


def _priority_by_model(text: str, current: str, distribution: dict[str, float], threshold: float,
                       cfg: AuditConfig, found: dict[str, list[str]]) -> PriorityFinding | None:
    decided = model_priority(text, current, distribution, threshold, cfg, found)
    if decided is None:
        return None
    suggested, score = decided
    levels = cfg.priority.levels
    head = cfg.model.learned().heads["priority"]  # type: ignore[union-attr]
    fragment = head.evidence(text, head.classes.index(suggested))
    explanation = (f"по словам обращения оно похоже на обращения с приоритетом «{suggested}», "
                   f"оценка модели {_score(score)}")
    direction: Literal["raise", "lower"] = "lower" if levels.index(suggested) > levels.index(current) else "raise"
    return PriorityFinding(
        summary=f"Приоритет «{current}» не соответствует описанию: предлагается «{suggested}» ({explanation})",
        evidence=[quote(fragment)], current=current, suggested=suggested, direction=direction,
        matched_rule="model", explanation=explanation, decided_by="model", model_score=round(score, 2))


def _score(value: float) -> str:
    """0.91 as Russian writes it: «0,91»."""
    return f"{value:.2f}".replace(".", ",")


def audit_completeness(ticket: TicketText, cfg: AuditConfig) -> CompletenessFinding | None:
    """List the mandatory data (per tracker) the client has not given, with labels to ask for it."""
    audit = cfg.completeness
    text = ticket.all_client_text()
    placeholders = {fold(p).casefold() for p in audit.placeholders}
    missing: list[MissingItem] = []
    evidence: list[str] = []
    for check_id in audit.checks_for(ticket.tracker):
        check = audit.checks[check_id]
        reason = ""
        if check.applies_when is not None:
            triggers = check.applies_when.find(text)
            if not triggers:
                continue
            reason = f" (нужно, так как упомянуто {', '.join(quote(t) for t in triggers[:3])})"
        if check.skip_when is not None and check.skip_when.find(text):
            continue
        if any(fold(v).strip().casefold() not in placeholders | {""}
               for name in check.fields for v in ticket.field_values(name)):
            continue
        if check.present.find(text):
            continue
        if check.image_attachment and any(audit.is_image(a) for a in ticket.attachments):
            continue
        missing.append(MissingItem(check=check_id, label=check.label))
        where = f"ни в полях {', '.join(quote(f) for f in check.fields)}, ни в тексте" if check.fields \
            else "в тексте и вложениях"
        evidence.append(f"нет: {check.label} — не найдено {where}{reason}")
    if not missing:
        return None
    return CompletenessFinding(
        summary=f"В обращении не хватает обязательных данных: {'; '.join(m.label for m in missing)}",
        evidence=evidence, tracker=ticket.tracker, missing=missing)


_EXCLAMATIONS = re.compile(r"[!?]*!(?:[!?1]*!)?")
_LOUD = re.compile(r"!!|[А-ЯЁ]{2,}[^\w\n]+[А-ЯЁ]{2,}")


def audit_tone(text: str, cfg: AuditConfig) -> ToneFinding | None:
    """Flag shouting (mostly capitals, or «!!!» that is not courtesy): the regulation asks for
    a calm, polite form."""
    tone = cfg.tone
    evidence: list[str] = []
    cleaned = fold(text)
    for pattern in tone.ignore.patterns:
        if may_match(pattern, cleaned):
            cleaned = pattern.sub(lambda m: " " * len(m.group()), cleaned)
    phrase = _shouted_phrase(text, cleaned, tone)
    for pattern in tone.acronyms.patterns:
        if may_match(pattern, cleaned):
            cleaned = pattern.sub(lambda m: " " * len(m.group()), cleaned)
    cased = tone.letters.findall(cleaned)
    share: Decimal | None = None
    shouting = False
    if len(cased) >= tone.min_letters:
        upper = sum(map(str.isupper, cased))
        share = (Decimal(upper) / Decimal(len(cased))).quantize(Decimal("0.01"))
        if Decimal(upper) / Decimal(len(cased)) > tone.uppercase_share:
            shouting = True
            evidence.append(f"заглавных букв {upper} из {len(cased)} ({share:.0%}): "
                            f"{quote(_loudest_line(text))}")
    if phrase and not shouting:
        shouting = True
        evidence.append(f"фраза заглавными буквами: {quote(phrase)}")
    runs = [m for m in _EXCLAMATIONS.finditer(text)
            if m.group().count("!") >= tone.exclamation_run and not _courteous(text, m.start(), tone)]
    if not runs and tone.repeated_double_bangs:
        doubles = [m for m in _EXCLAMATIONS.finditer(text)
                   if m.group().count("!") >= 2 and not _courteous(text, m.start(), tone)]
        runs = doubles if len(doubles) >= tone.repeated_double_bangs else []
    for match in runs[:3]:
        line_start = text.rfind("\n", 0, match.start()) + 1
        fragment = text[max(line_start, match.start() - 40):match.end()]
        evidence.append(f"восклицательные знаки: {quote(fragment)}")
    if not shouting and not runs:
        # The regulation names «верхнего регистра и множества восклицательных знаков»: the model
        # is asked only about a text with two words in capitals in a row or «!!».
        score = _model_score(cfg, "shouting", text) if _LOUD.search(text) else None
        if score is None:
            return None
        fragment = cfg.model.learned().heads["shouting"].evidence(text)  # type: ignore[union-attr]
        return ToneFinding(summary=f"Обращение написано в повышенном тоне (оценка модели {_score(score)})",
                           evidence=[f"оценка модели {_score(score)}: {quote(fragment)}"], uppercase_share=share,
                           exclamation_runs=0, decided_by="model", model_score=round(score, 2))
    bangs = min(m.group().count("!") for m in runs) if runs else 0
    parts = (["текст набран в основном заглавными буквами"] if shouting else []) + (
        [f"серий из {min(bangs, tone.exclamation_run)}+ восклицательных знаков: {len(runs)}"] if runs else [])
    return ToneFinding(summary="Обращение написано в повышенном тоне: " + ", ".join(parts),
                       evidence=evidence, uppercase_share=share, exclamation_runs=len(runs))


def _model_score(cfg: AuditConfig, head: Literal["complaint", "shouting"], text: str) -> float | None:
    """The model's probability for `head` when it reaches the builder's threshold, else None."""
    if cfg.model is None or not getattr(cfg.model, head) or not text.strip():
        return None
    learned = cfg.model.learned()
    score = learned.heads[head].probability(text)
    return score if score >= learned.thresholds[head] else None


def _shouted_phrase(text: str, cleaned: str, tone: ToneConfig) -> str:
    """The first run of words in capitals long enough to be shouting, as the client wrote it."""
    if tone.caps_phrase is None:
        return ""
    for match in tone.caps_phrase.finditer(cleaned):
        words = [w for w in re.split(r"[^\w]+", match.group()) if w]
        letters = sum(len(w) for w in words)
        if len(words) >= 2 and letters >= tone.caps_phrase_letters and max(map(len, words)) >= tone.caps_phrase_word:
            return text[match.start():match.end()]
        if tone.caps_phrase_ordinary_words and \
                sum(1 for w in words if len(w) >= 2 and ordinary_word(w)) >= tone.caps_phrase_ordinary_words:
            return text[match.start():match.end()]
    return ""


def _courteous(text: str, offset: int, tone: ToneConfig) -> bool:
    """The sentence the «!!!» closes is a thank-you or a greeting (not a question: «Как так можно
    работать?!!!»)."""
    if "?" in text[offset:offset + 8].split(" ")[0]:
        return False
    start = max(text.rfind(mark, 0, offset) for mark in (".", "!", "?", "\n")) + 1
    sentence = text[start:offset].strip(" !?.")
    return bool(sentence) and bool(tone.courtesy.find(sentence))


def _loudest_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()] or [text]
    return max(lines, key=lambda line: sum(1 for c in line if c.isupper()))


_QUOTED = re.compile(r"«[^»]*»|„[^“]*“|\"[^\"\n]*\"")
_QUOTED_WORDS = 5


def audit_delay_complaint(comment_body: str, cfg: AuditConfig) -> DelayComplaintFinding | None:
    """A client comment complaining that we are slow (the portal's «Пожаловаться на задержку»
    or the same in words). Truthy when it is one."""
    audit = cfg.delay_complaint
    quoted = [m.span() for m in _QUOTED.finditer(comment_body) if len(m.group().split()) >= _QUOTED_WORDS]

    def ours(span: tuple[int, int]) -> bool:
        """Not inside quoted speech (a customer's «Сколько можно ждать мой возврат?» passed on;
        short quotes are names of buttons and statuses), not about someone else."""
        return not any(start <= span[0] and span[1] <= end for start, end in quoted) \
            and not audit.someone_else(comment_body, span)

    spans = [span for span in audit.phrases.spans(comment_body) if ours(span)] \
        or [span for span in audit.questions.spans(comment_body) if ours(span)]
    hits = list(dict.fromkeys(comment_body[start:end] for start, end in spans))
    if hits:
        return DelayComplaintFinding(summary=f"Клиент жалуется на задержку: {quote(hits[0])}",
                                     evidence=[quote(h) for h in hits])
    score = _model_score(cfg, "complaint", comment_body)
    if score is None or cfg.delay_complaint.model_vetoes.find(comment_body):
        return None
    fragment, where = cfg.model.learned().heads["complaint"].evidence_at(comment_body)  # type: ignore[union-attr]
    if audit.someone_else(comment_body, (where[1], where[1])):
        return None  # the sentence that weighed most is about someone else being slow
    return DelayComplaintFinding(summary=f"Клиент жалуется на задержку (оценка модели {_score(score)}): "
                                         f"{quote(fragment)}",
                                 evidence=[f"оценка модели {_score(score)}: {quote(fragment)}"],
                                 decided_by="model", model_score=round(score, 2))


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
