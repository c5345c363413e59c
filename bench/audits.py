"""Text audits on the labelled corpus: precision, recall and confusion, before (the rules of
main when issue 21 started, read from git) and after (this checkout: rules + learned model),
on the tuning and the unseen batches, in one run; the issue's floors checked on the unseen
batches; then the time and memory for 10,000 texts × all four audits.

    .venv/bin/python bench/audits.py [--errors] [--texts 10000]

No Redmine needed. Writes bench/results/audits.json. The corpus, its labelling rules and the
batch registry (which batches are tuning, which unseen, when each was written) are in
tests/data/audit_corpus.yaml. Split by batch, never by line: `unseen` batches were written
after the last change to the rules and the model and never used to tune either.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from policies import text_audits as after  # noqa: E402
from tests.unit.corpus_tickets import (  # noqa: E402
    CHECKS,
    LEVELS,
    NO_FLAG,
    Binary,
    Entry,
    Scores,
    load_corpus,
    score,
)

# the commit of main when issue 21 started: the rules the issue measured
BASELINE = "2b4b7b5ab028476314d405df199cef32c89a7331"  # commit
RESULTS = REPO / "bench" / "results"
SPLITS = ("tuning", "unseen", "all")
# The floors, on the unseen batches: (audit, measure) -> minimum.
FLOORS = {("priority-audit", "precision"): 0.9, ("priority-audit", "recall"): 0.8,
          ("priority-audit", "suggestion right"): 0.9,
          ("delay-complaint", "precision"): 0.9, ("delay-complaint", "recall"): 0.85,
          ("tone-audit", "precision"): 0.9, ("tone-audit", "recall"): 0.85}


def load_before() -> tuple[types.ModuleType, Any]:
    """policies/text_audits.py and audit_rules.yaml as they were at BASELINE, as a module."""
    def show(path: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO), "show", f"{BASELINE}:{path}"], capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"bench/audits.py: cannot read {path} at {BASELINE[:7]} from git: {done.stderr.strip()}")
        return done.stdout

    module = types.ModuleType("_audits_before")
    module.__file__ = str(REPO / "policies" / "_audits_before.py")
    sys.modules[module.__name__] = module
    exec(compile(show("policies/text_audits.py"), module.__file__, "exec"), module.__dict__)  # noqa: S102
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "audit_rules.yaml"
        rules.write_text(show("policies/audit_rules.yaml"), encoding="utf-8")
        cfg = module.load_audit_config(rules)
    return module, cfg


def pr(b: Binary) -> str:
    return f"{b.precision:5.2f} {b.recall:5.2f}"


def table(runs: dict[str, dict[str, Scores]], splits: tuple[str, ...] = SPLITS) -> list[dict[str, Any]]:
    """One row per audit/class and split: precision and recall before and after."""
    rows: list[dict[str, Any]] = []

    def add(audit: str, cls: str, pick: Any) -> None:
        for split in splits:
            b, a = pick(runs["before"][split]), pick(runs["after"][split])
            rows.append({"audit": audit, "class": cls, "split": split, "support": a.tp + a.fn,
                         "before": {"precision": round(b.precision, 3), "recall": round(b.recall, 3)},
                         "after": {"precision": round(a.precision, 3), "recall": round(a.recall, 3)}})

    add("delay-complaint", "complaint", lambda s: s.complaint)
    add("tone-audit", "shouting", lambda s: s.shouting)
    add("priority-audit", "all flags", lambda s: s.priority.flags)
    for split in splits:
        b, a = runs["before"][split].priority, runs["after"][split].priority
        rows.append({"audit": "priority-audit", "class": "suggestion right", "split": split,
                     "support": a.misfit_flags,
                     "before": {"precision": round(b.suggestion_right, 3), "recall": None},
                     "after": {"precision": round(a.suggestion_right, 3), "recall": None}})
    for level in LEVELS:
        add("priority-audit", f"→ {level}", lambda s, level=level: s.priority.per_class[level])
    add("completeness-audit", "all checks", lambda s: s.completeness_total())
    for check in CHECKS:
        add("completeness-audit", check, lambda s, check=check: s.completeness[check])
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'audit':<20} {'class':<16} {'split':<8} {'n':>4}   {'before P':>8} {'R':>5}   {'after P':>8} {'R':>5}")
    def recall(value: float | None) -> str:
        return "    —" if value is None else f"{value:>5.2f}"

    for r in rows:
        b, a = r["before"], r["after"]
        print(f"{r['audit']:<20} {r['class']:<16} {r['split']:<8} {r['support']:>4}   "
              f"{b['precision']:>8.2f} {recall(b['recall'])}   {a['precision']:>8.2f} {recall(a['recall'])}")


def check_floors(scores: Scores) -> list[dict[str, Any]]:
    """The issue's floors against the unseen batches (after)."""
    measured = {("priority-audit", "precision"): scores.priority.flags.precision,
                ("priority-audit", "recall"): scores.priority.flags.recall,
                ("priority-audit", "suggestion right"): scores.priority.suggestion_right,
                ("delay-complaint", "precision"): scores.complaint.precision,
                ("delay-complaint", "recall"): scores.complaint.recall,
                ("tone-audit", "precision"): scores.shouting.precision,
                ("tone-audit", "recall"): scores.shouting.recall}
    out = []
    print("\nfloors on the unseen batches (after):")
    for key, floor in FLOORS.items():
        value = measured[key]
        ok = value >= floor
        out.append({"audit": key[0], "measure": key[1], "floor": floor, "value": round(value, 3), "met": ok})
        print(f"  {key[0]:<16} {key[1]:<17} {value:5.2f}  floor {floor:.2f}  {'met' if ok else 'MISSED'}")
    return out


def print_confusions(runs: dict[str, dict[str, Scores]]) -> None:
    cols = (NO_FLAG, *LEVELS)
    for name in ("before", "after"):
        s = runs[name]["all"]
        print(f"\n[{name}] priority-audit confusion, all splits (rows: right suggestion, {NO_FLAG} = no flag is right;"
              " columns: the audit's suggestion)")
        print(f"{'':<13}" + "".join(f"{c[:11]:>12}" for c in cols))
        for row in cols:
            print(f"{row[:12]:<13}" + "".join(f"{s.priority.confusion.get((row, c), 0):>12}" for c in cols))
        for audit, b in (("complaint", s.complaint), ("shouting", s.shouting)):
            print(f"[{name}] {audit}: TP {b.tp}  FP {b.fp}  FN {b.fn}  TN {b.tn}")
        for check in CHECKS:
            b = s.completeness[check]
            print(f"[{name}] completeness {check}: TP {b.tp}  FP {b.fp}  FN {b.fn}  TN {b.tn}")


def print_errors(scores: Scores, name: str) -> None:
    print(f"\n[{name}] errors (all splits)")
    print("  priority:", *scores.priority.wrong, sep="\n    ")
    print("  priority missed:", ", ".join(scores.priority.flags.false_negatives))
    for audit, b in (("complaint", scores.complaint), ("shouting", scores.shouting)):
        print(f"  {audit} FP:", ", ".join(b.false_positives), "| FN:", ", ".join(b.false_negatives))
    for check in CHECKS:
        b = scores.completeness[check]
        print(f"  {check} FP:", ", ".join(b.false_positives), "| FN:", ", ".join(b.false_negatives))


def load_builder() -> types.ModuleType | None:
    """scripts/build_audit_model.py as a module, or None without scikit-learn (build-time extra)."""
    spec = importlib.util.spec_from_file_location("_build_audit_model", REPO / "scripts" / "build_audit_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError:
        return None
    return module


def cross_batch(cfg: Any, entries: list[Entry]) -> list[dict[str, Any]]:
    """Leave one tuning batch out: the model is trained on every other tuning batch (the shipped
    thresholds kept), the audits (rules + that model) scored on the batch left out. The rules were
    tuned on every tuning batch, so this is an honest estimate for the model's half only: how
    rules-plus-model do on a writer the model never saw."""
    builder = load_builder()
    if builder is None or cfg.model is None:
        print("\ncross-batch: skipped (needs the build-time extra: .venv/bin/pip install -e '.[model]')")
        return []
    tuning = [e for e in entries if e.split == "tuning"]
    thresholds = dict(cfg.model.learned().thresholds)
    rows: list[dict[str, Any]] = []
    pooled = Scores()
    print("\ncross-batch (leave one tuning batch out: model trained on the others; rules as tuned on all):")
    print(f"{'batch':<7} {'texts':>5}   {'priority P':>10} {'R':>5} {'sugg':>5}   {'complaint P':>11} {'R':>5}"
          f"   {'tone P':>6} {'R':>5}")
    with tempfile.TemporaryDirectory() as tmp:
        for batch in sorted({e.batch for e in tuning}):
            train = [e for e in tuning if e.batch != batch]
            held = [e for e in tuning if e.batch == batch]
            path = Path(tmp) / f"model-without-{batch}.json"
            path.write_text(json.dumps(builder.model_file(builder.train_heads(train), thresholds,
                                                          sorted({e.batch for e in train}))), encoding="utf-8")
            # a new ModelConfig, not model_copy: a copy would keep the shipped weights already read
            fold_model = type(cfg.model).model_validate({**cfg.model.model_dump(), "file": str(path)})
            fold = cfg.model_copy(update={"model": fold_model})
            assert fold.model.learned().built_from == tuple(sorted({e.batch for e in train}))
            s = score(after, fold, held)
            rows.append(_cross_row(batch, len(held), s))
            _pool(pooled, s)
    rows.append(_cross_row("all", len(tuning), pooled))
    for r in rows:
        print(f"{r['batch']:<7} {r['texts']:>5}   {r['priority'][0]:>10.2f} {r['priority'][1]:>5.2f} "
              f"{r['suggestion_right']:>5.2f}   {r['complaint'][0]:>11.2f} {r['complaint'][1]:>5.2f}   "
              f"{r['shouting'][0]:>6.2f} {r['shouting'][1]:>5.2f}")
    return rows


def _cross_row(batch: str, texts: int, s: Scores) -> dict[str, Any]:
    def pr(b: Binary) -> tuple[float, float]:
        return round(b.precision, 3), round(b.recall, 3)

    return {"batch": batch, "texts": texts, "priority": pr(s.priority.flags),
            "suggestion_right": round(s.priority.suggestion_right, 3),
            "complaint": pr(s.complaint), "shouting": pr(s.shouting),
            "support": {"priority": s.priority.flags.tp + s.priority.flags.fn,
                        "complaint": s.complaint.tp + s.complaint.fn, "shouting": s.shouting.tp + s.shouting.fn}}


def _pool(total: Scores, s: Scores) -> None:
    """Add the counts of one left-out batch to the pooled figures."""
    for mine, theirs in ((total.priority.flags, s.priority.flags), (total.complaint, s.complaint),
                         (total.shouting, s.shouting)):
        mine.tp, mine.fp, mine.fn, mine.tn = mine.tp + theirs.tp, mine.fp + theirs.fp, mine.fn + theirs.fn, \
            mine.tn + theirs.tn
    total.priority.misfit_flags += s.priority.misfit_flags
    total.priority.right_suggestions += s.priority.right_suggestions


def timing(module: types.ModuleType, cfg: Any, entries: list[Entry], count: int, salt: str) -> dict[str, float]:
    """Wall and CPU seconds for all four audits over `count` texts: corpus texts made distinct
    (a numbered line appended) so that the per-text caches do not help; the lemma cache does.
    The tickets are built before the clock starts: the time is the audits', not the bench's.
    CPU time is given beside wall time because the machine is shared."""
    tickets = [e for e in entries if e.kind == "ticket"]
    built = [tickets[i % len(tickets)].ticket(module).model_copy(
        update={"description": f"{tickets[i % len(tickets)].text}\nСм. также обращение {salt}{i}."})
        for i in range(count)]
    started, cpu = time.perf_counter(), time.process_time()
    for ticket in built:
        module.audit_priority(ticket, cfg)
        module.audit_completeness(ticket, cfg)
        module.audit_tone(ticket.body(), cfg)
        module.audit_delay_complaint(ticket.body(), cfg)
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list the ids behind every error")
    parser.add_argument("--texts", type=int, default=10_000, help="texts for the timing (10000)")
    parser.add_argument("--cross-batch", action="store_true",
                        help="also leave each tuning batch out in turn (needs scikit-learn; a few minutes)")
    args = parser.parse_args()

    entries = load_corpus()
    before, before_cfg = load_before()
    started = time.perf_counter()
    after_cfg = after.load_audit_config()
    load_seconds = time.perf_counter() - started
    splits = {"tuning": [e for e in entries if e.split == "tuning"],
              "unseen": [e for e in entries if e.split == "unseen"], "all": entries}
    runs = {name: {split: score(module, cfg, chosen) for split, chosen in splits.items()}
            for name, module, cfg in (("before", before, before_cfg), ("after", after, after_cfg))}
    tickets = sum(1 for e in entries if e.kind == "ticket")
    print(f"corpus: {len(entries)} texts ({tickets} tickets, {len(entries) - tickets} comments); "
          f"tuning {len(splits['tuning'])}, unseen {len(splits['unseen'])}; before = {BASELINE[:7]}")
    rows = table(runs, tuple(split for split in SPLITS if splits[split]))  # no rows for an empty split
    print_table(rows)
    print_confusions(runs)
    if args.errors:
        print_errors(runs["before"]["all"], "before")
        print_errors(runs["after"]["all"], "after")
    floors = check_floors(runs["after"]["unseen"]) if splits["unseen"] else []
    if not splits["unseen"]:
        print("\nfloors on the unseen batches: not checked, no batch is unseen (every batch has been tuned on)")
    started = time.perf_counter()
    if after_cfg.model is not None:
        after_cfg.model.learned()  # the weights, read once per process
    model_seconds = time.perf_counter() - started
    seconds = {"before": timing(before, before_cfg, entries, args.texts, "b"),
               "after": timing(after, after_cfg, entries, args.texts, "a")}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\ntime for {args.texts} texts (priority + completeness + tone + delay on each): "
          f"before {seconds['before']['wall']:.2f} s wall / {seconds['before']['cpu']:.2f} s CPU, "
          f"after {seconds['after']['wall']:.2f} s wall / {seconds['after']['cpu']:.2f} s CPU; "
          f"once per process: rules and morphology {load_seconds:.2f} s, model weights {model_seconds:.2f} s; "
          f"peak memory of this process {rss:.0f} MiB (both versions, corpus and caches loaded)")
    crossed = cross_batch(after_cfg, entries) if args.cross_batch else []  # after the memory figure
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "audits.json").write_text(json.dumps(
        {"corpus": len(entries), "rows": rows, "floors": floors, "seconds": seconds, "texts": args.texts,
         "load_seconds": load_seconds, "model_seconds": model_seconds, "peak_rss_mib": round(rss),
         "cross_batch": crossed},
        ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
