"""Running the rule table: findings, their weight by exposure, and accepted exceptions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from lares.audit.model import Container, HostFiles
from lares.audit.rules import SEVERITIES, Rule, Severity, discover, rank

#: Who accepted a finding: the catalog (an exception with its reason) or the blueprint.
AcceptedBy = Literal["catalog", "blueprint"]
#: For one container and rule: (reason, who) when the finding is accepted.
Acceptor = Callable[[Container, Rule], tuple[str, AcceptedBy] | None]


@dataclass(frozen=True)
class AuditFinding:
    """One rule broken by one container (or the host).

    ``severity`` is the rule's weighed by where the container is reachable from (``raised``
    says why it went up); ``accepted`` holds the reason when a catalog exception or the
    blueprint accepts it.
    """

    rule: str
    severity: Severity
    message: str
    app: str
    container: str
    project: str
    source: str
    fix: str
    line: int | None = None
    raised: tuple[str, ...] = ()
    accepted: str | None = None
    accepted_by: AcceptedBy | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {key: getattr(self, key) for key in _KEYS}
        return {**out, "raised": list(self.raised)}


#: The keys of a finding's dict, in the order --json prints them.
_KEYS = ("rule", "severity", "message", "app", "container", "project", "source", "line", "fix",
         "raised", "accepted", "accepted_by")  # fmt: skip


@dataclass(frozen=True)
class Report:
    findings: tuple[AuditFinding, ...]
    containers: int
    targets: tuple[str, ...]
    notes: tuple[str, ...] = ()
    rules: Mapping[str, Rule] = field(default_factory=discover)

    @property
    def open(self) -> list[AuditFinding]:
        return [f for f in self.findings if f.accepted is None]

    @property
    def accepted(self) -> list[AuditFinding]:
        return [f for f in self.findings if f.accepted is not None]

    def failing(self, threshold: str) -> list[AuditFinding]:
        """The findings not accepted at ``threshold`` or above (what ``--fail-on`` counts)."""
        return [f for f in self.open if rank(f.severity) >= rank(threshold)]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.open if f.severity == s) for s in reversed(SEVERITIES)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "targets": list(self.targets),
            "containers": self.containers,
            "findings": [f.to_dict() for f in self.open],
            "accepted": [f.to_dict() for f in self.accepted],
            "summary": self.counts() | {"accepted": len(self.accepted)},
            "notes": list(self.notes),
        }


def annotate(containers: Iterable[Container]) -> list[Container]:
    """Mark each container that shares a network with a database (and is not one itself).

    Networks are compared by their real names, which the engine and Compose's resolved
    model both give (a project's own network is ``PROJECT_KEY``; an external one is shared).
    """
    items = list(containers)
    with_db: set[str] = set()
    for c in items:
        if c.is_database:
            with_db.update(c.networks)
    return [
        replace(c, database_network=True)
        if not c.is_database and with_db.intersection(c.networks)
        else c
        for c in items
    ]


def weigh(rule: Rule, c: Container) -> tuple[Severity, tuple[str, ...]]:
    """The rule's severity for this container: one level up when the app is public through
    the tunnel, one more for a lateral rule on a network with a database."""
    level, why = rank(rule.severity), []
    if level == 0:
        return rule.severity, ()
    if c.exposure == "public":
        level, why = level + 1, ["published through the tunnel"]
    if rule.lateral and c.database_network:
        level += 1
        why.append("on a network with a database")
    return SEVERITIES[min(level, len(SEVERITIES) - 1)], tuple(why)


def check_containers(
    containers: Sequence[Container],
    *,
    accept: Acceptor | None = None,
    lines: Mapping[tuple[str, str], int] | None = None,
    fix_for: Callable[[Rule, Container], str] | None = None,
) -> list[AuditFinding]:
    """Every container rule on every container, weighed and with acceptance applied."""
    rules = [r for r in discover().values() if r.target == "container"]
    out: list[AuditFinding] = []
    for c in annotate(containers):
        for rule in rules:
            for message in rule.test(c):
                severity, raised = weigh(rule, c)
                accepted = accept(c, rule) if accept else None
                out.append(
                    AuditFinding(
                        rule=rule.id,
                        severity=severity,
                        message=message,
                        app=c.app,
                        container=c.name,
                        project=c.project,
                        source=c.source,
                        fix=fix_for(rule, c) if fix_for else rule.fix,
                        line=(lines or {}).get((c.source, c.service)),
                        raised=raised,
                        accepted=accepted[0] if accepted else None,
                        accepted_by=accepted[1] if accepted else None,
                    )
                )
    return out


def check_host(host: HostFiles) -> list[AuditFinding]:
    """The daemon and host families on the host's files."""
    out: list[AuditFinding] = []
    for rule in discover().values():
        if rule.target != "host":
            continue
        source = (
            host.daemon_source
            if rule.id.startswith("daemon-")
            else host.sshd_source
            if rule.id.startswith("sshd-")
            else host.ufw_source
        )
        for message in rule.test(host):
            out.append(
                AuditFinding(rule.id, rule.severity, message, "host", "", "", source, rule.fix)
            )
    return out


def check_drift(rendered: Sequence[Container], running: Sequence[Container]) -> list[AuditFinding]:
    """The drift family: running containers of lares's projects against the rendered ones."""
    projects = {c.project for c in rendered}
    by_key = {(c.project, c.service): c for c in rendered}
    seen: dict[tuple[str, str], Container] = {}
    out: list[AuditFinding] = []
    rules = [r for r in discover().values() if r.target == "drift"]
    pairs: list[tuple[Container | None, Container | None]] = []
    for item in running:
        if item.project not in projects:
            continue
        seen[(item.project, item.service)] = item
        pairs.append((by_key.get((item.project, item.service)), item))
    deployed = {project for project, _ in seen}  # a stack never deployed is not drift
    pairs += [(r, None) for k, r in by_key.items() if k not in seen and k[0] in deployed]
    for want, live in pairs:
        subject = live if live is not None else want
        if subject is None:
            continue
        for rule in rules:
            for message in rule.test((want, live)):
                out.append(
                    AuditFinding(
                        rule.id, rule.severity, message, subject.app, subject.name,
                        subject.project, "engine", rule.fix,
                    )
                )  # fmt: skip
    return out


def group(findings: Iterable[AuditFinding]) -> dict[str, list[AuditFinding]]:
    """Findings by app, worst first within each; apps in name order, the host last."""
    by_app: dict[str, list[AuditFinding]] = defaultdict(list)
    for f in findings:
        by_app[f.app].append(f)
    order = sorted(by_app, key=lambda a: (a == "host", a))
    return {
        a: sorted(by_app[a], key=lambda f: (-rank(f.severity), f.container, f.rule)) for a in order
    }
