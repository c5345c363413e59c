"""Redmine project identifiers for portal companies.

Shared by the migration (which creates the projects) and `admin` (which must find the same
project for a company without a ledger), so both derive the identifier the same way.
"""

from __future__ import annotations

import re

from anyascii import anyascii

IDENTIFIER_LIMIT = 100


def project_identifier(name: str, used: set[str], stable_suffix: str) -> str:
    """A Redmine project identifier from a (Cyrillic) company name, unique among `used`.

    Redmine wants 1-100 of [a-z0-9-_], starting with a letter, not all digits. When two
    names transliterate alike, the later one gets the company's portal id as a suffix, which
    keeps the identifier the same on every re-run.
    """
    base = re.sub(r"[^a-z0-9]+", "-", anyascii(name).lower()).strip("-") or "company"
    if not base[0].isalpha():
        base = "c-" + base
    base = base[:IDENTIFIER_LIMIT].rstrip("-")
    candidate = base
    if candidate in used:
        suffix = "-" + re.sub(r"[^a-z0-9]+", "-", stable_suffix.lower()).strip("-")
        candidate = base[: IDENTIFIER_LIMIT - len(suffix)].rstrip("-") + suffix
        counter = 2
        while candidate in used:
            candidate = f"{base[: IDENTIFIER_LIMIT - len(suffix) - 4]}{suffix}-{counter}"
            counter += 1
    used.add(candidate)
    return candidate
