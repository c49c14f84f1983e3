"""Image tags as versions: which tags are newer than a pin, in the same scheme and variant.

Pure: tags in, comparisons out. A tag is read as an optional ``v``, a dotted number (the *core*)
and an optional suffix (the *variant*: ``alpine``, ``bookworm``, ``slim-rootless``). Tags compare
only within one *shape*: the same prefix, the same count of core numbers, the same variant and
the same scheme, so ``16.10-alpine`` is followed by ``16.11-alpine`` but never by ``17-bookworm``,
``16`` (a floating tag) or ``latest``. A counter glued to a variant word (LinuxServer's ``-ls250``,
Alpine's ``alpine3.22``) is a rebuild of the same release, not part of the variant's name.

Schemes:

* ``semver``: ``1.2.3``, ``v2.7.5``, ``4.0.14.2939`` — the first number that differs gives the
  level (major, minor, patch; a fourth number and rebuilds are patches);
* ``calendar``: the first number is a year (``2024.10.1``, ``24.04`` is not one) — a new year is
  major, a new month minor;
* ``build``: a single number (``1234``) — every newer build is a patch: the scheme says nothing
  more.

Release candidates and other pre-releases (``rc``, ``beta``, ``alpha``, ``dev``, ``nightly``,
``preview``, ``pre``, ``test``, ``snapshot``, ``edge``, ``next``) are never offered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from lares.plain import Plain

Level = Literal["patch", "minor", "major"]
LEVELS: tuple[Level, ...] = ("patch", "minor", "major")
Scheme = Literal["semver", "calendar", "build"]

_TAG = re.compile(
    r"^(?P<prefix>v?)(?P<core>\d+(?:\.\d+){0,4})(?P<suffix>(?:[-_.+][A-Za-z0-9._+-]*)?)$"
)
_PRERELEASE = re.compile(
    r"(?:^|[^a-z])(rc|beta|alpha|dev|nightly|preview|pre|test|snapshot|edge|next|unstable)"
    r"(?:[^a-z]|$)",
    re.IGNORECASE,
)
_COUNTER = re.compile(r"^(?P<word>[A-Za-z]+)(?P<count>\d+(?:\.\d+)*)$")
# a number alone in the suffix (`1.2.3-2`) is a rebuild counter too
_NUMBER = re.compile(r"^\d+$")


@dataclass(frozen=True, order=True)
class Version:
    """A tag read as a version. Compares by (core, rebuild) within one :attr:`shape`."""

    core: tuple[int, ...]
    rebuild: tuple[int, ...]
    tag: str
    prefix: str
    variant: str
    scheme: Scheme

    @property
    def shape(self) -> tuple[str, int, str, str]:
        return (self.prefix, len(self.core), self.variant, self.scheme)

    def level_to(self, newer: Version) -> Level:
        """How big the step from this version to ``newer`` (a later one of the same shape) is."""
        if self.scheme == "build":
            return "patch"
        for i, (a, b) in enumerate(zip(self.core, newer.core, strict=True)):
            if a != b:
                return LEVELS[max(0, 2 - i)]
        return "patch"


def parse(tag: str) -> Version | None:
    """The tag as a :class:`Version`, or None for a tag that is not one (``latest``, a digest,
    a pre-release, a name)."""
    m = _TAG.match(tag)
    if m is None or _PRERELEASE.search(m["suffix"]):
        return None
    core = tuple(int(p) for p in m["core"].split("."))
    variant_words: list[str] = []
    rebuild: list[int] = []
    for word in filter(None, re.split(r"[-_.+]", m["suffix"])):
        counter = _COUNTER.match(word)
        if counter is not None:
            variant_words.append(counter["word"].lower())
            rebuild.extend(int(p) for p in counter["count"].split("."))
        elif _NUMBER.match(word):
            rebuild.append(int(word))
        else:
            variant_words.append(word.lower())
    scheme: Scheme
    if len(core) == 1 and not m["prefix"]:
        scheme = "build" if core[0] >= 100 else "semver"
    elif 2000 <= core[0] <= 2100:
        scheme = "calendar"
    else:
        scheme = "semver"
    return Version(
        core=core,
        rebuild=tuple(rebuild),
        tag=tag,
        prefix=m["prefix"],
        variant="-".join(variant_words),
        scheme=scheme,
    )


@dataclass(frozen=True)
class Newer(Plain):
    """The newest tag at each level above a pin (None where there is none)."""

    current: str
    patch: str | None = None
    minor: str | None = None
    major: str | None = None

    def at(self, level: Level) -> str | None:
        return {"patch": self.patch, "minor": self.minor, "major": self.major}[level]

    @property
    def level(self) -> Level | None:
        """The biggest step on offer."""
        for level in reversed(LEVELS):
            if self.at(level):
                return level
        return None


def newer(current: str, tags: Iterable[str]) -> Newer | None:
    """The newest tag of each level among ``tags`` above ``current``; None when ``current`` is
    not a version lares can compare (then nothing is offered rather than a guess)."""
    pin = parse(current)
    if pin is None:
        return None
    best: dict[Level, Version] = {}
    for tag in tags:
        v = parse(tag)
        if v is None or v.shape != pin.shape or (v.core, v.rebuild) <= (pin.core, pin.rebuild):
            continue
        level = pin.level_to(v)
        if level not in best or (v.core, v.rebuild) > (best[level].core, best[level].rebuild):
            best[level] = v
    return Newer(
        current=current,
        patch=best["patch"].tag if "patch" in best else None,
        minor=best["minor"].tag if "minor" in best else None,
        major=best["major"].tag if "major" in best else None,
    )


def allowed(step: Level, limit: Level) -> bool:
    """Whether an update of size ``step`` is within ``limit`` (patch < minor < major)."""
    return LEVELS.index(step) <= LEVELS.index(limit)


def release_notes(template: str | None, tag: str) -> str | None:
    """The catalog's release-notes page (``template``) for ``tag``: ``{version}`` is the tag's
    number without a ``v`` or a variant, ``{tag}`` the tag as is; None without a template or
    for a tag that is no version."""
    if template is None or parse(tag) is None:
        return None
    number = _TAG.match(tag)["core"]  # type: ignore[index]  # as written: 2026.07.2
    return template.replace("{version}", number).replace("{tag}", tag)
