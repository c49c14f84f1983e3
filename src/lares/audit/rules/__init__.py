"""The audit's rule table: one module per rule family, found by scanning this package.

A family module defines ``FAMILY`` (its name, which is also the module name) and ``RULES``, a
tuple of :class:`Rule` that :func:`table` builds from the family's text (``<family>.yaml``
beside it: each rule's title, severity, references, what it checks, why and its fix) and its
tests, by rule id. A container rule's ``test`` reads one normalised
:class:`~lares.audit.model.Container` (so it checks a compose file and a running container
alike); a host rule's reads :class:`~lares.audit.model.HostFiles`, a drift rule's a (rendered,
running) pair of containers, either one None. A test returns one line per
problem it sees (empty when there is none) and never changes anything. Adding a rule is adding
its text and its test to a family; adding a family is adding a module and its text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")
Target = Literal["container", "host", "drift"]


def rank(severity: str) -> int:
    return SEVERITIES.index(severity)  # type: ignore[arg-type,unused-ignore]


@dataclass(frozen=True)
class Rule:
    """One check, with what it matches elsewhere and what fixes it.

    ``cis`` is the CIS Docker Benchmark v1.6 recommendation, ``compose_lint`` the compose-lint
    rule it matches (``None`` when compose-lint has none). ``exception`` is the catalog
    exception kind that accepts it for a lares container; ``blueprint`` says what to change in
    lares.yaml instead of the compose file. ``lateral`` rules are one level worse on a
    container that shares a network with a database: a foothold there reaches the data.
    """

    id: str
    title: str
    severity: Severity
    checks: str
    why: str
    fix: str
    test: Callable[[Any], Sequence[str]]
    cis: str | None = None
    compose_lint: tuple[str, ...] = ()
    exception: str | None = None
    blueprint: str | None = None
    lateral: bool = False
    target: Target = "container"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "cis": self.cis,
            "compose_lint": list(self.compose_lint),
            "checks": self.checks,
            "why": self.why,
            "fix": self.fix,
            "exception": self.exception,
            "target": self.target,
        }


def table(family: str, tests: Mapping[str, Callable[[Any], Sequence[str]]]) -> tuple[Rule, ...]:
    """The rules of ``family``: its text (``<family>.yaml`` here), each with its test.

    Raises :class:`RuntimeError` when a rule has text but no test, or a test but no text.
    """
    from lares import yaml12

    text = yaml12.load((Path(__file__).with_name(f"{family}.yaml")).read_text())
    if list(text) != list(tests):
        raise RuntimeError(f"rule family {family}: its text and its tests name other rules")
    return tuple(
        Rule(
            id=ident,
            test=tests[ident],
            **{**spec, "compose_lint": tuple(spec.get("compose_lint", ()))},
        )
        for ident, spec in text.items()
    )


def discover() -> dict[str, Rule]:
    """Every rule of every family in this package, by id, in family then table order."""
    from lares import plugins

    found: dict[str, Rule] = {}
    for ident, module in plugins.by_id(__name__, "rule families", key="FAMILY").items():
        if ident != module.__name__.rsplit(".", 1)[1]:
            raise RuntimeError(f"rule family {module.__name__} must set FAMILY to its name")
        for rule in module.RULES:
            if rule.id in found:
                raise RuntimeError(f"two rules share the id {rule.id!r}")
            found[rule.id] = rule
    return found
