"""The audit's three targets, each turned into normalised containers (and host files).

- :func:`load_files`: any compose file or project folder, resolved as the Compose v2 binary's
  ``config`` resolves it (interpolation, ``.env``, ``env_file``, ``extends``, ``include``,
  profiles as Docker itself resolves them): in Python (:mod:`.native`) when the file needs
  nothing only Compose does, else by Compose, several at a time; a ``daemon.json``, an
  ``sshd_config`` or a ``ufw.sh`` among the paths is read as host files instead.
- :func:`load_running`: every container on the engine, from the Engine API's inspect.
- :func:`load_rendered`: lares's own render of a blueprint, its stacks and its host files.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache, partial
from pathlib import Path
from typing import Any

from lares import run
from lares.audit.model import Container, HostFiles, from_compose, from_inspect, parse_sshd
from lares.errors import CommandError, LaresError

#: The names Compose looks for in a project folder, in its order.
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_DEFAULT = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)\}")
_LOAD_TIMEOUT = 60


class AuditInputError(LaresError):
    code = "audit-input"
    exit_code = 2


@dataclass
class Loaded:
    """What a target gave: containers, host files, and the line of each service in its file."""

    containers: list[Container] = field(default_factory=list)
    host: HostFiles = field(default_factory=HostFiles)
    lines: dict[tuple[str, str], int] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _host_kind(path: Path) -> str | None:
    if path.name == "daemon.json":
        return "daemon"
    if "sshd_config" in path.name or path.parent.name == "sshd_config.d":
        return "sshd"
    if path.name in ("ufw.sh", "user.rules", "ufw-status.txt"):
        return "ufw"
    return None


def _compose_file(path: Path) -> Path:
    if path.is_dir():
        for name in COMPOSE_NAMES:
            if (path / name).is_file():
                return path / name
        raise AuditInputError(
            f"{path}: no compose file in this folder",
            hint="name one of " + ", ".join(COMPOSE_NAMES) + ", or give the file itself",
        )
    if not path.is_file():
        raise AuditInputError(f"{path}: no such file or folder")
    return path


_KEY_LINE = re.compile(r"^(\s*)['\"]?([^'\"\s:#][^'\":#]*?)['\"]?\s*:")


def service_lines(text: str, services: Iterable[str]) -> dict[str, int]:
    """The 1-based line of each service's key in a compose file's text, when it is there:
    the keys one level below the top-level ``services:`` (one pass over the text)."""
    wanted = set(services)
    out: dict[str, int] = {}
    inside, indent = False, None
    for number, line in enumerate(text.splitlines(), 1):
        m = _KEY_LINE.match(line)
        if not m:
            continue
        if not m[1]:  # a top-level key opens or closes the services
            inside, indent = m[2] == "services", None
        elif inside:
            indent = indent or m[1]
            if m[1] == indent and m[2] in wanted:
                out.setdefault(m[2], number)
    return out


def _missing_env_file(file: Path) -> str | None:
    """A required ``env_file`` of the file's own services that is not there, if any."""
    import yaml

    from lares import yaml12

    try:
        data = yaml12.load(file.read_text(errors="replace"))
    except (OSError, ValueError, yaml.YAMLError):
        return None  # Compose says what is wrong with it
    services = data.get("services") if isinstance(data, dict) else None
    for spec in (services or {}).values():
        entries = spec.get("env_file") if isinstance(spec, dict) else None
        for entry in [entries] if isinstance(entries, str | dict) else entries or ():
            path = entry.get("path") if isinstance(entry, dict) else entry
            required = entry.get("required", True) if isinstance(entry, dict) else True
            known = isinstance(path, str) and "$" not in path
            if known and required and not (file.parent / str(path)).is_file():
                return str(file.parent / str(path))
    return None


def _compose_error(exc: CommandError) -> str:
    """Compose's error without its warnings about unset variables (they are not the error)."""
    lines = [ln for ln in (exc.stderr_tail or "").splitlines() if "level=warning" not in ln]
    return "\n".join(lines).strip() or str(exc.args[0])


#: Where the docker CLI finds its Compose plugin (its own search path, user folder first).
PLUGIN_DIRS = (
    Path.home() / ".docker" / "cli-plugins",
    Path("/usr/local/lib/docker/cli-plugins"),
    Path("/usr/local/libexec/docker/cli-plugins"),
    Path("/usr/lib/docker/cli-plugins"),
    Path("/usr/libexec/docker/cli-plugins"),
)


@cache
def compose_argv() -> tuple[str, ...]:
    """The Compose v2 binary: the docker CLI's plugin run directly when it is there (one
    process instead of two, for each of many files), else what deploy uses."""
    for folder in PLUGIN_DIRS:
        plugin = folder / "docker-compose"
        if plugin.is_file() and os.access(plugin, os.X_OK):
            return (str(plugin),)
    from lares.deploy.engine import compose_command

    return compose_command().argv


def first_is(error: str) -> bool:
    """Whether Compose refused what interpolation or env files made of a file."""
    return any(word in error for word in _UNRESOLVED)


def _as_written(name: str, reason: str) -> str:
    return (
        f"{name}: audited as written, without interpolation or env files (docker compose: {reason})"
    )


#: What Compose says when it refuses a file for what interpolation or an env file made of it,
#: not for the file as written.
_UNRESOLVED = ("env file", "invalid spec", "variable")


def compose_config(
    file: Path,
    display: str | None = None,
    *,
    as_written: Callable[[], dict[str, Any] | None] | None = None,
) -> tuple[dict[str, Any], str | None]:
    """The resolved Compose model of ``file`` (``docker compose config --format json``), with
    every profile's services, and a note when it could only be loaded as written.

    A file whose ``.env`` or ``env_file`` is not at hand (a file from somewhere else, a
    checkout without its secrets) is refused by Compose; it is then loaded again without
    interpolation or env files, so that it is still audited, ``${VAR}`` values as written:
    by ``as_written`` when it gives the model (the Python reader) and Compose refused what
    interpolation made of the file, else by Compose again. Raises :class:`AuditInputError`
    with Compose's own message when both fail.
    """
    name = display or str(file)
    # every profile: a service only some runs start is still in what the file deploys
    base = [*compose_argv(), "--profile", "*", "-f", str(file), "config"]
    note = None
    result = None
    missing = _missing_env_file(file)
    if missing:  # Compose would refuse it: straight to loading it as written
        first = f"env file {missing} not found"
    else:
        try:
            result = run.run(
                [*base, "--format", "json"], timeout=_LOAD_TIMEOUT, what=f"load {name}"
            )
        except CommandError as exc:
            first = _compose_error(exc)
    written = as_written() if result is None and as_written and first_is(first) else None
    if written is not None:
        return written, _as_written(name, first.splitlines()[-1])
    if result is None:
        try:
            result = run.run(
                [*base, "--no-interpolate", "--no-env-resolution", "--format", "json"],
                timeout=_LOAD_TIMEOUT,
                what=f"load {name}",
            )
        except CommandError:
            raise AuditInputError(
                f"{name}: docker compose cannot load it: {first}",
                hint="fix the file (docker compose -f FILE config shows the same error)",
            ) from None
        note = _as_written(name, first.splitlines()[-1] if first else "it refused the file")
    try:
        model = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AuditInputError(f"{name}: docker compose printed no model") from None
    return (model if isinstance(model, dict) else {}), note


def containers_of(
    model: dict[str, Any], *, source: str, text: str = ""
) -> tuple[list[Container], dict[tuple[str, str], int]]:
    """The containers of one resolved Compose model, and their lines in ``text``."""
    project = str(model.get("name") or "")
    # a default only counts where the variable is unset, as Compose just resolved it
    defaults = {m[1]: m[2] for m in _DEFAULT.finditer(text) if m[1] not in os.environ}
    nets = model.get("networks") or {}
    out = []
    for service, spec in sorted((model.get("services") or {}).items()):
        c = from_compose(project, service, spec, source=source, defaults=defaults)
        # the network's real name: projects sharing an external network share it
        c.networks = tuple(
            str((nets.get(n) or {}).get("name") or f"{project}_{n}") for n in c.networks
        )
        out.append(c)
    lines = service_lines(text, [c.service for c in out])
    return out, {(source, s): n for s, n in lines.items()}


def _read_host(loaded: Loaded, kind: str, path: Path, text: str) -> None:
    h = loaded.host
    if kind == "daemon":
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise AuditInputError(
                f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"
            ) from None
        daemon = data if isinstance(data, dict) else {}
        loaded.host = replace(h, daemon=daemon, daemon_source=str(path))
    elif kind == "sshd":
        # like sshd's Include, the first file given that sets a keyword wins
        sshd = {**parse_sshd(text), **(h.sshd or {})}
        loaded.host = replace(h, sshd=sshd, sshd_source=str(path))
    else:
        loaded.host = replace(h, ufw=text, ufw_source=str(path))


def load_files(paths: Sequence[Path]) -> Loaded:
    """Compose files or project folders, and host files, in the order given.

    Every path is tried; the ones that fail are reported together in one
    :class:`AuditInputError`, and nothing is audited then.
    """
    loaded = Loaded()
    compose: list[Path] = []
    errors: list[str] = []
    for path in paths:
        kind = _host_kind(path) if path.is_file() else None
        try:
            if kind:
                _read_host(loaded, kind, path, path.read_text(errors="replace"))
                loaded.targets.append(str(path))
            else:
                compose.append(_compose_file(path))
        except AuditInputError as exc:
            errors.append(exc.message)
        except OSError as exc:
            errors.append(f"{path}: {exc.strerror}")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_load_one, compose))
    for file, result in zip(compose, results, strict=True):
        if isinstance(result, str):
            errors.append(result)
            continue
        (model, note), text = result
        if note:
            loaded.notes.append(note)
        containers, lines = containers_of(model, source=str(file), text=text)
        loaded.containers += containers
        loaded.lines.update(lines)
        loaded.targets.append(str(file))
    if errors:
        raise AuditInputError(
            "\n".join(errors) if len(errors) > 1 else errors[0],
            hint="nothing was audited; fix or leave out the files above",
        )
    return loaded


def _load_one(file: Path) -> tuple[tuple[dict[str, Any], str | None], str] | str:
    try:
        text = file.read_text(errors="replace")
        missing = _missing_env_file(file)  # Compose would read it as written
        model = native_file(file, text, as_written=missing is not None)
        if model is None:
            written = partial(native_file, file, text, as_written=True)
            return compose_config(file, as_written=written), text
        note = _as_written(str(file), f"env file {missing} not found") if missing else None
        return (model, note), text
    except AuditInputError as exc:
        return exc.message
    except OSError as exc:
        return f"{file}: {exc.strerror}"


def _native(text: str, folder: str, **kwargs: Any) -> dict[str, Any] | None:
    """The file's model read in Python (:mod:`.native`), or None when it needs Compose."""
    import yaml

    from lares import yaml12
    from lares.audit.native import NeedsCompose, native_model

    try:
        return native_model(yaml12.load(text), folder, **kwargs)
    except (yaml.YAMLError, NeedsCompose, AttributeError, TypeError, ValueError, KeyError):
        return None  # Compose reads it (a shape not foreseen here too), or says what is wrong


def native_file(file: Path, text: str, *, as_written: bool = False) -> dict[str, Any] | None:
    """A compose file on disk read in Python when nothing in it needs Compose (a ``.env``
    next to it sets variables, and the project name, only Compose reads)."""
    folder = Path(os.path.abspath(file)).parent
    if (folder / ".env").exists():
        return None
    return _native(text, str(folder), as_written=as_written)


def load_running(api: Any = None) -> list[Container]:
    """Every container on the engine (lares's or not, running or stopped), from inspect."""
    from lares.dockerapi import DockerAPI

    own = api is None
    api = api or DockerAPI()
    try:
        out = []
        for item in api.containers(label=None):
            data = api.inspect(item["Id"])
            if data is not None:
                out.append(from_inspect(data))
        return sorted(out, key=lambda c: c.name)
    finally:
        if own:
            api.close()


def load_rendered(system: Any, source: str) -> Loaded:
    """lares's own render of ``system``: the server's stacks and the host files, with the
    stacks' relative paths where ``lares up`` writes them (the state folder's ``live``)."""
    from lares.render import render_all
    from lares.state import default_root

    home = render_all(system, source=source, target="home")
    host = render_all(system, source=source, target="host")
    files = {p: f.content for p, f in {**home.files, **host.files}.items()}
    env = {e.path: "".join(f"{k}=lares-audit-placeholder\n" for k in e.variables)
           for e in home.env_files}  # fmt: skip
    return load_bundle(files, env, source, root=str(default_root() / "live"))


def load_bundle(
    files: dict[str, str], env_files: dict[str, str], source: str, *, root: str = "/"
) -> Loaded:
    """The stacks and host files of a lares render, given as path → text, the render's
    folder being ``root``.

    A stack is lares's own output, in the forms :mod:`.native` reads: it is read in Python,
    its env files from ``env_files`` (the variables of the 0600 env files of secrets, each
    with a placeholder, never a value: the audit needs the variable, not the secret). A stack
    that needs more goes to Compose (:func:`compose_bundle`).
    """
    loaded = Loaded()
    stacks = sorted(p for p in files if p.endswith("/compose.yaml"))
    models: dict[str, dict[str, Any] | None] = {}
    for rel in stacks:
        folder = posixpath.dirname(rel)
        models[rel] = _native(
            files[rel], posixpath.join(root, folder), env_files=env_files, rel=folder
        )
    rest = [rel for rel, model in models.items() if model is None]
    if rest:
        with tempfile.TemporaryDirectory(prefix="lares-audit-") as tmp:
            models.update(compose_bundle(files, env_files, source, rest, Path(tmp)))
    for rel in stacks:
        model = models[rel]
        assert model is not None
        containers, lines = containers_of(model, source=rel, text=files[rel])
        loaded.containers += containers
        loaded.lines.update(lines)
        loaded.targets.append(rel)
    for rel, text in files.items():
        kind = _host_kind(Path(rel))
        if kind:
            _read_host(loaded, kind, Path(rel), text)
            loaded.targets.append(rel)
    return loaded


def compose_bundle(
    files: dict[str, str],
    env_files: dict[str, str],
    source: str,
    stacks: Sequence[str],
    root: Path,
) -> dict[str, dict[str, Any]]:
    """The models of ``stacks`` of a render as Compose resolves them: the stacks and their env
    files written under ``root`` (a private folder), loaded four at a time."""
    for rel, text in [*env_files.items(), *((r, files[r]) for r in stacks)]:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    with ThreadPoolExecutor(max_workers=4) as pool:
        models = list(pool.map(lambda r: compose_config(root / r, f"{source}: {r}"), stacks))
    return {rel: model for rel, (model, _) in zip(stacks, models, strict=True)}
