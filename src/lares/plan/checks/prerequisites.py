"""Prerequisites: what an app cannot start without is set before it is deployed.

Two kinds, both read from the catalog. A secret the person provides (a tunnel credential, a VPN
key) must be set with `lares secret set`; a container's ``needs`` names the variables it cannot
start without (Gluetun's custom WireGuard provider needs the server's address, port and public
key), each set in the catalog or the blueprint, or by a secret that stands in for it. Missing,
each is an error here rather than a container in a restart loop after `lares up`.

Both are what the person provides for this machine, so both are checked when the plan is made
for it, with the names of the secrets set in its state folder (`lares plan`, `lares up`); a plan
made without them (`lares render`, a library call) leaves them out. The embedded reference is an
example that no one provides for: there each is a warning, so `lares plan` with no lares.yaml
shows what a person would set and still passes (`lares up` refuses it all the same).
"""

from __future__ import annotations

from collections.abc import Iterator

from lares.blueprint.load import REFERENCE_NAME
from lares.catalog.resolve import Service, secret_id
from lares.plan.context import PlanContext
from lares.plan.findings import Finding
from lares.severity import PlanSeverity

ID = "prerequisites"
DESCRIPTION = "secrets and settings an app cannot start without"


def _has(service: Service, var: str) -> bool:
    value = service.environment.get(var)
    if value is None:
        value = service.env_secrets.get(var)
    return bool(value and value.strip())


def _env_key(service: Service, var: str) -> str:
    return ".".join(str(p) for p in (*service.path, "env", var))


def check(ctx: PlanContext) -> Iterator[Finding]:
    have = ctx.secrets_set
    if have is None:
        return
    severity: PlanSeverity = "warning" if ctx.loaded.filename == REFERENCE_NAME else "error"
    for app in ctx.system.apps:
        for name, spec in sorted(app.app.secrets.items()):
            sid = secret_id(app.id, name)
            if spec.provided and sid not in have:
                what = f" ({spec.description})" if spec.description else ""
                yield ctx.finding(
                    ID,
                    severity,
                    f"{app.id} cannot start without the secret {sid}{what}, which is not set",
                    *app.path,
                    hint=f"set it with `lares secret set {sid}` (the value is read from stdin)",
                )
        for service in app.services:
            for need in service.spec.needs:
                if any(service.environment.get(k) != v for k, v in need.when.items()):
                    continue
                if _has(service, need.env):
                    continue
                stand_in = secret_id(app.id, need.secret) if need.secret else None
                if stand_in is not None and stand_in in have:
                    continue
                alternative = f", or `lares secret set {stand_in}`" if stand_in else ""
                when = ", ".join(f"{k}={v}" for k, v in need.when.items())
                yield ctx.finding(
                    ID,
                    severity,
                    f"{service.name} cannot start without {need.env}, {need.what}"
                    + (f" (needed with {when})" if when else ""),
                    *service.path,
                    hint=f"set {_env_key(service, need.env)} in the blueprint{alternative}",
                )
