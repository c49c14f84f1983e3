"""Hardening policy: every departure from the safe default is declared with a reason."""

from __future__ import annotations

from collections.abc import Iterator

from lares.blueprint.model import is_secret_like
from lares.catalog.model import FLOATING_TAGS
from lares.catalog.resolve import Service
from lares.plan.context import PlanContext
from lares.plan.findings import Finding
from lares.severity import PlanSeverity

ID = "hardening"
DESCRIPTION = "privileges, Docker socket, binds, pinned images, healthchecks, limits, secrets"

# (what the container does, the exception that must explain it, severity when unexplained, hint)
_RULES: list[tuple[str, str, PlanSeverity, str]] = [
    ("privileged", "privileged", "error", "privileged containers own the host; drop it"),
    ("docker_socket", "docker_socket", "error", "the Docker socket is root on the host"),
    ("host_network", "host_network", "error", "use a bridge network and publish ports"),
    ("capabilities", "capabilities", "error", "drop the added capabilities"),
    ("devices", "devices", "error", "remove the device, or declare why it is needed"),
    ("all_interfaces", "all_interfaces", "error", "bind the port to the LAN address"),
    ("plain_env_secret", "plain_env_secret", "error", "pass the secret as a *_FILE variable"),
    ("root", "root", "warning", "set a non-root user: uid:gid"),
    ("writable_root", "writable_root", "warning", "set read_only: true with tmpfs for scratch"),
    ("no_healthcheck", "no_healthcheck", "warning", "add a healthcheck so failures are seen"),
]


def _departures(service: Service) -> set[str]:
    """What the container does, as the catalog model counts it, plus what the blueprint's
    overrides add: a Docker socket among its volumes, a {secret:…} in its env, a port on every
    interface."""
    found = service.spec.departures()
    if any("docker.sock" in v for v in service.volumes):
        found.add("docker_socket")
    if service.env_secrets:
        found.add("plain_env_secret")
    if any(p.bind == "all" for p in service.ports):
        found.add("all_interfaces")
    return found


def check(ctx: PlanContext) -> Iterator[Finding]:
    for service in ctx.system.services:
        departures = _departures(service)
        for what, exception, severity, hint in _RULES:
            if what in departures and exception not in service.spec.exceptions:
                yield ctx.finding(
                    ID,
                    severity,
                    f"{service.name}: {what.replace('_', ' ')} without a declared reason",
                    *service.path,
                    hint=f"{hint}; or declare exceptions.{exception} in the app definition",
                )
        tag = service.image.rsplit(":", 1)[-1] if ":" in service.image.rsplit("/", 1)[-1] else ""
        if tag in FLOATING_TAGS and "floating_tag" in service.spec.exceptions:
            pinned = (
                f"pinned by digest {service.digest[:19]}… in lares.lock"
                if service.digest
                else "pinned by digest at first `lares up`"
            )
            yield ctx.finding(
                ID,
                "warning",
                f"{service.name}: image {service.image} is a floating tag, {pinned}",
                *service.path,
                hint="run `lares outdated` and choose a version: set `version:` to a release tag",
            )
        elif tag == "" or tag in FLOATING_TAGS:
            yield ctx.finding(
                ID,
                "error",
                f"{service.name}: image {service.image} is not pinned to a version",
                *service.path,
                hint="set `version:` to a release tag so updates happen when you choose",
            )
    for app in ctx.system.apps:
        overrides: list[tuple[tuple[str, ...], dict[str, str]]] = [((), app.settings.env)]
        overrides += [
            (("containers", key), override.env) for key, override in app.settings.containers.items()
        ]
        for where, env in overrides:
            for var, value in env.items():
                if not is_secret_like(var) or not value or value.startswith("/run/secrets/"):
                    continue
                yield ctx.finding(
                    ID,
                    "error",
                    f"{app.id}: {var} carries a secret in plain text",
                    *app.path,
                    *where,
                    "env",
                    var,
                    hint="secrets never go in lares.yaml: use the app's generated secret, "
                    "or an image variable ending in _FILE",
                )
