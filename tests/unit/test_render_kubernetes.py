"""The Kubernetes renderer on the embedded reference: valid manifests (the Kubernetes 1.33
schemas, strict), the hardening of every container carried over, secrets by reference only, and
NetworkPolicies that admit exactly the traffic Docker's networks admit."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from lares.blueprint.load import load_reference
from lares.catalog.resolve import Service, System
from lares.plan import make_context
from lares.render import render_all
from lares.render.kubernetes import DIR
from lares.yamlio import safe_load

INGRESS_NS = "kube-system"


@cache
def _system() -> System:
    return make_context(load_reference()).system


@cache
def _docs() -> tuple[dict[str, Any], ...]:
    bundle = render_all(_system(), target="kubernetes")
    docs: list[dict[str, Any]] = []
    for path, file in sorted(bundle.files.items()):
        if path.endswith(".yaml"):
            assert path.startswith(f"{DIR}/")
            docs.extend(d for d in _split(file.content) if d)
    return tuple(docs)


def _split(text: str) -> Iterator[dict[str, Any]]:
    for part in text.split("\n---\n"):
        yield safe_load(part)


def _kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in _docs() if d["kind"] == kind]


def _containers() -> dict[str, dict[str, Any]]:
    """Every container of every workload, by compose service name."""
    found: dict[str, dict[str, Any]] = {}
    for workload in _kind("Deployment") + _kind("StatefulSet"):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            found[f"{workload['metadata']['namespace']}/{container['name']}"] = container
    return found


def test_every_manifest_is_valid_for_kubernetes_1_33_strict() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    for doc in _docs():
        kubernetes_validate.validate(doc, "1.33.0", strict=True)
    kinds = {d["kind"] for d in _docs()}
    assert kinds >= {
        "Namespace",
        "Deployment",
        "StatefulSet",
        "Service",
        "NetworkPolicy",
        "Ingress",
    }


def test_every_container_keeps_its_hardening_and_budget() -> None:
    containers = _containers()
    services = _system().services
    assert len(containers) == len(services)
    for service in services:
        c = containers[f"{service.stack}/{service.name}"]
        ctx = c["securityContext"]
        assert c["image"] == service.image
        assert ctx["capabilities"]["drop"] == ["ALL"]
        assert sorted(ctx["capabilities"].get("add", [])) == sorted(service.spec.cap_add)
        assert ctx["readOnlyRootFilesystem"] is bool(service.spec.read_only)
        assert ctx["allowPrivilegeEscalation"] is bool(service.spec.privileged)
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
        assert ctx.get("runAsUser") == service.uid
        assert ctx["runAsNonRoot"] is bool(service.uid)
        mib = 1024 * 1024
        assert c["resources"]["limits"]["memory"] == f"{-(-service.memory_limit // mib)}Mi"
        assert c["resources"]["requests"]["memory"] == f"{-(-service.memory_reservation // mib)}Mi"
        if service.healthcheck:
            assert c["livenessProbe"]["exec"]["command"]
            assert c["livenessProbe"]["failureThreshold"] == service.healthcheck.retries
        else:
            assert "livenessProbe" not in c


def test_databases_are_statefulsets_and_sidecars_share_their_gateways_pod() -> None:
    databases = {s.name for s in _system().services if s.spec.role == "database"}
    assert databases
    assert {d["metadata"]["name"] for d in _kind("StatefulSet")} == databases
    gateways = [s for s in _system().services if (s.network_mode or "").startswith("service:")]
    assert gateways, "the reference routes qBittorrent through Gluetun"
    for client in gateways:
        gateway = client.network_mode.split(":", 1)[1]  # type: ignore[union-attr]
        pod = next(d for d in _kind("Deployment") if d["metadata"]["name"] == gateway)
        names = [c["name"] for c in pod["spec"]["template"]["spec"]["containers"]]
        assert client.name in names


def test_secrets_are_referenced_never_written() -> None:
    assert _kind("Secret") == []
    bundle = render_all(_system(), target="kubernetes")
    script = bundle.files[f"{DIR}/apply-secrets.sh"].content
    for service in _system().services:
        for sid in service.secrets:
            assert f'--from-file={sid}="$ROOT/secrets/values/{sid}"' in script
    for container in _containers().values():
        for env in container.get("env", []):
            assert "valueFrom" not in env
    # every env-file secret becomes an envFrom of a Secret the script creates from the env
    # file the render writes (0600, values filled in at write time, never in the manifests)
    env_paths = {e.path for e in bundle.env_files}
    for service in _system().services:
        if service.env_secrets:
            assert f"{service.name}-env" in script
            assert f"secrets/{service.name}.env" in env_paths
    assert set(bundle.secrets) >= {sid for s in _system().services for sid in s.secrets}


def test_a_render_writes_values_beside_the_manifests_never_in_them(tmp_path: Path) -> None:
    from lares.deploy.files import write_bundle

    written = write_bundle(render_all(_system(), target="kubernetes"), tmp_path)
    assert written.created
    values = {p.read_text() for p in (tmp_path / "secrets" / "values").iterdir()}
    assert all(len(v) >= 16 for v in values)
    for manifest in (tmp_path / "kubernetes").glob("*.yaml"):
        text = manifest.read_text()
        assert not [v for v in values if v in text], manifest.name
    assert oct((tmp_path / "secrets" / "paperless.env").stat().st_mode & 0o777) == "0o600"


def _pods() -> list[tuple[str, dict[str, str]]]:
    return [
        (w["metadata"]["namespace"], w["spec"]["template"]["metadata"]["labels"])
        for w in _kind("Deployment") + _kind("StatefulSet")
        if not w["spec"]["template"]["spec"].get("hostNetwork")
    ]


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _allowed(src: tuple[str, dict[str, str]], dst: tuple[str, dict[str, str]]) -> bool:
    """Whether the policies admit src → dst, as Kubernetes evaluates them."""
    selecting = [
        p
        for p in _kind("NetworkPolicy")
        if p["metadata"]["namespace"] == dst[0] and _matches(p["spec"]["podSelector"], dst[1])
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress", []):
            for peer in rule["from"]:
                ns_sel = peer.get("namespaceSelector")
                if ns_sel is None and src[0] != dst[0]:
                    continue
                wanted_ns = (ns_sel or {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                if wanted_ns is not None and wanted_ns != src[0]:
                    continue
                if "podSelector" in peer and not _matches(peer["podSelector"], src[1]):
                    continue
                return True
    return False


def _docker_networks(labels: dict[str, str]) -> set[str]:
    return {k for k, v in labels.items() if k.startswith("net.lares.io/") and v == "true"}


def _database_networks() -> set[str]:
    nets = _system().blueprint.network.docker
    return {f"net.lares.io/{n}" for n, net in nets.items() if net.purpose == "database"}


def _docker_admits(src: dict[str, str], dst: dict[str, str]) -> bool:
    """Docker's rule, tightened on database networks: there only the database's own app."""
    for net in _docker_networks(src) & _docker_networks(dst):
        if net not in _database_networks() or src["lares.io/app"] == dst["lares.io/app"]:
            return True
    return False


def test_policies_admit_what_the_docker_networks_admit_and_databases_their_app_only() -> None:
    pods = _pods()
    assert len(pods) > 20
    for src in pods:
        for dst in pods:
            if src is dst:
                continue
            assert _allowed(src, dst) is _docker_admits(src[1], dst[1]), (
                src[1]["app.kubernetes.io/name"],
                dst[1]["app.kubernetes.io/name"],
            )


def test_a_database_answers_its_app_only_and_web_apps_the_ingress() -> None:
    pods = {labels["app.kubernetes.io/name"]: (ns, labels) for ns, labels in _pods()}
    assert _allowed(pods["nextcloud"], pods["nextcloud-db"])
    for other in ("sonarr", "caddy", "immich", "paperless", "vaultwarden"):
        if other in pods:
            assert not _allowed(pods[other], pods["nextcloud-db"]), other
    ingress = (INGRESS_NS, {})
    web = {
        i["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
        for i in _kind("Ingress")
    }
    assert "nextcloud" in web
    for name, pod in pods.items():
        assert _allowed(ingress, pod) is (name in web), name


def test_ingress_hosts_are_the_lan_names() -> None:
    by_app = {a.id: a for a in _system().apps}
    for ingress in _kind("Ingress"):
        app = by_app[ingress["metadata"]["name"]]
        assert f"https://{ingress['spec']['rules'][0]['host']}" == app.lan_url


def _service(name: str) -> Service:
    return next(s for s in _system().services if s.name == name)


def test_kubernetes_expansion_is_escaped_in_commands() -> None:
    pihole = _containers()["infrastructure/pihole"]
    joined = " ".join(pihole.get("args", []) + pihole.get("command", []))
    if "$(" in " ".join(_service("pihole").command or ()):
        assert "$$(" in joined
