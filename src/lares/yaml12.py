"""A fast YAML 1.2 loader that remembers where every key and item was.

libyaml (through PyYAML's C parser) does the parsing; the values follow the YAML 1.2 core schema
rather than PyYAML's YAML 1.1 defaults, so ``no`` stays a string, ``03:00`` stays a string and
``010`` is ten. Mappings come back as :class:`PosDict` and sequences as :class:`PosList`, which
carry the 0-based (line, column) of their own start and of each key or item. A key that appears
twice in one mapping is an error, and ``<<`` merge keys are honoured.

The loader is built for files from strangers: nesting deeper than :data:`MAX_DEPTH`, more than
:data:`MAX_NODES` nodes, and aliases that would copy more than :data:`MAX_ALIAS_NODES` nodes are
refused (:class:`LimitExceeded`) before the memory is spent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

Position = tuple[int, int]

#: How deep mappings and sequences may nest (the reference blueprint needs 6 levels).
MAX_DEPTH = 64
#: How many nodes aliases and merge keys may copy in one document, all together. A real
#: blueprint copies a few dozen; a "billion laughs" file asks for billions.
MAX_ALIAS_NODES = 10_000
#: How many nodes (scalars, mappings, sequences) one document may hold: the reference
#: blueprint has under 400, the largest compose file seen in the wild under 1,000.
MAX_NODES = 50_000

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
_STR = "tag:yaml.org,2002:str"
_FIRST_CHARS = frozenset("".join(first for _tag, _regexp, first in _CORE_RESOLVERS))


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


def _scalar_value(value: str, tag: str) -> Any:
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


def _pos(mark: Any) -> Position:
    return (mark.line, mark.column)


class LimitExceeded(yaml.MarkedYAMLError):
    """The document goes past one of the loader's limits (nesting depth, alias expansion)."""

    def __init__(self, problem: str, mark: Any, *, limit: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.limit = limit


@dataclass
class _Frame:
    """A mapping or sequence being built, with what it needs until its end event."""

    value: PosDict | PosList
    anchor: str | None
    size: int = 1  # nodes in this subtree, itself included
    height: int = 1  # levels of nesting in this subtree, itself included
    key: Any = None
    key_mark: Any = None
    has_key: bool = False
    merge: bool = False
    merged: list[PosDict] = field(default_factory=list)


class _Builder:
    """Builds plain data from libyaml's events, with no recursion and within the limits.

    libyaml's own composer recurses in C (a few hundred kilobytes of ``[`` crash the process)
    and shares one node among all its aliases, which a naive walk then expands again for each
    one. Here the nesting depth is checked as each collection opens, and every alias (a merge
    key's included) is charged the size of what it copies before the copy is made.
    """

    def __init__(self, loader: Any, max_depth: int, max_alias_nodes: int, max_nodes: int) -> None:
        self.loader = loader
        self.max_depth = max_depth
        self.nodes_left = max_nodes
        self.max_nodes = max_nodes
        self.alias_budget = max_alias_nodes
        self.max_alias_nodes = max_alias_nodes
        # anchor → (value, size, height); None while the anchored collection is still open
        self.anchors: dict[str, tuple[Any, int, int] | None] = {}
        self.stack: list[_Frame] = []
        self.root: Any = None

    def document(self) -> Any:
        get = self.loader.get_event
        get()  # StreamStartEvent
        event = get()
        if isinstance(event, yaml.StreamEndEvent):
            return None
        root = self._node()
        get()  # DocumentEndEvent
        event = get()
        if not isinstance(event, yaml.StreamEndEvent):
            raise yaml.MarkedYAMLError(
                problem="expected a single document, but found another",
                problem_mark=event.start_mark,
            )
        return root

    def _node(self) -> Any:
        get = self.loader.get_event
        stack = self.stack
        while True:
            event = get()
            kind = type(event)
            if kind is not yaml.SequenceEndEvent and kind is not yaml.MappingEndEvent:
                self.nodes_left -= 1
                if self.nodes_left < 0:
                    raise LimitExceeded(
                        f"the file holds more than {self.max_nodes} values",
                        event.start_mark,
                        limit=f"{self.max_nodes} values",
                    )
            if kind is yaml.ScalarEvent:
                tag = event.tag
                if tag is None:
                    tag = self._resolve(event.value, event.implicit)
                elif tag == "!":
                    tag = _STR
                if tag == "tag:yaml.org,2002:merge" and self._expects_key():
                    stack[-1].merge = True
                    stack[-1].has_key = True
                    continue
                value = _scalar_value(event.value, tag)
                done = self._finish(value, event.start_mark, event.anchor, 1, 0)
            elif kind is yaml.AliasEvent:
                value, size, height = self._alias(event)
                done = self._finish(value, event.start_mark, None, size, height)
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                if self._expects_key():
                    raise yaml.MarkedYAMLError(
                        problem="a key must be a plain value", problem_mark=event.start_mark
                    )
                if len(stack) >= self.max_depth:
                    raise LimitExceeded(
                        f"the data is nested more than {self.max_depth} levels deep",
                        event.start_mark,
                        limit=f"{self.max_depth} levels",
                    )
                container: PosDict | PosList = (
                    PosList() if kind is yaml.SequenceStartEvent else PosDict()
                )
                container.start = _pos(event.start_mark)
                if event.anchor is not None:
                    self.anchors[event.anchor] = None
                stack.append(_Frame(container, event.anchor))
                continue
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                frame = stack.pop()
                if isinstance(frame.value, PosDict):
                    _merge_into(frame.value, frame.merged)
                if frame.anchor is not None:
                    self.anchors[frame.anchor] = (frame.value, frame.size, frame.height)
                done = self._finish(frame.value, None, None, frame.size, frame.height)
            else:  # pragma: no cover - libyaml's parser emits nothing else inside a document
                raise yaml.MarkedYAMLError(
                    problem="unsupported YAML event", problem_mark=event.start_mark
                )
            if done:
                return self.root

    def _resolve(self, value: str, implicit: tuple[bool, bool]) -> str:
        # Most scalars are plain words (keys, names): a first character that no resolver
        # starts with makes them strings without trying each pattern.
        if not implicit[0]:
            return _STR
        if value and value[0] not in _FIRST_CHARS:
            return _STR
        tag: str = self.loader.resolve(yaml.ScalarNode, value, implicit)
        return tag

    def _expects_key(self) -> bool:
        top = self.stack[-1] if self.stack else None
        return top is not None and isinstance(top.value, PosDict) and not top.has_key

    def _alias(self, event: Any) -> tuple[Any, int, int]:
        name = event.anchor
        if name not in self.anchors:
            raise yaml.MarkedYAMLError(
                problem=f"the alias *{name} names no anchor before it",
                problem_mark=event.start_mark,
            )
        target = self.anchors[name]
        if target is None:
            raise yaml.MarkedYAMLError(
                problem=f"the alias *{name} is inside the node it refers to",
                problem_mark=event.start_mark,
            )
        value, size, height = target
        self.nodes_left -= size - 1
        if size > 1:
            self.alias_budget -= size
            if self.alias_budget < 0:
                raise LimitExceeded(
                    f"aliases expand to more than {self.max_alias_nodes} nodes "
                    f"(*{name} alone is {size})",
                    event.start_mark,
                    limit=f"{self.max_alias_nodes} nodes",
                )
        if len(self.stack) + height > self.max_depth:
            raise LimitExceeded(
                f"the alias *{name} nests the data more than {self.max_depth} levels deep",
                event.start_mark,
                limit=f"{self.max_depth} levels",
            )
        if self._expects_key() and isinstance(value, list | dict):
            raise yaml.MarkedYAMLError(
                problem="a key must be a plain value", problem_mark=event.start_mark
            )
        return _copy(value), size, height

    def _finish(self, value: Any, mark: Any, anchor: str | None, size: int, height: int) -> bool:
        """Attach a finished node to the collection it is in; True when it was the root."""
        if anchor is not None:
            self.anchors[anchor] = (value, size, height)
        if not self.stack:
            self.root = value
            return True
        top = self.stack[-1]
        top.size += size
        if height >= top.height:
            top.height = height + 1
        container = top.value
        if isinstance(container, PosList):
            container.append(value)
            container.items_at.append(_pos(mark) if mark is not None else value.start)
            return False
        if not top.has_key:
            top.key, top.key_mark, top.has_key = value, mark, True
            return False
        top.has_key = False
        if top.merge:
            top.merge = False
            sources = value if isinstance(value, list) else [value]
            top.merged.extend(s for s in sources if isinstance(s, PosDict))
            return False
        key = top.key
        if key in container:
            raise DuplicateKey(
                problem=f"the key {key!r} appears twice in the same mapping",
                problem_mark=top.key_mark,
            )
        container[key] = value
        container.keys_at[key] = _pos(top.key_mark)
        return False


def _merge_into(out: PosDict, merged: list[PosDict]) -> None:
    for source in merged:
        for key, value in source.items():
            if key not in out:
                out[key] = value
                out.keys_at[key] = source.keys_at.get(key, source.start)


def _copy(value: Any) -> Any:
    """A deep copy of built data, positions included (the depth is already bounded)."""
    if isinstance(value, PosDict):
        out = PosDict()
        out.start = value.start
        out.keys_at = dict(value.keys_at)
        for key, item in value.items():
            out[key] = _copy(item)
        return out
    if isinstance(value, PosList):
        seq = PosList()
        seq.start = value.start
        seq.items_at = list(value.items_at)
        seq.extend(_copy(item) for item in value)
        return seq
    return value


def load(
    text: str,
    *,
    max_depth: int = MAX_DEPTH,
    max_alias_nodes: int = MAX_ALIAS_NODES,
    max_nodes: int = MAX_NODES,
) -> Any:
    """Parse one YAML document. Raises ``yaml.YAMLError`` (with a mark where there is one);
    :class:`LimitExceeded` when it nests deeper than ``max_depth``, holds more than
    ``max_nodes`` nodes, or its aliases and merge keys copy more than ``max_alias_nodes``
    nodes in all."""
    loader = _Loader(text)
    try:
        return _Builder(loader, max_depth, max_alias_nodes, max_nodes).document()
    finally:
        loader.dispose()
