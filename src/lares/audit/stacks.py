"""What lares knows about its own stacks that a plain compose file does not say.

Where an app is reachable from (the plan's exposure), why a container departs from the
hardening defaults (the catalog's exceptions, each with its reason), what the person accepts on
top (``audit.accept`` in the blueprint, each with its reason), and which blueprint change fixes a
finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from lares.audit.engine import AcceptedBy, AuditFinding
from lares.audit.model import Container, Exposure
from lares.audit.rules import Rule, discover
from lares.errors import LaresError

_EXPOSURE: dict[str, Exposure] = {"public": "public", "lan": "lan", "none": "internal"}


class UnknownRule(LaresError):
    code = "audit-accept"
    exit_code = 2


class Stacks:
    """The catalog and blueprint view of a lares system, for the audit."""

    def __init__(self, system: Any, loaded: Any | None = None) -> None:
        self.system = system
        self.loaded = loaded
        self.accepts = {(a.rule, a.app): a.reason for a in system.blueprint.audit.accept}
        rules = discover()
        for i, a in enumerate(system.blueprint.audit.accept):
            if a.rule not in rules:
                raise UnknownRule(
                    f"audit.accept[{i}]: there is no audit rule {a.rule!r}",
                    location=loaded.locate("audit", "accept", i, "rule") if loaded else None,
                    hint="`lares audit --rules` lists them",
                )

    def place(self, containers: Sequence[Container]) -> list[Container]:
        """The containers with the exposure of the app each belongs to; through the tunnel
        only the app's web container is public, its database and workers are not."""
        out = []
        for c in containers:
            view = self.system.app(c.app) if c.lares else None
            if view is None:
                out += by_ports([c])
                continue
            exposure = _EXPOSURE.get(view.exposure, "lan")
            web = view.app.web.container if view.app.web else None
            if exposure == "public" and c.lares and c.lares[1] != web:
                exposure = "lan" if c.ports else "internal"  # the tunnel reaches only the web
            out.append(replace(c, exposure=exposure))
        return out

    def accept(self, c: Container, rule: Rule) -> tuple[str, AcceptedBy] | None:
        """The catalog's reason when its exception covers ``rule``, else the blueprint's."""
        if c.lares and rule.exception:
            view = self.system.app(c.app)
            if view is not None:
                for service in view.services:
                    if service.key == c.lares[1] and rule.exception in service.spec.exceptions:
                        return service.spec.exceptions[rule.exception], "catalog"
        if (rule.id, c.app) in self.accepts:
            return self.accepts[(rule.id, c.app)], "blueprint"
        return None

    def locate(self, finding: AuditFinding) -> AuditFinding:
        """A finding on a lares app, pointed at the app in lares.yaml (where its fix goes),
        when the blueprint is a file; the embedded reference keeps the rendered file."""
        loaded = self.loaded
        stack = self.system.blueprint.app_stack().get(finding.app)
        if loaded is None or loaded.filename.startswith("<") or stack is None:
            return finding
        where = loaded.locate("stacks", stack, "apps", finding.app)
        return replace(finding, source=where.file or finding.source, line=where.line)

    def fix(self, rule: Rule, c: Container) -> str:
        """For a lares container, the blueprint change; else the rule's compose fix."""
        if not c.lares:
            return rule.fix
        if rule.blueprint:
            stack = self.system.blueprint.app_stack().get(c.app, "*")
            where = rule.blueprint.replace("stacks.*.", f"stacks.{stack}.").format(app=c.app)
            return f"set {where} in lares.yaml"
        return (
            f"the catalog sets this for {c.app}; accept it with a reason under audit.accept "
            f"(rule: {rule.id}, app: {c.app}) or report it against the catalog"
        )


def by_ports(containers: Sequence[Container]) -> list[Container]:
    """Containers nothing is known about: reachable from the LAN when they publish a port."""
    return [replace(c, exposure="lan") if c.ports else c for c in containers]
