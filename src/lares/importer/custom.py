"""A service no catalog app matches, as a custom app file: what it really runs, each
departure from lares's hardening declared as ``imported: review`` for the person to explain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lares.catalog.model import FLOATING_TAGS
from lares.importer import service
from lares.importer.load import Project
from lares.importer.mapping import (
    REVIEW,
    ROLE_OF,
    Imported,
    Paths,
    app_id,
    carry,
    env_value,
    literal_credentials,
    mount,
    port_spec,
    renames,
)

#: The capabilities an image that starts as root uses to hand its files to its own user.
ROOT_START = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID")


def custom_app(
    imp: Imported,
    project: Project,
    paths: Paths,
    owner: Mapping[str, tuple[Imported, str]],
    digests: Mapping[str, str],
) -> None:
    rename = renames(project, owner)
    secrets: dict[str, dict[str, Any]] = {}
    containers: dict[str, Any] = {}
    main = imp.services[imp.id]
    for key, svc in imp.services.items():
        spec = project.services[svc]
        name, tag = service.split_image(str(spec.get("image") or ""))
        c: dict[str, Any] = {"image": name, "version": tag}
        digest = digests.get(str(spec.get("image") or ""))
        ex: dict[str, str] = {}
        if not name:
            imp.review = (
                f"{svc}: it is built from a Dockerfile and names no image (build and tag it, "
                "write the tag as its image, then move the file into the catalog folder)"
            )
        elif tag in service.UNPINNED or tag in FLOATING_TAGS:
            c["version"] = tag or "latest"
            ex["floating_tag"] = (
                f"{REVIEW}: the original runs {name}:{c['version']}, a tag that moves; "
                "lares runs it by the digest lares.lock records (choose a release to leave it)"
            )
            if digest:
                imp.digests[f"{name}:{c['version']}"] = digest
            imp.note(
                svc,
                "image",
                f"{c['version']} is pinned by digest in lares.lock: "
                + ("the copy the engine runs" if digest else "the one `lares up` pulls first"),
            )
        if spec.get("user"):
            c["user"] = str(spec["user"])
        else:
            ex["root"] = (
                f"{REVIEW}: the original sets no user, so it "
                "runs as the image's (root unless the image says otherwise)"
            )
        if not spec.get("read_only"):
            c["read_only"] = False
            ex["writable_root"] = f"{REVIEW}: the original's root filesystem is writable"
        if spec.get("command"):
            c["command"] = [env_value(str(a), {}) for a in spec["command"]]
        if spec.get("entrypoint"):
            c["entrypoint"] = [env_value(str(a), {}) for a in spec["entrypoint"]]
        caps = sorted({str(x).upper().removeprefix("CAP_") for x in spec.get("cap_add") or ()})
        dropped = {str(x).upper().removeprefix("CAP_") for x in spec.get("cap_drop") or ()}
        if "user" not in c and "ALL" not in dropped:  # a root start hands its files to its user
            caps = sorted({*caps, *ROOT_START} - dropped)
            imp.note(
                svc,
                "capabilities",
                f"Docker's default capabilities are dropped but {', '.join(ROOT_START)}, "
                "which an image that starts as root uses",
            )
        ports = service.ports(spec)
        if "user" not in c and any(p.container < 1024 for p in ports):
            caps = sorted({*caps, "NET_BIND_SERVICE"})
        if caps:
            c["cap_add"] = caps
            ex["capabilities"] = (
                f"{REVIEW}: {', '.join(caps)}, of what the original runs with (an image that "
                "starts as root uses the ownership and user ones to hand its files to its user)"
            )
        if spec.get("privileged"):
            c["privileged"] = True
            ex["privileged"] = f"{REVIEW}: the original runs privileged"
        devices = [
            d if isinstance(d, str) else f"{d.get('source')}:{d.get('target')}"
            for d in spec.get("devices") or ()
        ]
        if devices:
            c["devices"] = devices
            ex["devices"] = f"{REVIEW}: the original uses {', '.join(devices)}"
        mode = str(spec.get("network_mode") or "")
        if mode == "host":
            c["network_mode"] = "host"
            ex["host_network"] = f"{REVIEW}: the original runs on the host's network"
        elif mode.startswith("service:"):
            target = owner.get(mode[8:])
            if target and target[0] is imp:
                c["network_mode"] = f"service:{target[1]}"
            else:
                imp.note(
                    svc, "networks", f"network_mode {mode} is not kept: that service is another app"
                )
        elif mode and mode not in ("bridge", "default"):
            imp.note(svc, "networks", f"network_mode {mode} is not kept")
        if service.own_init(name):
            c["init"] = False
            ex["own_init"] = f"{REVIEW}: LinuxServer.io images run s6-overlay as PID 1"
        host: dict[str, str] = {}
        vols = []
        for vol in service.volumes(spec):
            if vol.socket:
                c["docker_socket"] = "ro" if vol.read_only else "rw"
                ex["docker_socket"] = f"{REVIEW}: the original mounts the Docker socket"
            elif vol.kind == "tmpfs":
                c.setdefault("tmpfs", []).append(vol.target)
            else:
                mounted = mount(imp, svc, vol, paths, host)
                if mounted:
                    vols.append(mounted)
        c["tmpfs"] = (
            sorted({*c.get("tmpfs", []), *(str(t) for t in spec.get("tmpfs") or ())}) or None
        )
        if vols:
            c["volumes"] = vols
        if host:
            c["host_paths"] = host
        env = service.environment(spec)
        literal = literal_credentials(imp, svc, env, service.environment(project.raw_service(svc)))
        out_env = {}
        for var, value in sorted(env.items()):
            if var in literal:
                same = [n for n, v in imp.secrets.items() if v == value]  # one password, one secret
                sname = same[0] if same else app_id(var).replace("-", "_")[:60]
                if key != imp.id and not same:
                    sname = f"{key.replace('-', '_')}_{sname}"[:62]
                secrets.setdefault(sname, {"description": f"imported from {var} of {svc}"})
                imp.secrets[sname] = value
                out_env[var] = "{secret:" + sname + "}"
                ex["plain_env_secret"] = (
                    f"{REVIEW}: the image reads its credentials from plain variables"
                )
                imp.note(
                    svc,
                    "environment",
                    f"{var} is the lares secret {sname} "
                    "(same value), passed through a 0600 env file",
                )
            else:
                carry(imp, svc, var, value, rename, out_env)
        if out_env:
            c["environment"] = out_env
        hc = service.healthcheck(spec)
        if hc:
            c["healthcheck"] = hc
        else:
            ex["no_healthcheck"] = f"{REVIEW}: the original has no healthcheck"
        if ports and mode != "host":
            c["ports"] = [port_spec(imp, svc, p) for p in ports]
        deps = {
            app_id(d) if owner.get(d, (None, ""))[0] is imp else "": cond
            for d, cond in service.depends_on(spec).items()
        }
        for dep in service.depends_on(spec):
            if owner.get(dep, (None, ""))[0] is not imp:
                imp.note(
                    svc,
                    "depends_on",
                    f"{dep} is another app: lares starts the stack's apps together",
                )
        deps = {
            owner[d][1]: cond
            for d, cond in service.depends_on(spec).items()
            if owner.get(d, (None, ""))[0] is imp
        }
        if deps:
            c["depends_on"] = deps
        c["memory"] = {"reservation": "64MiB", "limit": "1GiB"}
        c["pids"] = 512
        database = any(p.search(name.rsplit("/", 1)[-1]) for p in ROLE_OF.values())
        if database and key != imp.id:
            c["role"] = "database" if ROLE_OF["database"].search(name) else "cache"
        if ex:
            c["exceptions"] = ex
        containers[key] = {k: v for k, v in c.items() if v is not None}
    _database_network(imp, containers)
    imp.custom = {
        "id": imp.id,
        "name": main,
        "description": f"imported from the compose project {project.name} ({project.source.label})",
        "category": "tools",
        **({"secrets": secrets} if secrets else {}),
        "containers": containers,
        "notes": (
            f"{REVIEW}: written by lares import from what "
            "the original runs; give each exception a real reason"
        ),
    }


def _database_network(imp: Imported, containers: dict[str, Any]) -> None:
    """A database container goes on the internal database network only (published ports
    do not reach it there); the app's other containers join it beside the stack's."""
    if not any(c.get("role") == "database" for c in containers.values()):
        return
    for key, c in containers.items():
        if c.get("role") == "database":
            c["networks"] = ["database"]
            if c.pop("ports", None):
                imp.note(
                    imp.services[key],
                    "ports",
                    "not published: a database is reached only by its app, on the internal network",
                )
        elif "network_mode" not in c:
            c["networks"] = ["stack", "database"]
