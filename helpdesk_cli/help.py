"""Help pages and usage errors in the reader's language, within 80 columns.

Typer's own help is English, boxed and cuts long option names at 80 columns; click's errors
("No such command", "Missing option") are English too. The command line builds its click
command tree afresh for each run, so this module translates that tree's texts (docstrings by
paragraph, option help whole) through the catalogue and gives each command a plain help
page: usage, text, then options as `--name VALUE  help`, flags without a value, the name
never cut (a long one puts its help on the next line).
"""

from __future__ import annotations

import enum
import os
import re
import textwrap
import types
import typing
from pathlib import Path
from typing import Any

from helpdesk_core.messages import Messages

MAX_WIDTH = 80
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
NBSP = "\u00a0"
_BOUND = re.compile(r"Input should be (greater|less) than or equal to (\S+)")
NAME_COLUMN = 26
CONTINUED = " \\"  # a shell line continued on the next  # option names up to this width share their line with the help


def help_width() -> int:
    """The terminal's width (COLUMNS), at most 80: help is read in a terminal or in a mail."""
    try:
        columns = int(os.environ.get("COLUMNS", "") or MAX_WIDTH)
    except ValueError:
        columns = MAX_WIDTH
    return max(40, min(columns, MAX_WIDTH))


def translate_doc(text: str | None, m: Messages) -> str | None:
    """A docstring by paragraphs: prose joined into one line and translated; an "Example:" block kept."""
    if not text:
        return text
    parts = []
    for paragraph in text.split("\n\n"):
        head, _, rest = paragraph.partition("\n")
        if head.strip().rstrip(":") in ("Example", "Examples"):
            parts.append(m(head.strip()) + ("\n" + rest if rest else ""))
        else:
            parts.append(m.text(" ".join(paragraph.split())))
    return "\n\n".join(parts)


def _annotation(param: Any) -> Any:
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    for _ in range(3):  # Optional[X], list[X], Annotated[...]
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType, list, tuple) and args:
            annotation = args[0]
    return annotation


def _value_name(param: Any) -> str:
    """What an option takes, as a reader types it: a choice list, FILE, DIR, N, or its name."""
    annotation = _annotation(param)
    info = getattr(getattr(param, "type_descriptor", None), "parameter_info", None)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "|".join(str(e.value) for e in annotation)
    if annotation is Path:
        return "DIR" if getattr(info, "file_okay", True) is False else "FILE"
    if annotation in (int, float):
        return "N"
    return param.name.strip("_").upper().replace("_", "-")


def _argument_name(param: Any) -> str:
    return str(param.name).strip("_").upper().replace("_", "-")


def _option_names(param: Any) -> str:
    if param.param_type_name == "argument":
        return _argument_name(param)
    names = ", ".join([*param.opts, *param.secondary_opts]) if param.secondary_opts else ", ".join(param.opts)
    if getattr(param, "is_flag", False) or getattr(param, "is_bool_flag", False) or _annotation(param) is bool:
        return names
    return f"{names} {_value_name(param)}"


def _option_help(param: Any, m: Messages) -> str:
    words = [m.text(" ".join((param.help or "").split()))] if param.help else []
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        words.append(m("({low}…{high})", low=low, high=high).replace(" ", NBSP))
    elif low is not None:
        words.append(m("(at least {low})", low=low).replace(" ", NBSP))
    default = param.default
    is_flag = getattr(param, "is_flag", False) or _annotation(param) is bool
    if default not in (None, "", [], ()) and not is_flag and param.param_type_name == "option":
        shown = default.value if isinstance(default, enum.Enum) else default
        words.append(m("[default: {value}]", value=shown).replace(" ", NBSP))
    envvar = getattr(param, "envvar", None)
    if envvar:
        words.append(m("[env: {name}]", name=envvar).replace(" ", NBSP))
    if param.required and param.param_type_name == "option":
        words.append(m("[required]").replace(" ", NBSP))
    return " ".join(words)


def _rows(rows: list[tuple[str, str]], width: int) -> list[str]:
    """Two columns; a name wider than its column keeps its whole line and the help goes below."""
    names = min(max((len(n) for n, _ in rows), default=0), NAME_COLUMN)
    lines: list[str] = []
    indent = " " * (2 + names + 2)
    for name, text in rows:
        wrapped = textwrap.wrap(text, width - len(indent), break_long_words=False, break_on_hyphens=False) or [""]
        if len(name) <= names:
            lines.append(f"  {name:<{names}}  {wrapped[0]}".rstrip())
            lines += [indent + w for w in wrapped[1:]]
        else:
            lines.append(f"  {name}")
            lines += [indent + w for w in wrapped if w]
    return lines


def render_help(command: Any, ctx: Any, m: Messages, width: int) -> str:
    """The plain help page of one command."""
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = [p for p in params if p.param_type_name == "argument"]
    options = [p for p in params if p.param_type_name != "argument"]
    pieces = [m.text("[OPTIONS]"), *(_argument_name(p) + ("..." if p.nargs == -1 else "") for p in arguments)]
    if getattr(command, "commands", None):
        pieces.append(m.text("COMMAND [ARGS]..."))
    lines = [f"{m('Usage:')} {' '.join([ctx.command_path, *pieces])}", ""]
    for paragraph in (command.help or "").split("\n\n"):
        if "\n" in paragraph:  # an example block: commands as written, long ones continued with "\\"
            lines.append(paragraph.split("\n", 1)[0])
            for line in paragraph.split("\n")[1:]:
                # a quoted argument is never split: a continued line inside quotes would change it
                held = _QUOTED.sub(lambda q: q[0].replace(" ", NBSP), " ".join(line.split()))
                parts = [p.replace(NBSP, " ") for p in textwrap.wrap(held, width - 4, break_long_words=False,
                                                                        break_on_hyphens=False)]
                last = len(parts) - 1
                lines += [("  " if i == 0 else "    ") + part + (CONTINUED if i < last else "")
                          for i, part in enumerate(parts)]
        else:
            lines += textwrap.wrap(paragraph, width, break_long_words=False, break_on_hyphens=False)
        lines.append("")
    for title, group in (("Arguments:", arguments), ("Options:", options)):
        if group:
            lines.append(m(title))
            lines += _rows([(_option_names(p), _option_help(p, m)) for p in group], width)
            lines.append("")
    subcommands = getattr(command, "commands", None)
    if subcommands:
        lines.append(m("Commands:"))
        rows = [(name, (sub.short_help or (sub.help or "").split("\n\n")[0]).strip())
                for name, sub in subcommands.items() if not getattr(sub, "hidden", False)]
        lines += _rows(rows, width)
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def localize(command: Any, m: Messages, width: int | None = None) -> None:
    """Translate this command tree's texts and give every command the plain help page."""
    width = width or help_width()
    command.help = translate_doc(command.help, m)
    if command.short_help:
        command.short_help = m.text(" ".join(command.short_help.split()))

    def format_help(self: Any, ctx: Any, formatter: Any) -> None:
        formatter.write(render_help(self, ctx, m, width))

    command.format_help = types.MethodType(format_help, command)
    for sub in (getattr(command, "commands", None) or {}).values():
        localize(sub, m, width)


def usage_error(exc: Any, m: Messages) -> list[str]:
    """A usage error as two lines: what is wrong (translated), and which help to read."""
    ctx = getattr(exc, "ctx", None)
    # pydantic's "less than or equal to" would be split by the catalogue's "{a} or {b}": said plainly first
    message = _BOUND.sub(lambda b: f"Input should be {'at least' if b[1] == 'greater' else 'at most'} {b[2]}",
                         exc.format_message())
    lines = [m("error: ") + m.text(message)]
    if ctx is not None:
        lines.append(m("hint: ") + m("see `{command} --help`", command=ctx.command_path))
    return lines
