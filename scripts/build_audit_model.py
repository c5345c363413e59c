"""Build policies/audit_model.json from the TUNING batches of the audit corpus.

    .venv/bin/pip install -e '.[model]'       # scikit-learn: build time only
    .venv/bin/python scripts/build_audit_model.py [--check]

Three heads over `policies.audit_model.features`: complaint (binary), shouting (binary) and
priority (the regulation's level or "cannot tell", softmax). Logistic regression, L2.

The thresholds at which the model may add a finding the rules did not make are chosen on
out-of-fold scores, leaving one tuning BATCH out at a time (never one line: lines of a batch
share a writer's habits), as the smallest threshold whose combined rules-or-model precision
stays at or above TARGET_PRECISION. Unseen batches are never read here.

--check rebuilds in memory and fails if the shipped file differs (a stale model). Deterministic:
the same corpus gives the same file. Takes a few seconds on one core.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sklearn.feature_extraction import DictVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from policies import text_audits  # noqa: E402
from policies.audit_model import features  # noqa: E402
from tests.unit.corpus_tickets import CANNOT_TELL, Entry, load_corpus  # noqa: E402

OUT = REPO / "policies" / "audit_model.json"
# Out-of-fold precision the rules-or-model decision must keep on the tuning batches. Complaints
# asked more after round 3 (its unseen batches showed the model's complaints less precise than
# the out-of-fold estimate, 0.87 against 0.95); round 6's unseen batches measured 0.92 / 0.77
# (precision above its floor, recall below), and with b25-b27 the rules alone reach 0.97 on the
# tuning batches, so 0.97 would switch the model's complaints off. Round 7: 0.95, as the others.
TARGET_PRECISION = {"complaint": 0.95, "shouting": 0.95, "priority": 0.95}
MIN_DOCS = 2          # a feature seen in fewer training texts is dropped
MIN_WEIGHT = 0.02     # smaller weights are dropped from the shipped file
C = {"complaint": 2.0, "shouting": 2.0, "priority": 2.0}
GRID = [round(0.30 + 0.025 * i, 3) for i in range(27)]  # 0.30 … 0.95


def fit(texts: list[str], labels: list[Any], c: float) -> tuple[DictVectorizer, LogisticRegression]:
    docs = [dict.fromkeys(features(t), 1) for t in texts]
    counts: dict[str, int] = {}
    for doc in docs:
        for feat in doc:
            counts[feat] = counts.get(feat, 0) + 1
    docs = [{f: 1 for f in doc if counts[f] >= MIN_DOCS} for doc in docs]
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform(docs)
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(matrix, labels)
    return vectorizer, model


def predict(vectorizer: DictVectorizer, model: LogisticRegression, texts: list[str]) -> list[list[float]]:
    matrix = vectorizer.transform([dict.fromkeys(features(t), 1) for t in texts])
    return model.predict_proba(matrix).tolist()


def export(vectorizer: DictVectorizer, model: LogisticRegression, binary: bool) -> dict[str, Any]:
    names = vectorizer.get_feature_names_out()
    coef = model.coef_
    classes = [str(c) for c in model.classes_]
    weights: dict[str, list[float]] = {}
    for j, name in enumerate(names):
        column = [float(coef[i, j]) for i in range(coef.shape[0])]
        if max(abs(w) for w in column) >= MIN_WEIGHT:
            weights[str(name)] = [round(w, 3) for w in column]
    return {"classes": ["True"] if binary else classes,
            "bias": [round(float(b), 4) for b in model.intercept_],
            "weights": dict(sorted(weights.items()))}


def out_of_fold(entries: list[Entry], text: Callable[[Entry], str], label: Callable[[Entry], Any],
                c: float) -> dict[str, list[float]]:
    """Each entry's class probabilities from a model that never saw its batch."""
    scores: dict[str, list[float]] = {}
    for batch in sorted({e.batch for e in entries}):
        train = [e for e in entries if e.batch != batch]
        test = [e for e in entries if e.batch == batch]
        vectorizer, model = fit([text(e) for e in train], [label(e) for e in train], c)
        for entry, probs in zip(test, predict(vectorizer, model, [text(e) for e in test]), strict=True):
            scores[entry.id] = dict(zip([str(k) for k in model.classes_], probs, strict=True))  # type: ignore[assignment]
    return scores


def precision_recall(decisions: list[tuple[bool, bool]]) -> tuple[float, float]:
    tp = sum(1 for got, want in decisions if got and want)
    fp = sum(1 for got, want in decisions if got and not want)
    fn = sum(1 for got, want in decisions if want and not got)
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def choose(evaluate: Callable[[float], tuple[float, float]], name: str) -> float:
    """The threshold with the best recall among those keeping the target precision."""
    best = (1.01, -1.0, 0.0)
    target = TARGET_PRECISION.get(name, 0.95)
    for threshold in GRID:
        precision, recall = evaluate(threshold)
        print(f"{name}: at {threshold} out-of-fold precision {precision:.3f}, recall {recall:.3f}")
        if precision >= target and (recall, precision) >= (best[1], best[2]):
            best = (threshold, recall, precision)
    print(f"{name}: threshold {best[0]} (out-of-fold precision {best[2]:.3f}, recall {best[1]:.3f})")
    return best[0]


def train_heads(entries: list[Entry]) -> dict[str, Any]:
    """The three heads fitted on `entries` (no threshold chosen): what `build` ships, and what
    bench/audits.py fits once per left-out batch for its cross-batch figures."""
    tickets = [e for e in entries if e.kind == "ticket"]
    heads = {}
    for name, label in (("complaint", lambda e: e.complaint), ("shouting", lambda e: e.shouting)):
        vectorizer, model = fit([e.body() for e in entries], [label(e) for e in entries], C[name])
        heads[name] = export(vectorizer, model, binary=True)
    vectorizer, model = fit([e.body() for e in tickets], [e.priority for e in tickets], C["priority"])
    heads["priority"] = export(vectorizer, model, binary=False)
    return heads


def model_file(heads: dict[str, Any], thresholds: dict[str, float], built_from: list[str]) -> dict[str, Any]:
    """The content of an audit_model.json."""
    return {"version": 1,
            "about": "Built by scripts/build_audit_model.py from the tuning batches of tests/data/audit_corpus.yaml; "
                     "see policies/audit_model.py. Do not edit by hand.",
            "built_from": sorted(built_from),
            "target_precision": TARGET_PRECISION,
            "thresholds": thresholds,
            "heads": heads}


def build() -> dict[str, Any]:
    entries = [e for e in load_corpus() if e.split == "tuning"]
    cfg = text_audits.load_audit_config()
    rules_only = cfg.model_copy(update={"model": None})
    thresholds: dict[str, float] = {}

    for name, label in (("complaint", lambda e: e.complaint), ("shouting", lambda e: e.shouting)):
        oof = out_of_fold(entries, Entry.body, label, C[name])
        audit = text_audits.audit_delay_complaint if name == "complaint" else text_audits.audit_tone
        by_rule = {e.id: audit(e.body(), rules_only) is not None for e in entries}

        def evaluate(threshold: float, oof: Any = oof, by_rule: Any = by_rule,
                     label: Any = label) -> tuple[float, float]:
            return precision_recall([(by_rule[e.id] or oof[e.id]["True"] >= threshold, bool(label(e)))
                                     for e in entries])

        alone = precision_recall([(by_rule[e.id], bool(label(e))) for e in entries])
        print(f"{name}: rules alone precision/recall {alone}")
        thresholds[name] = choose(evaluate, name)

    tickets = [e for e in entries if e.kind == "ticket"]
    oof = out_of_fold(tickets, Entry.body, lambda e: e.priority, C["priority"])
    rule_flags = {e.id: text_audits.audit_priority(e.ticket(text_audits), rules_only) for e in tickets}

    def evaluate_priority(threshold: float) -> tuple[float, float]:
        tp = fp = fn = 0
        for e in tickets:
            finding = rule_flags[e.id]
            suggested = finding.suggested if finding is not None else None
            if suggested is None and threshold <= 1.0:
                decided = text_audits.model_priority(e.body(), str(e.client), oof[e.id], threshold, cfg)
                suggested = decided[0] if decided is not None else None
            expected = e.priority if e.priority not in (CANNOT_TELL, e.client) else None
            if suggested is not None and suggested == expected:
                tp += 1
            elif suggested is not None:
                fp += 1
            if expected is not None and suggested != expected:
                fn += 1
        return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)

    print(f"priority: rules alone precision/recall {evaluate_priority(2.0)}")
    thresholds["priority"] = choose(evaluate_priority, "priority")
    return model_file(train_heads(entries), thresholds, sorted({e.batch for e in entries}))


def render(model: dict[str, Any]) -> str:
    return json.dumps(model, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the shipped model is not what the corpus gives")
    args = parser.parse_args()
    text = render(build())
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            sys.exit(f"{OUT.relative_to(REPO)} is stale: run scripts/build_audit_model.py")
        print("model is up to date")
        return
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
