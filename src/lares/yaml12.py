"""A fast YAML 1.2 loader that remembers where every key and item was.

libyaml (through PyYAML's C parser) does the parsing; the values follow the YAML 1.2 core schema
rather than PyYAML's YAML 1.1 defaults, so ``no`` stays a string, ``03:00`` stays a string and
``010`` is ten. Mappings come back as :class:`PosDict` and sequences as :class:`PosList`, which
carry the 0-based (line, column) of their own start and of each key or item. A key that appears
twice in one mapping is an error, and ``<<`` merge keys are honoured.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml

Position = tuple[int, int]

_CORE_RESOLVERS: list[tuple[str, re.Pattern[str], str]] = [
    ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    ("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), "~nN"),
    (
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
        "-+0123456789",
    ),
    (
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        "-+.0123456789",
    ),
    ("tag:yaml.org,2002:merge", re.compile(r"^<<$"), "<"),
]


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    # a fresh table: only the YAML 1.2 core schema below, none of PyYAML's 1.1 resolvers
    yaml_implicit_resolvers: ClassVar[dict[str | None, list[tuple[str, re.Pattern[str]]]]] = {}


for _tag, _regexp, _first in _CORE_RESOLVERS:
    _Loader.add_implicit_resolver(_tag, _regexp, list(_first))
# the empty scalar is null too
_Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])


class PosDict(dict[Any, Any]):
    """A mapping that knows where it and each of its keys start."""

    start: Position = (0, 0)
    keys_at: dict[Any, Position]

    def __init__(self) -> None:
        super().__init__()
        self.keys_at = {}


class PosList(list[Any]):
    """A sequence that knows where it and each of its items start."""

    start: Position = (0, 0)
    items_at: list[Position]

    def __init__(self) -> None:
        super().__init__()
        self.items_at = []


class DuplicateKey(yaml.MarkedYAMLError):
    pass


def _scalar(node: yaml.ScalarNode) -> Any:
    value = node.value
    tag = node.tag
    if tag == "tag:yaml.org,2002:str":
        return value
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return value.lower() == "true"
    if tag == "tag:yaml.org,2002:int":
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value, 10)
    if tag == "tag:yaml.org,2002:float":
        lowered = value.lower()
        if lowered.endswith(".inf"):
            return float("-inf") if lowered.startswith("-") else float("inf")
        if lowered == ".nan":
            return float("nan")
        return float(value)
    # explicit tags (!!binary, !!timestamp, custom) are kept as their text
    return value


def _pos(node: yaml.Node) -> Position:
    return (node.start_mark.line, node.start_mark.column)


def _build(node: yaml.Node, depth: int = 0) -> Any:
    if depth > 200:
        raise yaml.MarkedYAMLError(problem="nesting is too deep", problem_mark=node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        seq = PosList()
        seq.start = _pos(node)
        for item in node.value:
            seq.append(_build(item, depth + 1))
            seq.items_at.append(_pos(item))
        return seq
    if isinstance(node, yaml.MappingNode):
        out = PosDict()
        out.start = _pos(node)
        merged: list[PosDict] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                value = _build(value_node, depth + 1)
                sources = value if isinstance(value, list) else [value]
                merged.extend(s for s in sources if isinstance(s, PosDict))
                continue
            key = _build(key_node, depth + 1)
            if isinstance(key, list | dict):
                raise yaml.MarkedYAMLError(
                    problem="a key must be a plain value", problem_mark=key_node.start_mark
                )
            if key in out:
                raise DuplicateKey(
                    problem=f"the key {key!r} appears twice in the same mapping",
                    problem_mark=key_node.start_mark,
                )
            out[key] = _build(value_node, depth + 1)
            out.keys_at[key] = _pos(key_node)
        for source in merged:
            for key, value in source.items():
                if key not in out:
                    out[key] = value
                    out.keys_at[key] = source.keys_at.get(key, source.start)
        return out
    raise yaml.MarkedYAMLError(problem="unsupported YAML node", problem_mark=node.start_mark)


def load(text: str) -> Any:
    """Parse one YAML document. Raises ``yaml.YAMLError`` (with a mark where there is one)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    return None if node is None else _build(node)
