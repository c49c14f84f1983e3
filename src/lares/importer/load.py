"""Finding compose projects and loading each with the Compose v2 binary, twice.

A project is loaded resolved (``config --format json``: interpolation, ``.env``, ``env_file``,
``extends``, ``include``, profiles and override files as Docker resolves them) and as written
(``--no-interpolate``), so that a value that came from ``${VAR}`` is known as such. A project
Compose refuses (a syntax error, a missing env file, an ``extends`` cycle) is an
:class:`ImportInputError` naming the file, with Compose's own words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lares import run
from lares.audit.targets import COMPOSE_NAMES, compose_argv
from lares.errors import CommandError, LaresError

_TIMEOUT = 60
#: How deep below a folder given on the command line projects are looked for.
_DEPTH = 3
_LABEL = "com.docker.compose"


class ImportInputError(LaresError):
    code = "import-input"
    exit_code = 2


@dataclass(frozen=True)
class Source:
    """Where one project is: its compose files, its folder and (from the engine) its name."""

    files: tuple[Path, ...]
    workdir: Path
    name: str | None = None
    images: tuple[tuple[str, str], ...] = ()  # (service, image id) of its running containers

    @property
    def label(self) -> str:
        return str(self.files[0]) if self.files else str(self.workdir)


@dataclass
class Project:
    """One compose project, resolved and as written."""

    source: Source
    name: str
    resolved: dict[str, Any]
    raw: dict[str, Any]
    running: dict[str, dict[str, Any]] = field(default_factory=dict)  # service → inspect

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        return dict(self.resolved.get("services") or {})

    def raw_service(self, service: str) -> dict[str, Any]:
        return dict((self.raw.get("services") or {}).get(service) or {})


def _override_of(file: Path) -> Path | None:
    """The override file Compose merges beside ``file`` (compose.override.yaml …)."""
    stem, dot, ext = file.name.rpartition(".")
    candidate = file.with_name(f"{stem}.override.{ext}") if dot else None
    return candidate if candidate is not None and candidate.is_file() else None


def _in_folder(folder: Path) -> Path | None:
    for name in COMPOSE_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def find(paths: Sequence[Path]) -> list[Source]:
    """The projects in ``paths``: a compose file (with its override file), a project folder,
    or a folder of project folders (looked for up to three levels down)."""
    found: list[Source] = []
    errors: list[str] = []
    for path in (p.absolute() for p in paths):
        if path.is_file():
            extra = _override_of(path)
            found.append(Source((path, *([extra] if extra else [])), path.parent))
        elif path.is_dir():
            projects = list(_walk(path, _DEPTH))
            if not projects:
                errors.append(f"{path}: no compose file in this folder or below it")
            found += projects
        else:
            errors.append(f"{path}: no such file or folder")
    if errors:
        raise ImportInputError(
            "\n".join(errors),
            hint="name compose files or folders holding one of " + ", ".join(COMPOSE_NAMES),
        )
    return found


def _walk(folder: Path, depth: int) -> Iterable[Source]:
    file = _in_folder(folder)
    if file is not None:
        extra = _override_of(file)
        yield Source((file, *([extra] if extra else [])), folder)
        return
    if depth == 0:
        return
    for child in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        yield from _walk(child, depth - 1)


def running_sources(containers: Iterable[dict[str, Any]]) -> list[Source]:
    """The projects the engine's containers were started from, by their compose labels
    (project, working folder, config files); containers without them are not compose's."""
    seen: dict[str, Source] = {}
    images: dict[str, dict[str, str]] = {}
    for item in containers:
        labels = item.get("Labels") or {}
        project = labels.get(f"{_LABEL}.project")
        if not project or "io.lares.stack" in labels:
            continue
        service, image = labels.get(f"{_LABEL}.service"), item.get("ImageID")
        if service and image and item.get("State") == "running":
            images.setdefault(project, {})[str(service)] = str(image)
        if project in seen:
            continue
        workdir = Path(labels.get(f"{_LABEL}.project.working_dir") or ".")
        files = labels.get(f"{_LABEL}.project.config_files") or ""
        paths = tuple(Path(f) for f in files.split(",") if f)
        seen[project] = Source(paths, workdir, project)
    return [replace(seen[k], images=tuple(sorted(images.get(k, {}).items()))) for k in sorted(seen)]


def _argv(source: Source) -> list[str]:
    argv = [*compose_argv(), "--profile", "*", "--project-directory", str(source.workdir)]
    if source.name:
        argv += ["-p", source.name]
    for file in source.files:
        argv += ["-f", str(file)]
    return [*argv, "config", "--format", "json"]


def _error(source: Source, exc: CommandError) -> ImportInputError:
    lines = [ln for ln in (exc.stderr_tail or "").splitlines() if "level=warning" not in ln]
    said = "\n".join(lines).strip() or str(exc.args[0])
    return ImportInputError(
        f"{source.label}: docker compose cannot load it: {said}",
        hint="fix it first (docker compose config shows the same error); nothing was written",
    )


def _config(source: Source, *extra: str) -> dict[str, Any]:
    argv = _argv(source)
    try:
        result = run.run([*argv, *extra], timeout=_TIMEOUT, what=f"load {source.label}")
    except CommandError as exc:
        raise _error(source, exc) from None
    try:
        model = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise ImportInputError(f"{source.label}: docker compose printed no model") from None
    return model if isinstance(model, dict) else {}


def load_one(source: Source) -> Project:
    """Load one project, resolved and as written (two runs of Compose)."""
    return _project(source, _config(source), _config(source, "--no-interpolate"))


def _project(source: Source, resolved: dict[str, Any], raw: dict[str, Any]) -> Project:
    name = str(resolved.get("name") or source.name or source.workdir.name)
    return Project(source, name, resolved, raw)


def load(sources: Sequence[Source]) -> list[Project]:
    """Every project, each loaded twice, all in parallel; the ones that fail are reported
    together and none is returned then."""
    written = {s: _written(s) for s in sources if _interpolates(s)}
    runs: list[tuple[Source, tuple[str, ...]]] = [(s, ()) for s in sources]
    runs += [(s, ("--no-interpolate",)) for s, w in written.items() if w is None]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda r: _try(r[0], *r[1]), runs))
    errors: list[str] = []
    for r in results:
        if isinstance(r, ImportInputError) and r.message not in errors:
            errors.append(r.message)
    if errors:
        raise ImportInputError(
            "\n".join(errors),
            hint="fix or leave out the projects above; nothing was written",
        )
    models: dict[tuple[Source, bool], dict[str, Any]] = {
        (src, bool(extra)): r
        for (src, extra), r in zip(runs, results, strict=True)
        if isinstance(r, dict)
    }
    models.update({(s, True): w for s, w in written.items() if w is not None})
    return [
        _project(s, models[(s, False)], models.get((s, True), models[(s, False)])) for s in sources
    ]


def _interpolates(source: Source) -> bool:
    """Whether loading the project as written can differ from loading it resolved: a ``$``
    in its files, or other files they pull in (``include``, ``extends``). Without, the second
    Compose run is skipped."""
    for file in source.files:
        try:
            text = file.read_text(errors="replace")
        except OSError:
            return True
        if "$" in text or re.search(r"^\s*(include|extends)\s*:", text, re.M):
            return True
    return not source.files


def _written(source: Source) -> dict[str, Any] | None:
    """The project as written, read in Python by the audit's reader where it reads it as
    Compose's ``--no-interpolate`` does (the corpus test compares the two): one file that pulls
    in no other (no ``include``, ``extends`` or ``env_file``), whose variables' values are
    text, numbers or nothing. None when only Compose reads it so."""
    import yaml

    from lares.audit.native import NeedsCompose, native_model
    from lares.yamlio import safe_load

    if len(source.files) != 1:
        return None
    try:
        text = source.files[0].read_text(encoding="utf-8")
        data = safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        return None  # Compose says what is wrong with it
    if re.search(r"^\s*(include|extends|env_file)\s*:", text, re.M) or not isinstance(data, dict):
        return None
    if not isinstance(data.get("services"), dict):
        return None
    for spec in data["services"].values():
        env = (spec or {}).get("environment") if isinstance(spec, dict) else None
        values = env.values() if isinstance(env, dict) else ()
        if any(
            not isinstance(v, str | int) or isinstance(v, bool) for v in values if v is not None
        ):
            return None  # Compose prints a YAML true as it is written (True), Python as true
    try:
        return native_model(data, source.workdir, as_written=True)
    except NeedsCompose:
        return None


def _try(source: Source, *extra: str) -> dict[str, Any] | ImportInputError:
    try:
        return _config(source, *extra)
    except ImportInputError as exc:
        return exc
