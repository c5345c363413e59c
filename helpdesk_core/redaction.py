"""Finding a secret in text however it was written, and replacing it.

Servers, proxies and libraries echo request headers back in their own notation: JSON
(`\\u0061`, `\\/`), URL encoding (`%61`, twice-encoded `%2561`), Python reprs (`\\x61`), HTML
character references (`&#97;`, `&#x61;`), or upper-cased. An exact-match replace misses all of
those, so each character of the secret matches any of its spellings, case-insensitively.
"""

from __future__ import annotations

import re

MASK = "[REDACTED]"


def _spellings(char: str) -> str:
    """Any number of escaping rounds: backslashes double in each repr/JSON round, `%` becomes `%25`."""
    code = ord(char)
    forms = [rf"\\*{re.escape(char)}", f"%(?:25)*{code:02x}", rf"\\+u0*{code:x}", rf"\\+x0*{code:x}",
             f"&(?:amp;)*#x0*{code:x};", f"&(?:amp;)*#0*{code};"]
    return "(?:" + "|".join(forms) + ")"


class Redactor:
    """Replaces every spelling of the given secrets with `[REDACTED]`; empty secrets are ignored."""

    def __init__(self, *secrets: str) -> None:
        patterns = ["".join(_spellings(c) for c in s) for s in sorted({s for s in secrets if s}, key=len,
                                                                          reverse=True)]
        self._pattern = re.compile("|".join(patterns), re.IGNORECASE) if patterns else None

    def __call__(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern is not None else text

    def found_in(self, text: str) -> bool:
        return self._pattern is not None and self._pattern.search(text) is not None
