"""The punctuation a regular expression cannot match without: a test before a scan.

The audits run dozens of regular expressions (audit_rules.yaml) over every text. Many cannot match
a text at all unless it holds a certain character: «сирена: …» needs «:», «статус?» needs «?», an
e-mail needs «@». Checking those characters is a fast scan in C; running the expression is a slow
one (alternations under IGNORECASE are tried at every position). The characters are read from the
expression's own parse tree, so the rule files stay plain data and nothing is declared twice.

Only characters without case and outside letters and digits are taken, so IGNORECASE and Unicode
case folding cannot make another character match one. Where the parse cannot be read (the parser
is CPython's private `re._parser`), the answer is "no requirement": the expression is simply run.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

try:
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover - another Python: no shortcut, same results
    _c = _p = None  # type: ignore[assignment]


def may_match(pattern: re.Pattern[str], text: str) -> bool:
    """False only when `pattern` cannot match anywhere in `text`; True means "run it"."""
    return all(char in text for char in needs(pattern))


@lru_cache(maxsize=1024)
def needs(pattern: re.Pattern[str]) -> frozenset[str]:
    """Characters every match of `pattern` contains (a subset of them; empty when unknown)."""
    if _p is None:
        return frozenset()
    try:
        return frozenset(_required(_p.parse(pattern.pattern, pattern.flags)))
    except Exception:  # noqa: BLE001 - any surprise in a private parser means: no shortcut
        return frozenset()


def _required(items: Any) -> set[str]:
    out: set[str] = set()
    for op, av in items:
        if op is _c.LITERAL:
            char = chr(av)
            if not char.isalnum() and char.lower() == char.upper() == char:
                out.add(char)
        elif op is _c.SUBPATTERN:
            out |= _required(av[-1])
        elif op is _c.ATOMIC_GROUP:
            out |= _required(av)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            low, _, body = av
            if low >= 1:
                out |= _required(body)
        elif op is _c.BRANCH:
            alternatives = [_required(branch) for branch in av[1]]
            out |= set.intersection(*alternatives) if alternatives else set()
    return out
