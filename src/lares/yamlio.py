"""YAML in and out, keeping line numbers for errors.

:func:`load_yaml` parses YAML 1.2 with libyaml (:mod:`lares.yaml12`) so every mapping key and
sequence item keeps its line and column; :func:`locate` finds them again for a path of keys, and
:func:`validate` turns a pydantic ``ValidationError`` into :class:`~lares.errors.ConfigError`
objects that say file:line:column, what is wrong and (for unknown keys) which key was meant.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import stat
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from lares.errors import MAX_ERRORS, ConfigError, ConfigErrors, Location

T = TypeVar("T")


def load_yaml(text: str, *, filename: str) -> Any:
    """Parse ``text`` (YAML 1.2, positions kept); raise :class:`ConfigErrors` on a syntax error."""
    import yaml

    from lares import yaml12

    try:
        return yaml12.load(text)
    except yaml12.LimitExceeded as exc:
        mark = exc.problem_mark
        raise ConfigErrors(
            [
                ConfigError(
                    f"this file goes past a limit of the loader: {exc.problem}",
                    location=Location(filename, mark.line + 1, mark.column + 1)
                    if mark
                    else Location(filename),
                    hint=f"lares reads at most {exc.limit} here, far more than any real file "
                    "needs; a file that needs more was most likely made to exhaust memory",
                    code="yaml-limit",
                )
            ]
        ) from None
    except yaml.MarkedYAMLError as exc:
        unclosed = _unclosed(exc, filename)
        if unclosed is not None:
            raise ConfigErrors([unclosed]) from None
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is not None and text[mark.index : mark.index + 1] == "\t":
            problem = "a tab character ('\\t') cannot indent YAML; use spaces"
        raise ConfigErrors(
            [
                ConfigError(
                    f"this is not valid YAML: {problem}",
                    location=Location(
                        filename,
                        mark.line + 1 if mark else None,
                        mark.column + 1 if mark else None,
                    ),
                    hint="check indentation, colons and quotes around this position",
                    code="yaml-syntax",
                )
            ]
        ) from None
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (NUL, a lone surrogate): say where it is.
        pos = int(exc.position or 0)
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        char = (
            exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        )
        raise ConfigErrors(
            [
                ConfigError(
                    f"this is not valid YAML: the character U+{char:04X} is not allowed",
                    location=Location(filename, line, column),
                    hint="remove it, or write it as an escape inside double quotes",
                    code="yaml-syntax",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigErrors(
            [
                ConfigError(
                    f"this is not valid YAML: {exc}",
                    location=Location(filename),
                    code="yaml-syntax",
                )
            ]
        ) from None


#: The largest blueprint lares reads: the reference homelab is 7 KiB, so 1 MiB is far past
#: any real one.
MAX_BLUEPRINT_BYTES = 1024**2
#: The largest app definition lares reads (the biggest embedded one is under 6 KiB).
MAX_APP_BYTES = 256 * 1024


# libyaml's context for an opener → (the opener, what it opens, how to close it)
_OPENERS = {
    "while parsing a flow mapping": ("{", "a flow mapping", "close it with } where it ends"),
    "while parsing a flow sequence": ("[", "a flow sequence", "close it with ] where it ends"),
    "while scanning a quoted scalar": ("quote", "a quoted string", "end it with the same quote"),
}


def _unclosed(exc: Any, filename: str) -> ConfigError | None:
    """The error of a ``{``, ``[`` or quote left open, located where it opened.

    libyaml reports it where it gave up — the next key, or the end of the file — but the
    mistake is at the opener. Only when the error is past the opener's line: an error on the
    same line (a missing comma) keeps its own position.
    """
    start, stop = exc.context_mark, exc.problem_mark
    known = _OPENERS.get(exc.context or "")
    if known is None or start is None or stop is None or stop.line <= start.line:
        return None
    opener, what, close = known
    return ConfigError(
        f"this is not valid YAML: the {opener} here opens {what} that is not closed (the "
        f"parser gave up at line {stop.line + 1}, column {stop.column + 1}: {exc.problem})",
        location=Location(filename, start.line + 1, start.column + 1),
        hint=f"{close}, or write the value on indented lines instead",
        code="yaml-syntax",
    )


def read_text(path: Path, *, limit: int = MAX_BLUEPRINT_BYTES) -> str:
    """Read a text file of at most ``limit`` bytes, with errors that name it.

    Only a regular file is read (a device such as /dev/zero, a FIFO or a socket is refused
    without reading from it), and never more than ``limit`` + 1 bytes of it, so a file that
    grows while it is read cannot get past the limit either.
    """
    try:
        return _read_bounded(path, limit).decode("utf-8")
    except FileNotFoundError:
        raise ConfigErrors(
            [
                ConfigError(
                    "file not found",
                    location=Location(str(path)),
                    hint="run `lares init` to write a blueprint, or pass --file",
                    code="file-missing",
                )
            ]
        ) from None
    except _Refused as exc:
        raise ConfigErrors(
            [
                ConfigError(
                    str(exc),
                    location=Location(str(path)),
                    hint=exc.hint,
                    code="file-refused",
                )
            ]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigErrors(
            [
                ConfigError(
                    f"cannot read the file: {exc}",
                    location=Location(str(path)),
                    code="file-unreadable",
                )
            ]
        ) from None


class _Refused(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _read_bounded(path: Path, limit: int) -> bytes:
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it changes nothing for a file.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise _Refused(
                f"this is {kind}, not a file lares reads",
                "pass the path of a YAML file",
            )
        if info.st_size > limit:
            raise _Refused(
                f"the file is {info.st_size} bytes, over the limit of {limit} bytes",
                "a real file is far smaller; this one is most likely not what you meant",
            )
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise _Refused(
                f"the file is over the limit of {limit} bytes",
                "a real file is far smaller; this one is most likely not what you meant",
            )
        return data
    finally:
        os.close(fd)


_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
}


def read_yaml(path: Path) -> Any:
    """Read and parse a YAML file, with errors that name it."""
    return load_yaml(read_text(path), filename=str(path))


def safe_load(text: str) -> Any:
    """Parse trusted YAML (the embedded catalog, rendered files): YAML 1.2 through libyaml."""
    from lares import yaml12

    return yaml12.load(text)


def locate(data: Any, path: Sequence[Any], filename: str | None) -> Location:
    """The file position of the value at ``path`` in loaded ``data`` (or its nearest parent).

    For a mapping key that does not exist (a missing field), the parent mapping's position is
    used; for the last key of ``path`` the key's own position is given, so an unknown key points
    at itself.
    """
    from lares.yaml12 import PosDict, PosList

    where: tuple[int, int] | None = None
    node = data
    for step in path:
        if isinstance(node, PosDict | PosList):
            where = where or node.start
        if isinstance(node, PosDict) and step in node:
            where = node.keys_at.get(step, node.start)
            node = node[step]
        elif isinstance(node, PosList) and isinstance(step, int) and 0 <= step < len(node):
            where = node.items_at[step]
            node = node[step]
        else:
            if isinstance(node, PosDict | PosList):
                where = node.start if where is None else where
            break
    else:
        if where is None and isinstance(node, PosDict | PosList):
            where = node.start
    dotted = ".".join(str(p) for p in path) or None
    line, col = where if where is not None else (None, None)
    return Location(
        filename,
        line + 1 if line is not None else None,
        col + 1 if col is not None else None,
        dotted,
    )


def _field_names(model: Any, path: Sequence[Any]) -> list[str]:
    """The field names of the pydantic model reached by ``path`` from ``model`` (for hints)."""
    from pydantic import BaseModel

    current: Any = model
    for step in path:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(step))
            if field is None:
                return []
            current = field.annotation
        else:
            origin = typing.get_origin(current)
            args = typing.get_args(current)
            if origin in (dict, Mapping) and len(args) == 2:
                current = args[1]
            elif origin in (tuple, list) and args:
                current = args[0]
            else:
                return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    """Strip Optional/Annotated so a model class shows through."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and hasattr(a, "model_fields")]
            if models:
                tp = models[0]
                continue
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


_MESSAGES = {
    "missing": "this is required but missing",
    "extra_forbidden": "unknown key",
}


def _message(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    msg = str(err.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    return msg


def validate(model: type[T], data: Any, *, filename: str | None, what: str = "file") -> T:
    """Validate ``data`` as ``model``; raise :class:`ConfigErrors` with every problem located."""
    from pydantic import ValidationError

    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigErrors(
            [
                ConfigError(
                    f"the {what} must be a mapping of keys to values",
                    location=Location(filename, 1, 1),
                    code="schema",
                )
            ]
        )
    try:
        return model.model_validate(data)  # type: ignore[attr-defined]
    except ValidationError as exc:
        errors = []
        # a file with a million unknown keys gets a million errors from pydantic: only the
        # first ones are located and explained, the rest are counted
        found = exc.errors(include_url=False)
        for err in found[:MAX_ERRORS]:
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            is_key = bool(loc) and loc[-1] == "[key]"
            loc = [p for p in loc if p != "[key]"]
            # pydantic adds the union member name ("str", "int", "Notify") to the path; drop
            # steps that are not in the data so the location stays right.
            loc = _data_path(data, loc)
            message = _message(err)
            if not loc:
                # a check across sections names where it failed first: "stacks.a.apps.b.x …"
                loc = _named_path(data, message)
            location = locate(data, loc, filename)
            if is_key and loc:
                message = f"the name '{loc[-1]}' is not allowed: {message}"
            hint = None
            if err["type"] == "extra_forbidden" and loc:
                known = _field_names(model, loc[:-1])
                close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
                if close:
                    hint = f"did you mean '{close[0]}'?"
                elif known:
                    hint = "known keys here: " + ", ".join(sorted(known))
                message = f"unknown key '{loc[-1]}'"
            elif err["type"] == "missing" and loc:
                message = f"'{loc[-1]}' is required but missing"
            errors.append(ConfigError(message, location=location, hint=hint, code="schema"))
        raise ConfigErrors(errors, omitted=len(found) - len(errors)) from None


_PATH_STEP = re.compile(r"^([a-z0-9_-]+)((?:\[\d+\])*)$")


def _named_path(data: Any, message: str) -> list[Any]:
    """The data path a message starts with (``a.b[0].c`` then a space), or the part of it the
    data has; [] when it starts with none."""
    head, _, rest = message.partition(" ")
    if ("." not in head and "[" not in head) or not rest:
        return []
    path: list[Any] = []
    for step in head.rstrip(":").split("."):
        match = _PATH_STEP.match(step)
        if match is None:
            return []
        path.append(match.group(1))
        path.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    node = data
    for depth, step in enumerate(path):
        in_map = isinstance(node, Mapping) and step in node
        in_list = isinstance(node, list) and isinstance(step, int) and step < len(node)
        if not (in_map or in_list):
            return path[:depth]  # a key the data lacks: its parent
        node = node[step]
    return path


def _data_path(data: Any, loc: Sequence[Any]) -> list[Any]:
    """Keep the steps of a pydantic error location that exist in the data (plus a final key)."""
    kept: list[Any] = []
    node = data
    for i, step in enumerate(loc):
        if isinstance(node, Mapping):
            if step in node:
                kept.append(step)
                node = node[step]
                continue
            if i == len(loc) - 1 or all(not isinstance(s, int) for s in loc[i:]):
                kept.append(step)
                break
            continue
        if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            kept.append(step)
            node = node[step]
            continue
        if isinstance(node, Mapping | list):
            continue
        break
    return kept


def dump_yaml(data: Any) -> str:
    """Block-style YAML of plain data (dicts, lists, scalars), keys in insertion order.

    Strings that could read as anything but a string (under YAML 1.1 or 1.2), or that hold YAML
    syntax, are double-quoted; the output parses back to the same data.
    """
    lines: list[str] = []
    _emit(data, 0, lines)
    return "\n".join(lines) + "\n"


_PLAIN = re.compile(r"^[A-Za-z_./][A-Za-z0-9_./ =+@-]*$")
_WORDS = {"yes", "no", "on", "off", "y", "n", "true", "false", "null", "~"}


def scalar(value: Any) -> str:
    """One scalar as YAML text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _PLAIN.match(text) and text == text.strip() and text.lower() not in _WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _emit(data: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    if isinstance(data, Mapping):
        for key, value in data.items():
            head = f"{pad}{scalar(key)}:"
            _emit_value(head, value, indent, lines)
    elif isinstance(data, list | tuple):
        for item in data:
            if isinstance(item, Mapping) and item:
                first = True
                for key, value in item.items():
                    lead = f"{pad}- " if first else f"{pad}  "
                    _emit_value(f"{lead}{scalar(key)}:", value, indent + 2, lines)
                    first = False
            elif isinstance(item, list | tuple) and item:
                lines.append(f"{pad}-")
                _emit(item, indent + 2, lines)
            else:
                lines.append(f"{pad}- {_inline(item)}")
    else:
        lines.append(pad + scalar(data))


def _emit_value(head: str, value: Any, indent: int, lines: list[str]) -> None:
    if isinstance(value, Mapping | list | tuple) and value:
        lines.append(head)
        _emit(value, indent + 2, lines)
    else:
        lines.append(f"{head} {_inline(value)}")


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    return scalar(value)
