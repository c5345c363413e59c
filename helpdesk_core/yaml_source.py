"""YAML files validated by pydantic, with errors that name the key and the line.

PyYAML's composer keeps a mark (line, column) for every node; we index those marks by
key path so that a pydantic error at `roles.client.permissions.2` becomes
`mappings.yaml:41, key 'roles.client.permissions.2': ...` instead of a traceback.

Every YAML file the tool reads (`--config`, mappings, policies, companies, audit rules) comes
through here, and none needs YAML's aliases: an alias is refused where it stands (a 500-byte
"billion laughs" would otherwise expand to gigabytes, a self-referencing one recurse forever),
and so is a key given twice in one mapping (YAML would silently keep the last: a rule disabled
without a word). Both are a `ConfigError` (exit 2) with the file and the line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from helpdesk_core.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)
KeyPath = tuple[str | int, ...]


def _index_lines(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            lines[path + (key,)] = key_node.start_mark.line + 1
            _index_lines(value_node, path + (key,), lines)
            lines[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, path + (index,), lines)


def _line_for(loc: KeyPath, lines: dict[KeyPath, int]) -> int | None:
    """The line of the deepest existing prefix of `loc` (a missing key is reported at its parent)."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


Check = Callable[[Model], list[tuple[KeyPath, str]]]


class _RefusedAlias(yaml.MarkedYAMLError):
    """An alias (`*name`) in a file the tool reads."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases while composing: nothing is ever expanded."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _RefusedAlias(problem=f"alias '*{event.anchor}' refused: write the value out "
                                "(aliases are not accepted in the tool's files)", problem_mark=event.start_mark)
        return super().compose_node(parent, index)  # type: ignore[no-any-return]


def _duplicate_key(node: yaml.Node | None, path: KeyPath = ()) -> tuple[KeyPath, int] | None:
    """The first key given twice in one mapping (its path and the line of the second), if any."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    return path + (str(key_node.value),), key_node.start_mark.line + 1
                seen.add(key_node.value)
            found = _duplicate_key(value_node, path + (str(key_node.value),))
            if found is not None:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found = _duplicate_key(item, path + (index,))
            if found is not None:
                return found
    return None


def parse_yaml(text: str, *, source: str) -> tuple[yaml.Node | None, object]:
    """The node tree and the data of a YAML text, aliases and duplicate keys refused."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        duplicate = _duplicate_key(node)
        if duplicate is not None:
            path, line = duplicate
            raise ConfigError(f"key '{path[-1]}' is given twice in one mapping (YAML would keep only "
                              "the last)", source=source, key=".".join(str(p) for p in path), line=line)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ConfigError(f"not valid YAML: {exc.problem}", source=source,
                          line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=source) from None
    finally:
        loader.dispose()
    return node, data


def load_yaml_model(text: str, model: type[Model], *, source: str, check: Check | None = None) -> Model:
    """Parse `text` and validate it as `model`; every failure is a `ConfigError` with a line.

    `check` runs cross-reference checks on the validated model and returns (key path,
    message) pairs, reported the same way as schema errors.
    """
    node, data = parse_yaml(text, source=source)
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    try:
        result = model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if isinstance(p, str | int))
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(first["msg"] + more, source=source,
                          key=".".join(str(p) for p in loc) or None,
                          line=_line_for(loc, lines)) from None
    problems = check(result) if check else []
    if problems:
        loc, message = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(message + more, source=source, key=".".join(str(p) for p in loc),
                          line=_line_for(loc, lines))
    return result


def load_yaml_file(path: Path, model: type[Model], check: Check | None = None) -> Model:
    """Read and validate a YAML file; a missing or unreadable file is a `ConfigError` too."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", source=str(path)) from None
    return load_yaml_model(text, model, source=str(path), check=check)
