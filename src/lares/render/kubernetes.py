"""Render the blueprint as Kubernetes manifests that keep lares's hardening.

One namespace per stack, one workload per container (a StatefulSet for a container whose role is
``database``, a Deployment with the Recreate strategy otherwise, since host paths are not
shared between two pods), a Service per container that listens, host paths as ``hostPath``
volumes (a single-node cluster such as k3s on the same server sees the same folders), probes
from the healthchecks, requests and limits from the memory budget, and a ``securityContext``
carrying what the compose files carry: the user, runAsNonRoot, a read-only root filesystem,
capabilities dropped but those the catalog adds, no privilege escalation, seccomp
RuntimeDefault.

Docker's network isolation becomes NetworkPolicies: every pod is labelled with the networks it
joins, each namespace denies all ingress by default, and a policy per network admits traffic
only from pods on that network (so a database on an internal network answers its app only), plus
the ingress controller for web apps. A container that shares another's network
(``network_mode: service:gluetun``) becomes a second container in that pod, which is what the
Docker setting means.

Secret values never enter the manifests: a workload refers to Secrets by name
(``<service>-files`` mounted at /run/secrets, ``<service>-env`` as environment), and the
rendered ``apply-secrets.sh`` creates them with kubectl, as a separate step, from the values the
render keeps beside the manifests (``secrets/``, 0600, generated once).

What Kubernetes cannot carry (devices without a device plugin, the Docker socket on a cluster
whose runtime is not Docker) is listed in each manifest's ``lares.io/dropped`` annotation and in
NOTES.txt.
"""

from __future__ import annotations

import math
import shlex
from typing import Any

from lares.catalog.model import SecretSpec
from lares.catalog.resolve import DEFAULT_NETWORK, Service, StackView, System
from lares.catalog.web import reachable, web_target
from lares.render.bundle import SECRETS_DIR, Bundle, EnvFile, File
from lares.units import parse_size
from lares.yamlio import dump_yaml

TARGET = "kubernetes"
DIR = "kubernetes"
LABEL = "lares.io"
HEADER = (
    "# Rendered by lares from {source}: `kubectl apply -f` this folder after apply-secrets.sh.\n"
    "# Edit lares.yaml and run `lares render --target kubernetes`; changes here are replaced.\n"
)
SECRETS_PATH = "/run/secrets"


def _k8s_literal(value: str) -> str:
    """Kubernetes expands ``$(VAR)`` in env values, commands and args; ``$$`` keeps a ``$``."""
    return value.replace("$(", "$$(")


def _net_label(network: str, stack: str) -> str:
    name = f"{stack}-default" if network == DEFAULT_NETWORK else network
    return f"net.{LABEL}/{name}"


def _quantity(size: int) -> str:
    mib = size / (1024 * 1024)
    return f"{math.ceil(mib)}Mi"


def _volume_name(index: int) -> str:
    return f"v{index}"


def _probe(service: Service) -> dict[str, Any] | None:
    hc = service.healthcheck
    if hc is None:
        return None
    kind, *rest = hc.test
    command = ["sh", "-c", rest[0]] if kind == "CMD-SHELL" else list(rest)
    return {
        "exec": {"command": [_k8s_literal(c) for c in command]},
        "periodSeconds": max(1, int(hc.interval)),
        "timeoutSeconds": max(1, int(hc.timeout)),
        "failureThreshold": hc.retries,
    }


def _security(service: Service) -> dict[str, Any]:
    spec = service.spec
    ctx: dict[str, Any] = {
        "allowPrivilegeEscalation": bool(spec.privileged),
        "readOnlyRootFilesystem": bool(spec.read_only),
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if spec.cap_add:
        ctx["capabilities"]["add"] = sorted(spec.cap_add)
    if spec.privileged:
        ctx["privileged"] = True
    if service.uid is not None:
        ctx["runAsUser"] = service.uid
        ctx["runAsGroup"] = service.gid if service.gid is not None else service.uid
    ctx["runAsNonRoot"] = bool(service.uid)
    return ctx


def _mounts(
    service: Service, volumes: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The container's volume mounts; the pod's volumes are appended to ``volumes``."""
    mounts: list[dict[str, Any]] = []
    dropped: list[str] = []

    def add(volume: dict[str, Any], mount: dict[str, Any]) -> None:
        name = f"{service.key}-{_volume_name(len(volumes))}"
        volumes.append({"name": name, **volume})
        mounts.append({"name": name, **mount})

    binds = list(service.volumes)
    if service.spec.docker_socket and not any("docker.sock" in v for v in binds):
        mode = "ro" if service.spec.docker_socket == "ro" else "rw"
        binds.append(f"/var/run/docker.sock:/var/run/docker.sock:{mode}")
    for bind in binds:
        host, target, *opts = bind.split(":")
        if "docker.sock" in host:
            dropped.append(f"{host} (works only where the cluster's runtime is Docker)")
        # a name with a dot is a file mounted on its own (as lares creates app-data folders)
        kind = "File" if "." in host.rsplit("/", 1)[-1] else "DirectoryOrCreate"
        if host.endswith(".sock"):
            kind = "Socket"
        add(
            {"hostPath": {"path": host, "type": kind}},
            {"mountPath": target, "readOnly": "ro" in (opts[0].split(",") if opts else [])},
        )
    for entry in service.tmpfs:
        path, _, options = entry.partition(":")
        volume: dict[str, Any] = {"emptyDir": {"medium": "Memory"}}
        size = next((o[5:] for o in options.split(",") if o.startswith("size=")), None)
        if size:
            volume["emptyDir"]["sizeLimit"] = _quantity(parse_size(size))
        add(volume, {"mountPath": path})
    if service.secrets:
        add(
            {
                "secret": {
                    "secretName": f"{service.name}-files",
                    "defaultMode": 0o440,
                    "items": [{"key": s, "path": s} for s in service.secrets],
                }
            },
            {"mountPath": SECRETS_PATH, "readOnly": True},
        )
    for device in service.devices:
        dropped.append(f"device {device} (needs a device plugin on the node)")
    return mounts, dropped


def container_spec(
    service: Service, volumes: list[dict[str, Any]], web_port: int | None = None
) -> tuple[dict[str, Any], list[str]]:
    """One container of a pod (``web_port``: where its web interface listens, if it serves
    one), and what of the compose service it cannot carry."""
    mounts, dropped = _mounts(service, volumes)
    out: dict[str, Any] = {
        "name": service.name,
        "image": service.image,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": _security(service),
        "resources": {
            "requests": {"memory": _quantity(service.memory_reservation)},
            "limits": {"memory": _quantity(service.memory_limit)},
        },
    }
    if service.cpus:
        out["resources"]["limits"]["cpu"] = f"{int(service.cpus * 1000)}m"
    if service.entrypoint:
        out["command"] = [_k8s_literal(c) for c in service.entrypoint]
        if service.command:
            out["args"] = [_k8s_literal(c) for c in service.command]
    elif service.command:
        out["args"] = [_k8s_literal(c) for c in service.command]
    if service.environment:
        out["env"] = [
            {"name": k, "value": _k8s_literal(v)} for k, v in sorted(service.environment.items())
        ]
    if service.env_secrets:
        out["envFrom"] = [{"secretRef": {"name": f"{service.name}-env"}}]
    ports = sorted({p.container for p in service.ports} | ({web_port} if web_port else set()))
    if ports:
        out["ports"] = [{"containerPort": p} for p in ports]
    if mounts:
        out["volumeMounts"] = mounts
    probe = _probe(service)
    if probe is not None and service.healthcheck is not None:
        out["readinessProbe"] = probe
        out["livenessProbe"] = probe
        interval = max(1, int(service.healthcheck.interval))
        start = math.ceil(service.healthcheck.start_period / interval)
        out["startupProbe"] = {**probe, "failureThreshold": start + service.healthcheck.retries}
    return out, dropped


def _pods(stack: StackView) -> dict[str, list[Service]]:
    """The stack's pods: each service on its own, with those that share its network inside."""
    pods: dict[str, list[Service]] = {}
    for service in stack.services:
        mode = service.network_mode or ""
        if not mode.startswith("service:"):
            pods.setdefault(service.name, []).insert(0, service)
    for service in stack.services:
        mode = service.network_mode or ""
        if mode.startswith("service:"):
            pods.setdefault(mode.split(":", 1)[1], []).append(service)
    return pods


def _workload(
    stack: StackView, name: str, members: list[Service], web: tuple[str, int] | None
) -> dict[str, Any]:
    """The pod's Deployment or StatefulSet; ``web`` is (service, port) of its web interface."""
    main = members[0]
    volumes: list[dict[str, Any]] = []
    containers: list[dict[str, Any]] = []
    dropped: list[str] = []
    for service in members:
        port = web[1] if web and web[0] == service.name else None
        container, lost = container_spec(service, volumes, port)
        containers.append(container)
        dropped.extend(lost)
    labels = {
        "app.kubernetes.io/name": name,
        f"{LABEL}/app": main.app,
        f"{LABEL}/stack": stack.name,
    }
    for net in main.networks:
        labels[_net_label(net, stack.name)] = "true"
    pod: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": containers,
    }
    groups = sorted({g for s in members for g in s.group_add})
    if groups:
        pod["securityContext"]["supplementalGroups"] = groups
    readers = {s.gid for s in members if s.secrets and s.gid}
    if len(readers) == 1:
        pod["securityContext"]["fsGroup"] = readers.pop()
    if main.network_mode == "host":
        pod["hostNetwork"] = True
        pod["dnsPolicy"] = "ClusterFirstWithHostNet"
    if main.spec.stop_grace_period:
        pod["terminationGracePeriodSeconds"] = int(main.spec.stop_grace_period)
    if volumes:
        pod["volumes"] = volumes
    database = main.spec.role == "database"
    meta: dict[str, Any] = {"name": name, "namespace": stack.name, "labels": labels}
    if dropped:
        meta["annotations"] = {f"{LABEL}/dropped": "; ".join(dropped)}
    spec: dict[str, Any] = {
        "replicas": 1,
        "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        "template": {"metadata": {"labels": labels}, "spec": pod},
    }
    if database:
        spec["serviceName"] = name
        spec["podManagementPolicy"] = "OrderedReady"
    else:
        spec["strategy"] = {"type": "Recreate"}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet" if database else "Deployment",
        "metadata": meta,
        "spec": spec,
    }


def _service(
    stack: StackView, name: str, members: list[Service], web_port: int | None
) -> dict[str, Any] | None:
    ports = sorted(
        {p.container for s in members for p in s.ports} | ({web_port} if web_port else set())
    )
    if not ports or members[0].network_mode == "host":
        return None
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": stack.name,
            "labels": {f"{LABEL}/stack": stack.name},
        },
        "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": f"p{p}", "port": p, "targetPort": p} for p in ports],
        },
    }


def _policy(stack: str, name: str, selector: dict[str, str], peers: list[dict[str, Any]]) -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": stack},
        "spec": {
            "podSelector": {"matchLabels": selector} if selector else {},
            "policyTypes": ["Ingress"],
            **({"ingress": [{"from": peers}]} if peers else {}),
        },
    }


def _policies(
    system: System, stack: StackView, pods: dict[str, list[Service]], web_pods: set[str]
) -> list[dict[str, Any]]:
    """Deny by default; admit each network's pods to each other — on a database network only
    the pods of the same app, so a database answers its own app alone — and the ingress
    controller to the web pods."""
    docs = [_policy(stack.name, "default-deny", {}, [])]
    purposes = {name: net.purpose for name, net in system.blueprint.network.docker.items()}
    for net in sorted({n for s in stack.services for n in s.networks}):
        label = _net_label(net, stack.name)
        if purposes.get(net) != "database":
            peer = {"namespaceSelector": {}, "podSelector": {"matchLabels": {label: "true"}}}
            docs.append(
                _policy(stack.name, f"net-{label.split('/', 1)[1]}", {label: "true"}, [peer])
            )
            continue
        for name, members in sorted(pods.items()):
            if net not in members[0].networks:
                continue
            same_app = {label: "true", f"{LABEL}/app": members[0].app}
            peer = {"podSelector": {"matchLabels": same_app}}
            selector = {"app.kubernetes.io/name": name}
            docs.append(_policy(stack.name, f"{label.split('/', 1)[1]}-{name}", selector, [peer]))
    kube_system = {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
    for name in sorted(web_pods):
        selector = {"app.kubernetes.io/name": name}
        docs.append(
            _policy(stack.name, f"web-{name}", selector, [{"namespaceSelector": kube_system}])
        )
    return docs


def render_stack(system: System, stack: StackView, source: str) -> tuple[File, list[str]]:
    """One stack's manifests, and the notes on what they could not carry."""
    pods = _pods(stack)
    webs = {}
    for app in reachable(system):
        if app.stack != stack.name:
            continue
        target = web_target(system, app)
        if target is not None and not target.host_network:
            webs[target.host] = (app, target)
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": stack.name, "labels": {f"{LABEL}/stack": stack.name}},
        }
    ]
    notes: list[str] = []
    for name, members in pods.items():
        web = webs.get(name)
        web_at = (web[1].service.name, web[1].port) if web else None
        workload = _workload(stack, name, members, web_at)
        docs.append(workload)
        dropped = workload["metadata"].get("annotations", {}).get(f"{LABEL}/dropped")
        if dropped:
            notes.append(f"{stack.name}/{name}: not carried: {dropped}")
        service = _service(stack, name, members, web[1].port if web else None)
        if service is not None:
            docs.append(service)
    docs.extend(_policies(system, stack, pods, set(webs) & set(pods)))
    for name, (app, target) in sorted(webs.items()):
        if name not in pods:
            continue
        host = app.lan_url.removeprefix("https://").removeprefix("http://") if app.lan_url else None
        if not host:
            continue
        docs.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"name": app.id, "namespace": stack.name},
                "spec": {
                    "rules": [
                        {
                            "host": host,
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {
                                                "name": name,
                                                "port": {"number": target.port},
                                            }
                                        },
                                    }
                                ]
                            },
                        }
                    ]
                },
            }
        )
    text = HEADER.format(source=source) + "\n---\n".join(dump_yaml(d) for d in docs)
    return File(f"{DIR}/{stack.name}.yaml", text), notes


def apply_secrets_script(system: System) -> File:
    """kubectl commands that create each workload's Secrets from the values this render placed
    beside the manifests (``secrets/``, 0600, generated once and kept)."""
    lines = [
        "#!/bin/sh",
        "# Create the Secrets the manifests refer to from the values `lares render` keeps in",
        "# ../secrets (they never enter the manifests). Run it before `kubectl apply -f .`.",
        "set -eu",
        'ROOT=$(cd "$(dirname "$0")/.." && pwd)',
        "apply() { kubectl apply -f -; }",
    ]
    for stack in system.stacks:
        ns = shlex.quote(stack.name)
        for service in stack.services:
            if service.secrets:
                files = " ".join(
                    f'--from-file={sid}="$ROOT/{SECRETS_DIR}/values/{sid}"'
                    for sid in service.secrets
                )
                lines.append(
                    f"kubectl -n {ns} create secret generic {service.name}-files {files} "
                    "--dry-run=client -o yaml | apply"
                )
            if service.env_secrets:
                lines.append(
                    f"kubectl -n {ns} create secret generic {service.name}-env "
                    f'--from-env-file="$ROOT/{SECRETS_DIR}/{service.name}.env" '
                    "--dry-run=client -o yaml | apply"
                )
    return File(f"{DIR}/apply-secrets.sh", "\n".join(lines) + "\n", mode=0o755)


def render(system: System, source: str = "lares.yaml") -> Bundle:
    """Every stack's manifests, the Secrets' apply step and the notes; the secret values the
    workloads need are generated beside them (never in a manifest)."""
    files: dict[str, File] = {}
    notes: list[str] = []
    specs: dict[str, SecretSpec] = {}
    env_files: list[EnvFile] = []
    for stack in system.stacks:
        if not stack.services:
            continue
        file, lost = render_stack(system, stack, source)
        files[file.path] = file
        notes.extend(lost)
        for app in stack.apps:
            for name, spec in app.app.secrets.items():
                specs[f"{app.id}_{name}"] = spec
        for service in stack.services:
            if service.env_secrets:
                path = f"{SECRETS_DIR}/{service.name}.env"
                env_files.append(EnvFile(path, dict(service.env_secrets)))
    script = apply_secrets_script(system)
    files[script.path] = script
    text = "What the Kubernetes manifests do not carry from the compose stacks:\n"
    text += "".join(f"- {n}\n" for n in notes) if notes else "- nothing\n"
    files[f"{DIR}/NOTES.txt"] = File(f"{DIR}/NOTES.txt", text)
    return Bundle(files, specs, env_files=tuple(env_files))
