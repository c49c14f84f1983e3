"""The tunnel, home side: a Pangolin blueprint listing exactly the apps with exposure public.

Each public app becomes one ``public-resources`` entry keyed by its app id (a stable key:
Pangolin matches it on every apply), served at ``<subdomain>.<access.domain>`` and forwarded by
the site's Newt to the app's web container. Pangolin's single sign-on guards each one unless
``access.tunnel.sso`` is off.

Only fields that Pangolin documents for its blueprints are written (:data:`DOCUMENTED`); a test
holds every rendered file to that set. The file lands in the Newt app's folder of its stack
(``infrastructure/newt/blueprint.yaml``), so it is applied and recorded with that stack, and
:func:`removed` can tell which resources an earlier apply published that this one drops:
a blueprint never deletes a resource in Pangolin, so those need removing by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lares.catalog.resolve import System
from lares.catalog.web import TUNNEL_APP, public_resources
from lares.render._web import app_dir, header
from lares.render.bundle import Bundle, File
from lares.yamlio import dump_yaml

TARGET = "home"
FILENAME = "blueprint.yaml"

#: Every field lares writes, as Pangolin documents them for a blueprint's public resources.
DOCUMENTED: Mapping[str, frozenset[str]] = {
    "top": frozenset({"public-resources"}),
    "resource": frozenset({"name", "mode", "full-domain", "auth", "targets"}),
    "auth": frozenset({"sso-enabled"}),
    "target": frozenset({"site", "hostname", "port", "method"}),
}


def blueprint_doc(system: System) -> dict[str, Any]:
    """The Pangolin blueprint as data."""
    return {
        "public-resources": {
            r.key: {
                "name": r.name,
                "mode": "http",
                "full-domain": r.full_domain,
                "auth": {"sso-enabled": r.sso},
                "targets": [
                    {"site": r.site, "hostname": r.hostname, "port": r.port, "method": r.method}
                ],
            }
            for r in public_resources(system)
        }
    }


def blueprint_path(system: System) -> str:
    """Where the Pangolin blueprint goes in the bundle."""
    return f"{app_dir(system, TUNNEL_APP, 'pangolin')}/{FILENAME}"


def resources_in(doc: Any) -> dict[str, str]:
    """Resource key → full domain of a parsed Pangolin blueprint (empty when it has none)."""
    if not isinstance(doc, Mapping):
        return {}
    section = doc.get("public-resources")
    if not isinstance(section, Mapping):
        return {}
    return {
        str(key): str(value.get("full-domain", "")) if isinstance(value, Mapping) else ""
        for key, value in section.items()
    }


def removed(system: System, applied: Any) -> dict[str, str]:
    """Resources in the ``applied`` blueprint (parsed) that the current one no longer has."""
    current = {r.key for r in public_resources(system)}
    return {k: v for k, v in resources_in(applied).items() if k not in current}


def render(system: System, source: str = "lares.yaml") -> Bundle:
    """The Pangolin blueprint, when the blueprint configures a tunnel."""
    if system.blueprint.access.tunnel is None:
        return Bundle()
    path = blueprint_path(system)
    text = (
        header(source)
        + "# Apply it with Newt's --blueprint-file, or paste it into Pangolin's Settings >\n"
        + "# Blueprints. Resources dropped from it stay in Pangolin: `lares public` lists them.\n"
        + dump_yaml(blueprint_doc(system))
    )
    return Bundle({path: File(path, text)})
