"""razdel's word tokenizer, the same decisions without its per-atom objects.

`razdel.tokenize` builds a record per atom, a split object per pair and calls seven rule objects
per split: a third of the audits' time went there. This module applies the very same rules
(razdel 0.5.0, `razdel/segmenters/tokenize.py`) to plain tuples, reusing razdel's own atom
regex and punctuation tables, so any text is cut exactly as razdel cuts it;
tests/unit/test_razdel_tokens.py checks that on the whole audit corpus and on generated text.
Only the text and offsets of each token are returned: that is all the audits read.
"""

from __future__ import annotations

from razdel.segmenters.punct import DASHES, ENDINGS
from razdel.segmenters.tokenize import ATOM, INT, LAT, OTHER, PUNCT, RU, SMILE

_Atom = tuple[int, int, str, str]  # start, stop, type, text
_WORDLIKE = (OTHER, RU, LAT)


def tokenize(text: str) -> list[tuple[int, int, str]]:
    """(start, stop, text) of each token of `text`, as `razdel.tokenize` gives them."""
    atoms: list[_Atom] = [(m.start(), m.end(), m.lastgroup or "", m.group()) for m in ATOM.finditer(text)]
    if not atoms:
        return []
    tokens: list[tuple[int, int, str]] = []
    start, stop, _, buffer = atoms[0]
    for index in range(1, len(atoms)):
        atom = atoms[index]
        # razdel asks its rules only when nothing (no space) stands between two atoms
        if atom[0] == stop and _joins(atoms, index, buffer):
            buffer += atom[3]
        else:
            tokens.append((start, stop, buffer))
            start, buffer = atom[0], atom[3]
        stop = atom[1]
    tokens.append((start, stop, buffer))
    return tokens


def _joins(atoms: list[_Atom], index: int, buffer: str) -> bool:
    """razdel's RULES in their order; each either joins or has no opinion, so any one joining
    decides. `left`/`right` are the atoms on either side of the split, as in razdel's TokenSplit."""
    left, right = atoms[index - 1], atoms[index]
    left_2 = atoms[index - 2] if index >= 2 else None
    right_2 = atoms[index + 1] if index + 1 < len(atoms) else None
    l_text, r_text, l_type, r_type = left[3], right[3], left[2], right[2]
    # dash, underscore: join the words around «-» / «_», unless either is punctuation;
    # float, fraction: join the numbers around «.» «,» / «/» «\\»
    for delimiters, kinds in ((DASHES, None), ("_", None), (".,", INT), ("/\\", INT)):
        pair = _around(delimiters, left, right, left_2, right_2)
        if pair is not None and (pair[0][2] == pair[1][2] == kinds if kinds
                                 else pair[0][2] != PUNCT and pair[1][2] != PUNCT):
            return True
    if l_type == PUNCT and r_type == PUNCT and (
            SMILE.match(buffer + r_text) or (l_text in ENDINGS and r_text in ENDINGS)
            or l_text + r_text in ("--", "**")):
        return True
    if (l_type == OTHER and r_type in _WORDLIKE) or (l_type in _WORDLIKE and r_type == OTHER):
        return True
    return l_text.lower() == "yahoo" and r_text == "!"


def _around(delimiters: str, left: _Atom, right: _Atom, left_2: _Atom | None,
            right_2: _Atom | None) -> tuple[_Atom, _Atom] | None:
    """razdel's Rule2112: when the left atom is a delimiter, the atoms around it are the one
    before it and the right one; else when the right atom is, the left one and the one after it.
    (`in` a string, as razdel tests it: atoms that can be delimiters are single characters.)"""
    if left[3] in delimiters:
        return (left_2, right) if left_2 is not None else None
    if right[3] in delimiters:
        return (left, right_2) if right_2 is not None else None
    return None
