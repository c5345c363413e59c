"""Every YAML file the tool reads refuses aliases and duplicate keys (issue 19.6): exit 2, file, line."""

from __future__ import annotations

import time

import pytest

from helpdesk_core.errors import ConfigError
from helpdesk_core.yaml_source import parse_yaml

BOMB = "".join(f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + BOMB


@pytest.mark.parametrize(("text", "line", "words"), [
    (BOMB, 2, "alias '*a'"),
    ("a: &a [*a]\n", 1, "alias '*a'"),
    ("base: &b {x: 1}\nother:\n  <<: *b\n", 3, "alias '*b'"),
    ("rules:\n  r: {enabled: true}\n  r: {enabled: false}\n", 3, "'r' is given twice"),
    ("list:\n  - {a: 1, b: 2, a: 3}\n", 2, "'a' is given twice"),
])
def test_aliases_and_duplicate_keys_are_refused_with_the_line(text: str, line: int, words: str) -> None:
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, source="f.yaml")
    assert time.monotonic() - started < 1.0  # refused while reading, nothing expanded
    assert caught.value.line == line and caught.value.source == "f.yaml"
    assert words in str(caught.value)


def test_the_error_names_the_duplicated_key_path() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_yaml("settings:\n  x: 1\nrules:\n  a: {}\n  b: {}\n  a: {}\n", source="p.yaml")
    assert caught.value.key == "rules.a" and caught.value.line == 6


def test_an_anchor_alone_and_ordinary_yaml_still_load() -> None:
    node, data = parse_yaml("a: &keep [1, 2]\nb: {c: 'x', d: [1, 2]}\n", source="f.yaml")
    assert node is not None and data == {"a": [1, 2], "b": {"c": "x", "d": [1, 2]}}
    assert parse_yaml("", source="f.yaml") == (None, None)
