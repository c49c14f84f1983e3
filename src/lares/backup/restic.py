"""The restic adapter: commands for one repository, how to run them, and how to read the answers.

A :class:`Repo` is one repository of the blueprint with the file that holds its password. The
password reaches restic only as ``RESTIC_PASSWORD_FILE`` (a 0600 file in the secrets folder);
it is never in argv, a log line or an error. The backend's own secrets (``secret_env``: an S3
secret key, a B2 application key) are lares secrets in the same folder: a command names them by
secret name only, and :class:`Restic` reads their values when it starts restic, into restic's
environment, and masks them in everything it logs or raises. ``options`` become ``-o key=value``
flags on every command of the repository. :class:`Restic` runs commands against a repository
through :mod:`lares.run`, turns failures into :class:`ResticError` (classified: wrong password,
repository missing, disk full, locked, interrupted), parses ``--json`` output, removes stale
locks (and only stale ones) and checks that a restore cannot write outside its target.

Long-running restic processes are started under ``setpriv --pdeathsig KILL`` when setpriv is
installed, so a lares that is killed takes its restic with it: a killed restic writes no
snapshot, while an orphaned one reading a dump from a closed pipe would save a truncated one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from lares import run
from lares.backup.command import Command
from lares.backup.features import Features
from lares.errors import CommandError, LaresError, UsageError
from lares.run import Result
from lares.secrets import SecretStore
from lares.text import counted

RESTIC = "restic"
LONG = 7 * 24 * 3600.0  # backups, prunes and checks of big repositories take hours
SHORT = 600.0
#: Live restic refreshes its lock every 5 minutes; restic itself calls a lock stale after 30.
RESTIC_STALE_AFTER = timedelta(minutes=30)
#: A lock not refreshed for this long belongs to no running restic on any host.
STALE_AFTER = timedelta(hours=2)
ABORT_GRACE = 30.0  # seconds a restic gets to clean up after SIGINT before SIGKILL


# ── the repository ────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Repo:
    """One repository: its blueprint name, restic URL, password file and backend settings.

    ``env`` is the backend's non-secret environment, ``secret_env`` maps each secret variable
    to the name of the lares secret holding its value (a file beside the password file), and
    ``options`` are restic's extended options (``-o``).
    """

    name: str
    url: str
    password_file: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cache_dir: Path | None = None
    secret_env: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def local_path(self) -> Path | None:
        """The folder of a local repository (URL is a path), else None."""
        return Path(self.url) if self.url.startswith("/") else None

    @property
    def shown_url(self) -> str:
        return display_url(self.url)

    @property
    def secrets_dir(self) -> Path:
        """The secrets folder: the password file's, and that of the backend's secrets."""
        return self.password_file.parent

    def environment(self) -> dict[str, str]:
        """What restic needs in its environment for this repository (no secret values)."""
        env = {
            **self.env,
            "RESTIC_REPOSITORY": self.url,
            "RESTIC_PASSWORD_FILE": str(self.password_file),
            # Inherited values would take precedence over the file or clash with it.
            "RESTIC_PASSWORD": "",
            "RESTIC_PASSWORD_COMMAND": "",
            "RESTIC_PROGRESS_FPS": "2",
        }
        if self.cache_dir is not None:
            env["RESTIC_CACHE_DIR"] = str(self.cache_dir)
        return env

    def option_flags(self) -> list[str]:
        """``-o key=value`` for each extended option, in a stable order."""
        return option_flags(self.options)

    def secrets(self) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """The backend's secret environment, read now (each ``secret_env`` variable with the
        value of its secret), and (variable, secret name) of each secret that is not set."""
        store = SecretStore(self.secrets_dir)
        values: dict[str, str] = {}
        missing: list[tuple[str, str]] = []
        for var, sid in sorted(self.secret_env.items()):
            value = _read(store, sid)
            if value is None:
                missing.append((var, sid))
            else:
                values[var] = value
        return values, missing

    def password(self) -> str:
        """The password, read only so that it can be masked in what lares prints."""
        try:
            return self.password_file.read_text(encoding="utf-8").strip()
        except OSError:
            return ""


def option_flags(options: Mapping[str, str]) -> list[str]:
    """restic's ``-o key=value`` flags for ``options``, in a stable order."""
    return [arg for key in sorted(options) for arg in ("-o", f"{key}={options[key]}")]


def _read(store: SecretStore, secret_id: str) -> str | None:
    """The secret's value, or None when it is not set (an empty file counts as not set)."""
    try:
        value = store.read(secret_id) if store.exists(secret_id) else ""
    except (OSError, LaresError):
        return None
    return value if value.strip() else None


class MissingSecrets(LaresError):
    """A repository's backend needs secrets that are not set; nothing was run."""

    code = "backup-secret"

    def __init__(self, missing: Sequence[tuple[str, str, str]]) -> None:
        by_repo: dict[str, list[str]] = {}
        for repo, var, sid in missing:
            by_repo.setdefault(repo, []).append(f"{sid} ({var})")
        parts = [
            f"repository {repo} needs the secret{'s' if len(items) > 1 else ''} " + ", ".join(items)
            for repo, items in by_repo.items()
        ]
        ids = list(dict.fromkeys(sid for _, _, sid in missing))
        verb = "is" if len(ids) == 1 else "are"
        super().__init__(
            "; ".join(parts) + f", which {verb} not set",
            hint="store "
            + ("it" if len(ids) == 1 else "each")
            + " with "
            + ", ".join(f"`lares secret set {sid}`" for sid in ids),
        )
        self.missing = tuple(missing)


def credentials(repos: Sequence[Repo]) -> dict[str, str]:
    """The secret environment restic gets for a command that opens ``repos`` (one, or the two
    of a copy), read now. Every missing secret of every repository is named at once."""
    out: dict[str, str] = {}
    missing: list[tuple[str, str, str]] = []
    for repo in repos:
        values, absent = repo.secrets()
        out.update(values)
        missing += [(repo.name, var, sid) for var, sid in absent]
    if missing:
        raise MissingSecrets(missing)
    return out


def _nonempty(*values: str) -> tuple[str, ...]:
    return tuple(v for v in dict.fromkeys(values) if v)


def require_password(repo: Repo) -> None:
    """Raise a clear error when the repository's password file does not exist."""
    if not repo.password_file.is_file():
        raise LaresError(
            f"repository {repo.name} has no password yet ({repo.password_file} is missing)",
            hint="run `lares backup init` to generate it (and create the repository), or "
            "put the existing repository's password in that file",
            code="backup-password",
        )


def display_url(url: str) -> str:
    """``url`` with any password in it (``rest:https://user:pw@host/``) masked."""
    return re.sub(r"(://[^/:@]+):[^/@]*@", r"\1:***@", url)


# ── commands (pure) ───────────────────────────────────────────────────────────────────────


def _cmd(
    repo: Repo,
    args: Sequence[str],
    what: str,
    *,
    stdin: bool = False,
    other: Repo | None = None,
    other_env: Mapping[str, str] | None = None,
) -> Command:
    """A restic command on ``repo``; with ``other`` (the source of a copy), one that opens both.

    restic gives the backends of both repositories one environment and one set of options, so
    ``other``'s join ``repo``'s (a variable or option both set differently is refused). Secret
    variables are named by secret (``secret_env``) and read only when the command runs.
    """
    repos = (repo,) if other is None else (repo, other)
    env: dict[str, str] = {}
    secret_env: dict[str, str] = {}
    options: dict[str, str] = {}
    for r in repos:
        for var, value in r.env.items():
            _join(env, var, value, r, repos, also=secret_env)
        for var, sid in r.secret_env.items():
            _join(secret_env, var, sid, r, repos, also=env)
        for key, value in r.options.items():
            _join(options, key, value, r, repos, what="option")
    return Command(
        (RESTIC, *option_flags(options), *args),
        what=what,
        env={**env, **repo.environment(), **(other_env or {})},
        secret_env=secret_env,
        stdin=stdin,
    )


def _join(
    into: dict[str, str],
    key: str,
    value: str,
    repo: Repo,
    repos: Sequence[Repo],
    *,
    also: Mapping[str, str] | None = None,
    what: str = "",
) -> None:
    if (key in into and into[key] != value) or (also is not None and key in also):
        names = " and ".join(r.name for r in repos)
        raise UsageError(
            f"repositories {names} set {(what + ' ') if what else ''}{key} differently, but "
            "restic opens both with one environment and one set of options",
            hint=f"give {key} the same value (or the same secret) in both repositories",
        )
    into[key] = value


def _from_repo(src: Repo, features: Features) -> tuple[list[str], dict[str, str]]:
    """The flags and environment that name ``src`` as the other repository of a command."""
    if features.has("from_repo"):
        return ["--from-repo", src.url], {"RESTIC_FROM_PASSWORD_FILE": str(src.password_file)}
    return ["--repo2", src.url], {"RESTIC_PASSWORD_FILE2": str(src.password_file)}


def init_command(repo: Repo, features: Features, *, chunker_from: Repo | None = None) -> Command:
    """``restic init``; with ``chunker_from``, copy its chunker parameters so deduplication
    survives ``restic copy`` between the two repositories."""
    if chunker_from is None:
        return _cmd(repo, ["init"], f"create repository {repo.name}")
    flags, env = _from_repo(chunker_from, features)
    return _cmd(
        repo,
        ["init", "--copy-chunker-params", *flags],
        f"create repository {repo.name}",
        other=chunker_from,
        other_env=env,
    )


def exists_command(repo: Repo) -> Command:
    return _cmd(repo, ["cat", "config", "--no-lock"], f"open repository {repo.name}")


def backup_command(
    repo: Repo,
    paths: Sequence[str] = (),
    *,
    host: str,
    tags: Sequence[str],
    excludes: Sequence[str] = (),
    stdin_filename: str | None = None,
) -> Command:
    """``restic backup --json`` of ``paths``, or of stdin stored as ``stdin_filename``."""
    args = ["backup", "--json", "--host", host]
    for tag in tags:
        args += ["--tag", tag]
    for pattern in excludes:
        args += ["--exclude", pattern]
    if stdin_filename is not None:
        args += ["--stdin", "--stdin-filename", stdin_filename]
        what = f"back up {stdin_filename} to {repo.name}"
    else:
        args += ["--", *paths]
        what = f"back up {counted(len(paths), 'path')} to {repo.name}"
    return _cmd(repo, args, what, stdin=stdin_filename is not None)


def snapshots_command(repo: Repo, *, host: str | None = None, tags: Sequence[str] = ()) -> Command:
    args = ["snapshots", "--json", "--no-lock"]
    if host:
        args += ["--host", host]
    if tags:
        args += ["--tag", ",".join(tags)]
    return _cmd(repo, args, f"list snapshots of {repo.name}")


@dataclass(frozen=True)
class Keep:
    """Retention: how many snapshots to keep per group."""

    last: int | None = None
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0

    def flags(self) -> list[str]:
        out: list[str] = []
        for flag, value in (
            ("--keep-last", self.last),
            ("--keep-daily", self.daily),
            ("--keep-weekly", self.weekly),
            ("--keep-monthly", self.monthly),
            ("--keep-yearly", self.yearly),
        ):
            if value:
                out += [flag, str(value)]
        return out


def forget_command(
    repo: Repo, keep: Keep, *, host: str, tag: str, dry_run: bool = False
) -> Command:
    """``restic forget`` by retention, per app and kind (group by host and tags), then prune.

    With ``dry_run`` restic only says what it would remove and what the prune would free (its
    plan leaves out the snapshots the forget would remove, so the estimate is the real one)."""
    flags = keep.flags()
    if not flags:
        raise UsageError(
            f"the retention of repository {repo.name} keeps nothing",
            hint="set at least one of keep_last, keep_daily, keep_weekly, keep_monthly",
        )
    args = ["forget", "--json", "--prune", "--host", host, "--tag", tag, "--group-by", "host,tags"]
    if dry_run:
        args.append("--dry-run")
    return _cmd(repo, [*args, *flags], f"apply retention to {repo.name}")


def forget_ids_command(repo: Repo, ids: Sequence[str]) -> Command:
    return _cmd(repo, ["forget", *ids], f"remove {counted(len(ids), 'snapshot')} from {repo.name}")


def tag_command(repo: Repo, ids: Sequence[str], tag: str) -> Command:
    return _cmd(repo, ["tag", "--add", tag, *ids], f"tag {counted(len(ids), 'snapshot')} {tag}")


def stats_command(repo: Repo) -> Command:
    return _cmd(repo, ["stats", "--mode", "raw-data", "--json"], f"measure repository {repo.name}")


def parse_stats(text: str) -> int:
    """The bytes a repository stores, from ``restic stats --mode raw-data --json``."""
    data = json.loads(text.strip().splitlines()[-1])
    return int(data["total_size"])


def check_command(repo: Repo, subset: str | None) -> Command:
    args = ["check"]
    if subset:
        args.append(f"--read-data-subset={subset}")
    return _cmd(repo, args, f"check repository {repo.name}")


def copy_command(
    dst: Repo, src: Repo, features: Features, snapshot_ids: Sequence[str] = ()
) -> Command:
    flags, env = _from_repo(src, features)
    return _cmd(
        dst,
        ["copy", *flags, *snapshot_ids],
        f"copy snapshots from {src.name} to {dst.name}",
        other=src,
        other_env=env,
    )


def restore_command(
    repo: Repo, snapshot: str, target: Path, *, include: Sequence[str] = ()
) -> Command:
    args = ["restore", snapshot, "--target", str(target)]
    for path in include:
        args += ["--include", path]
    return _cmd(repo, args, f"restore {snapshot} from {repo.name}")


def ls_command(repo: Repo, snapshot: str, paths: Sequence[str] = ()) -> Command:
    return _cmd(repo, ["ls", "--json", "--no-lock", snapshot, *paths], f"list {snapshot}")


def dump_command(repo: Repo, snapshot: str, filename: str) -> Command:
    return _cmd(repo, ["dump", "--no-lock", snapshot, filename], f"read {filename} from {snapshot}")


def list_locks_command(repo: Repo) -> Command:
    return _cmd(repo, ["list", "locks", "--no-lock"], f"list locks of {repo.name}")


def cat_lock_command(repo: Repo, lock_id: str) -> Command:
    return _cmd(repo, ["cat", "lock", lock_id, "--no-lock"], f"read lock {lock_id[:8]}")


def unlock_command(repo: Repo) -> Command:
    return _cmd(repo, ["unlock"], f"remove stale locks of {repo.name}")


# ── errors ────────────────────────────────────────────────────────────────────────────────

WRONG_PASSWORD = "wrong-password"  # noqa: S105 - a kind of error
REPOSITORY_MISSING = "repository-missing"
ACCESS_DENIED = "access-denied"
UNREACHABLE = "unreachable"
DISK_FULL = "disk-full"
LOCKED = "locked"
INTERRUPTED = "interrupted"
INCOMPLETE = "incomplete"
FAILED = "failed"

_EXIT_CODES = {10: REPOSITORY_MISSING, 11: LOCKED, 12: WRONG_PASSWORD, 130: INTERRUPTED}
_PATTERNS = (
    (WRONG_PASSWORD, re.compile(r"wrong password|no key found", re.I)),
    (DISK_FULL, re.compile(r"no space left on device|disk quota exceeded", re.I)),
    # before "repository missing": restic 0.14 asks "is there a repository" after any error
    # opening the config, a refused login included
    (
        ACCESS_DENIED,
        re.compile(
            r"access denied|signaturedoesnotmatch|signature we calculated does not match"
            r"|invalidaccesskeyid|access key id you provided does not exist"
            r"|permission denied \(|unable to authenticate|authentication failed"
            r"|host key verification failed|\b403 forbidden",
            re.I,
        ),
    ),
    # an sftp session that did not start is a failed ssh, whose own message restic 0.14 may
    # not pass on: the server is down, or it refused the login
    (
        UNREACHABLE,
        re.compile(
            r"connection refused|no such host|network is unreachable|no route to host"
            r"|i/o timeout|unable to start the sftp session",
            re.I,
        ),
    ),
    (LOCKED, re.compile(r"repository is already locked|unable to create lock", re.I)),
    (
        REPOSITORY_MISSING,
        re.compile(
            r"is there a repository at the following location|repository does not exist"
            r"|unable to open config file",
            re.I,
        ),
    ),
    (INTERRUPTED, re.compile(r"signal interrupt received|context canceled", re.I)),
)


def error_text(stderr: str, features: Features) -> str:
    """The human part of restic's stderr: JSON ``exit_error`` lines (restic ≥ 0.17) unwrapped,
    terminal control sequences removed."""
    lines: list[str] = []
    for line in re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", stderr).splitlines():
        if features.has("json_errors") and line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                data = None
            if isinstance(data, dict) and data.get("message_type") in ("exit_error", "error"):
                message = data.get("message") or (data.get("error") or {}).get("message") or ""
                lines.append(str(message))
                continue
        lines.append(line)
    return "\n".join(line for line in lines if line.strip())


def classify(returncode: int, stderr: str, features: Features) -> str:
    """What kind of failure restic's exit code and stderr describe (one of the constants)."""
    if features.has("exit_codes") and returncode in _EXIT_CODES:
        return _EXIT_CODES[returncode]
    text = error_text(stderr, features)
    for kind, pattern in _PATTERNS:
        if pattern.search(text):
            return kind
    if returncode in (130, -signal.SIGINT):
        return INTERRUPTED
    if returncode == 3:
        return INCOMPLETE
    return FAILED


class ResticError(CommandError):
    """restic failed on a repository; ``kind`` says how (see :func:`classify`)."""

    def __init__(
        self,
        kind: str,
        repo: Repo,
        *,
        what: str,
        returncode: int | None,
        stderr: str,
        argv: tuple[str, ...] = (),
    ) -> None:
        message, hint = _explain(kind, repo, what, stderr)
        super().__init__(
            message, argv=argv, returncode=returncode, stderr_tail=run.tail(stderr, 6), hint=hint
        )
        self.kind = kind
        self.repo = repo.name
        self.code = f"restic-{kind}"


def _explain(kind: str, repo: Repo, what: str, stderr: str) -> tuple[str, str | None]:
    where = f"repository {repo.name} ({repo.shown_url})"
    if kind == WRONG_PASSWORD:
        return (
            f"wrong password for {where}",
            f"lares reads it from {repo.password_file} (secret restic_{repo.name}); put the "
            "repository's password there — a restic password cannot be reset",
        )
    if kind == ACCESS_DENIED:
        return (f"{where} refused access while trying to {what}", _access_hint(repo))
    if kind == UNREACHABLE:
        if repo.url.startswith("sftp:"):
            return (
                f"could not start an SFTP session with {where} while trying to {what}",
                "ssh could not connect or log in: check that the server answers, then "
                + _access_hint(repo),
            )
        return (
            f"could not reach {where} while trying to {what}",
            "check that the server answers at that address, and the network on the way",
        )
    if kind == REPOSITORY_MISSING:
        return (
            f"{where} does not exist",
            f"run `lares backup init`, or fix backup.repositories.{repo.name}.url",
        )
    if kind == DISK_FULL:
        local = repo.local_path
        usage = disk_usage(local) if local is not None else None
        return (
            f"no space left on the device of {where} while trying to {what}"
            + (f": {usage}" if usage else ""),
            f"free space on {usage.path if usage else 'the disk that holds it'}, or see what "
            f"`lares backup prune --repo {repo.name}` frees by applying the retention; "
            "a bigger disk if the retention must keep everything",
        )
    if kind == LOCKED:
        holder = re.search(r"locked (?:exclusively )?by (PID \d+ on \S+)", stderr)
        return (
            f"{where} is locked by another restic" + (f" ({holder.group(1)})" if holder else ""),
            "wait for it to finish; a lock left by a dead process is removed by "
            "`lares backup unlock` (and by the next run)",
        )
    if kind == INTERRUPTED:
        return f"restic was interrupted while trying to {what} ({where})", None
    if kind == INCOMPLETE:
        return (
            f"some files could not be read while trying to {what} ({where})",
            "the snapshot was saved without them; see the errors above",
        )
    return f"restic could not {what} ({where})", None


def _access_hint(repo: Repo) -> str:
    if repo.secret_env:
        used = ", ".join(f"{sid} ({var})" for var, sid in sorted(repo.secret_env.items()))
        first = sorted(repo.secret_env.values())[0]
        return (
            f"check the credentials lares gives restic for it: the secrets {used}; "
            f"correct one with `lares secret set NAME` (e.g. `lares secret set {first}`)"
        )
    if repo.url.startswith("sftp:"):
        return (
            "check the SSH login restic uses (user, key, known host): "
            f"backup.repositories.{repo.name}.url or its sftp.command option"
        )
    return (
        f"check the credentials of backup.repositories.{repo.name} "
        "(its env and secret_env: lares secret set NAME)"
    )


# ── JSON output ───────────────────────────────────────────────────────────────────────────


def parse_time(text: str) -> datetime:
    """restic's RFC 3339 times with nanoseconds ("2026-11-26T18:05:30.765893992Z")."""
    text = text.strip().replace("Z", "+00:00")
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if match:
        frac = (match.group(2) or "")[:7]
        text = f"{match.group(1)}{frac}{match.group(3)}"
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Snapshot:
    id: str
    short_id: str
    time: datetime
    paths: tuple[str, ...]
    hostname: str
    tags: tuple[str, ...]
    original: str | None = None
    parent: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Snapshot:
        return cls(
            id=str(data["id"]),
            short_id=str(data.get("short_id") or str(data["id"])[:8]),
            time=parse_time(str(data["time"])),
            paths=tuple(data.get("paths") or ()),
            hostname=str(data.get("hostname", "")),
            tags=tuple(data.get("tags") or ()),
            original=data.get("original"),
            parent=data.get("parent"),
        )

    def tag(self, key: str) -> str | None:
        """The value of the ``key:value`` tag, if any."""
        prefix = f"{key}:"
        return next((t[len(prefix) :] for t in self.tags if t.startswith(prefix)), None)

    def matches(self, snapshot_id: str) -> bool:
        """Whether ``snapshot_id`` (full or a prefix of at least 8) names this snapshot."""
        return len(snapshot_id) >= 8 and self.id.startswith(snapshot_id)


def parse_snapshots(text: str) -> list[Snapshot]:
    data = json.loads(text or "[]") or []
    return sorted((Snapshot.from_json(d) for d in data), key=lambda s: s.time)


@dataclass(frozen=True)
class Status:
    """One progress line of ``restic backup --json``."""

    percent: float
    files_done: int
    total_files: int
    bytes_done: int
    total_bytes: int
    seconds_elapsed: int
    seconds_remaining: int | None
    current_files: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    """The last line of ``restic backup --json``."""

    files_new: int
    files_changed: int
    files_unmodified: int
    dirs_new: int
    dirs_changed: int
    data_added: int
    total_files_processed: int
    total_bytes_processed: int
    total_duration: float
    snapshot_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "files_new": self.files_new,
            "files_changed": self.files_changed,
            "files_unmodified": self.files_unmodified,
            "dirs_new": self.dirs_new,
            "dirs_changed": self.dirs_changed,
            "data_added": self.data_added,
            "total_files_processed": self.total_files_processed,
            "total_bytes_processed": self.total_bytes_processed,
            "total_duration": self.total_duration,
            "snapshot_id": self.snapshot_id,
        }


@dataclass(frozen=True)
class ItemError:
    """An error restic met on one item and went on (it exits 3 at the end)."""

    message: str
    during: str
    item: str


Event = Status | Summary | ItemError


def parse_event(line: str) -> Event | None:
    """One line of ``restic backup --json`` output; None for anything else."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind = data.get("message_type")
    if kind == "status":
        remaining = data.get("seconds_remaining")
        return Status(
            percent=float(data.get("percent_done") or 0.0),
            files_done=int(data.get("files_done") or 0),
            total_files=int(data.get("total_files") or 0),
            bytes_done=int(data.get("bytes_done") or 0),
            total_bytes=int(data.get("total_bytes") or 0),
            seconds_elapsed=int(data.get("seconds_elapsed") or 0),
            # restic prints 2**63 when it cannot estimate
            seconds_remaining=int(remaining) if remaining and remaining < 10**9 else None,
            current_files=tuple(data.get("current_files") or ()),
        )
    if kind == "summary":
        return Summary(
            files_new=int(data.get("files_new") or 0),
            files_changed=int(data.get("files_changed") or 0),
            files_unmodified=int(data.get("files_unmodified") or 0),
            dirs_new=int(data.get("dirs_new") or 0),
            dirs_changed=int(data.get("dirs_changed") or 0),
            data_added=int(data.get("data_added") or 0),
            total_files_processed=int(data.get("total_files_processed") or 0),
            total_bytes_processed=int(data.get("total_bytes_processed") or 0),
            total_duration=float(data.get("total_duration") or 0.0),
            snapshot_id=str(data.get("snapshot_id") or ""),
        )
    if kind == "error":
        err = data.get("error")
        message = err.get("message") if isinstance(err, dict) else None
        if not message and isinstance(err, dict):
            message = " ".join(f"{k}={v}" for k, v in err.items())
        return ItemError(
            str(message or err), str(data.get("during", "")), str(data.get("item", ""))
        )
    return None


def parse_forget(text: str) -> tuple[int, int]:
    """(kept, removed) from ``restic forget --json`` (whose first line is the JSON; prune's
    report follows as text)."""
    start = text.find("[")
    if start < 0:
        return (0, 0)
    groups, _ = json.JSONDecoder().raw_decode(text[start:])
    kept = sum(len(g.get("keep") or ()) for g in groups or ())
    removed = sum(len(g.get("remove") or ()) for g in groups or ())
    return kept, removed


_TOTAL_PRUNE = re.compile(r"^total prune:\s+\d+ blobs / ([0-9.]+ [KMGTP]?i?B)\s*$", re.M)


def parse_prune(text: str) -> int:
    """The bytes a prune frees ("total prune: … / SIZE" in its report); 0 when it did not run
    (nothing was forgotten)."""
    from lares.units import parse_size

    match = _TOTAL_PRUNE.search(text)
    return parse_size(match.group(1).replace(" ", "")) if match else 0


@dataclass(frozen=True)
class Usage:
    """How full the filesystem holding a local repository is."""

    path: str  # the mount point
    fstype: str
    size: int
    free: int  # available to this user

    @property
    def used_percent(self) -> float:
        return 100.0 * (self.size - self.free) / self.size if self.size else 100.0

    def __str__(self) -> str:
        from lares.units import format_size

        return (
            f"{self.path} ({self.fstype}) is {self.used_percent:.0f}% full, "
            f"{format_size(self.free)} free of {format_size(self.size)}"
        )


def disk_usage(path: Path) -> Usage | None:
    """The filesystem of ``path`` (or of its nearest existing parent), or None if unreadable."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        st = os.statvfs(probe)
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    resolved = str(probe.resolve())
    best, fstype = "/", "unknown"
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, fstype = point, parts[2]
    return Usage(best, fstype, st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize)


# ── locks ─────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Lock:
    id: str
    time: datetime
    exclusive: bool
    hostname: str
    username: str
    pid: int

    @classmethod
    def from_json(cls, lock_id: str, data: Mapping[str, Any]) -> Lock:
        return cls(
            id=lock_id,
            time=parse_time(str(data["time"])),
            exclusive=bool(data.get("exclusive", False)),
            hostname=str(data.get("hostname", "")),
            username=str(data.get("username", "")),
            pid=int(data.get("pid") or 0),
        )

    def describe(self) -> str:
        kind = "exclusive lock" if self.exclusive else "lock"
        when = self.time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        return f"{kind} {self.id[:8]} of PID {self.pid} on {self.hostname} ({when} UTC)"


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this host (one we may not signal counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_reason(
    lock: Lock,
    *,
    hostname: str,
    now: datetime,
    max_age: timedelta = STALE_AFTER,
    alive: Callable[[int], bool] = pid_alive,
) -> str | None:
    """Why ``lock`` is stale (its process on this host is gone, or it is older than any run
    could last without refreshing it), or None when it may belong to a running restic."""
    if lock.hostname == hostname and not alive(lock.pid):
        return f"PID {lock.pid} no longer runs on {hostname}"
    age = now - lock.time
    if age > max_age:
        return f"not refreshed for {int(age.total_seconds() // 60)} minutes"
    return None


def restic_would_remove(
    lock: Lock, *, hostname: str, now: datetime, alive: Callable[[int], bool]
) -> bool:
    """What ``restic unlock`` (without --remove-all) removes: restic's own stale rule."""
    if now - lock.time > RESTIC_STALE_AFTER:
        return True
    return lock.hostname == hostname and not alive(lock.pid)


# ── restore safety (pure) ─────────────────────────────────────────────────────────────────


def unsafe_node(name: str, path: str) -> str | None:
    """Why a snapshot entry could write outside a restore target, or None when it cannot."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        return f"entry name {name!r} is not a plain file name"
    parts = PurePosixPath(path).parts
    if not path.startswith("/") or any(p in (".", "..") for p in parts[1:]) or "\0" in path:
        return f"entry path {path!r} leaves the snapshot's tree"
    return None


def check_include(path: str) -> str:
    """A ``--path`` inside a snapshot, normalised; raises UsageError for one that climbs out."""
    if "\0" in path or not path.strip():
        raise UsageError(f"{path!r} is not a path inside the snapshot")
    parts = PurePosixPath(path).parts
    if ".." in parts:
        raise UsageError(
            f"--path {path!r} contains '..': a restore never writes outside its target",
            hint="give the path as `lares backup list` shows it inside the snapshot",
        )
    return "/" + "/".join(p for p in parts if p not in ("/", "."))


def check_target(target: Path) -> Path:
    """The absolute restore target; it must be missing or an empty folder (never ``/``)."""
    resolved = target.expanduser().resolve()
    if resolved == Path("/"):
        raise UsageError("refusing to restore into /", hint="give an empty folder as --target")
    if resolved.exists():
        if not resolved.is_dir():
            raise UsageError(f"--target {target} exists and is not a folder")
        if any(resolved.iterdir()):
            raise UsageError(
                f"--target {target} is not empty",
                hint="restore into a new or empty folder, then move what you need",
            )
    return resolved


# ── running ───────────────────────────────────────────────────────────────────────────────


def guard(argv: Sequence[str]) -> tuple[str, ...]:
    """``argv`` made to die with lares (``setpriv --pdeathsig KILL``) when setpriv exists."""
    if run.which("setpriv"):
        return ("setpriv", "--pdeathsig", "KILL", "--", *argv)
    return tuple(argv)


@dataclass(frozen=True)
class BackupResult:
    summary: Summary | None
    errors: tuple[ItemError, ...]
    aborted: str | None = None  # why the feed stopped the backup (no snapshot was written)


#: Given the write end of restic's stdin, a feed writes the data and returns None to let
#: restic save the snapshot, or a reason to abort it (restic is stopped before it sees EOF).
Feed = Callable[[int], str | None]


class Restic:
    """restic commands against one repository, run and classified."""

    def __init__(self, repo: Repo, features: Features, *, hostname: str | None = None) -> None:
        self.repo = repo
        self.features = features
        self.hostname = hostname or socket.gethostname()
        # what is masked in errors: grows with every command's secrets (see prepare)
        self._secrets = _nonempty(repo.password(), *repo.secrets()[0].values())

    def fail(self, cmd: Command, returncode: int, stderr: str) -> ResticError:
        kind = classify(returncode, stderr, self.features)
        return ResticError(
            kind,
            self.repo,
            what=cmd.what or "run restic",
            returncode=returncode,
            stderr=run.Redactor(self._secrets)(error_text(stderr, self.features)),
            argv=cmd.argv,
        )

    def require_password(self) -> None:
        """Raise a clear error when the repository's password file does not exist."""
        require_password(self.repo)

    def prepare(
        self, cmd: Command, others: Sequence[Repo] = ()
    ) -> tuple[dict[str, str], tuple[str, ...]]:
        """The environment ``cmd`` runs with, and the values to mask in what it prints.

        This is where a command meets its secrets: the repository's (and ``others``', the
        source of a copy) passwords must exist and their backend secrets are read now, into
        the environment only. A missing one raises before anything runs.
        """
        repos = (self.repo, *others)
        secret = credentials(repos)
        for repo in repos:
            require_password(repo)
        masks = _nonempty(*(r.password() for r in repos), *secret.values())
        self._secrets = _nonempty(*self._secrets, *masks)
        return {**cmd.env, **secret}, masks

    def run(
        self,
        cmd: Command,
        *,
        timeout: float = SHORT,
        check: bool = True,
        others: Sequence[Repo] = (),
    ) -> Result:
        env, masks = self.prepare(cmd, others)
        result = run.run(
            guard(cmd.argv),
            env=env,
            timeout=timeout,
            check=False,
            secrets=masks,
            what=cmd.what,
        )
        if check and not result.ok:
            raise self.fail(cmd, result.returncode, result.stderr)
        return result

    def spawn(self, cmd: Command) -> Any:
        """Start ``cmd`` in the background, its stdout a pipe (``restic dump`` into a restore)."""
        env, masks = self.prepare(cmd)
        return run.spawn(guard(cmd.argv), env=env, secrets=masks)

    # -- repository ------------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether the repository exists; raises for any other failure (e.g. wrong password)."""
        cmd = exists_command(self.repo)
        result = self.run(cmd, check=False)
        if result.ok:
            return True
        err = self.fail(cmd, result.returncode, result.stderr)
        if err.kind == REPOSITORY_MISSING:
            return False
        raise err

    def init(self, *, chunker_from: Repo | None = None) -> None:
        self.run(
            init_command(self.repo, self.features, chunker_from=chunker_from),
            timeout=SHORT,
            others=() if chunker_from is None else (chunker_from,),
        )

    def snapshots(self, *, host: str | None = None, tags: Sequence[str] = ()) -> list[Snapshot]:
        result = self.run(snapshots_command(self.repo, host=host, tags=tags))
        return parse_snapshots(result.stdout)

    def forget_ids(self, ids: Sequence[str]) -> None:
        if ids:
            self.run(forget_ids_command(self.repo, ids))

    def forget(self, keep: Keep, *, host: str, tag: str) -> tuple[int, int]:
        cmd = forget_command(self.repo, keep, host=host, tag=tag)
        return parse_forget(self.with_stale_locks_removed(cmd).stdout)

    def prune_preview(self, keep: Keep, *, host: str, tag: str) -> tuple[int, int, int]:
        """(kept, removed, bytes freed) that :meth:`forget` would give; changes nothing."""
        cmd = forget_command(self.repo, keep, host=host, tag=tag, dry_run=True)
        out = self.with_stale_locks_removed(cmd).stdout
        return (*parse_forget(out), parse_prune(out))

    def check(self, subset: str | None) -> Result:
        return self.with_stale_locks_removed(check_command(self.repo, subset))

    def size(self) -> int:
        """The bytes the repository stores (its packs, after deduplication and compression)."""
        return parse_stats(self.run(stats_command(self.repo), timeout=LONG).stdout)

    def copy(self, src: Repo, snapshot_ids: Sequence[str]) -> None:
        if snapshot_ids:
            self.run(
                copy_command(self.repo, src, self.features, snapshot_ids),
                timeout=LONG,
                others=(src,),
            )

    def ls(self, snapshot: str, paths: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        """The entries of ``snapshot`` (under ``paths``), read as restic prints them."""
        cmd = ls_command(self.repo, snapshot, paths)
        env, masks = self.prepare(cmd)
        with run.stream(guard(cmd.argv), env=env, timeout=LONG, secrets=masks, check=False) as proc:
            for line in proc.lines():
                if line.startswith("{"):
                    node = json.loads(line)
                    if node.get("struct_type") == "node":
                        yield node
            proc.process.wait()
            stderr = proc.process.stderr.read() if proc.process.stderr else ""
        if proc.process.returncode != 0:
            raise self.fail(cmd, proc.process.returncode, stderr)

    def restore(
        self,
        snapshot: str,
        target: Path,
        *,
        include: Sequence[str] = (),
        private: bool = False,
    ) -> Path:
        """Restore ``snapshot`` (or its ``include`` paths) into ``target``, made 0700.

        Refuses (UsageError) a target that is ``/``, not empty, and any snapshot entry that
        could climb out of it; restic then writes only below ``target``. With ``private`` (a
        database dump) every restored file is made 0600 and every folder 0700; otherwise they
        keep the modes they were backed up with, behind the 0700 target.
        """
        safe_target = check_target(target)
        wanted = [check_include(p) for p in include]
        for node in self.ls(snapshot, wanted):
            problem = unsafe_node(str(node.get("name", "")), str(node.get("path", "")))
            if problem:
                raise UsageError(
                    f"snapshot {snapshot} of {self.repo.name} is unsafe to restore: {problem}",
                    hint="nothing was written; restore single paths with --path",
                )
        safe_target.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(safe_target, 0o700)
        self.run(restore_command(self.repo, snapshot, safe_target, include=wanted), timeout=LONG)
        if private:
            for folder, dirs, files in os.walk(safe_target):
                for d in dirs:
                    os.chmod(os.path.join(folder, d), 0o700, follow_symlinks=False)
                for f in files:
                    entry = os.path.join(folder, f)
                    if not os.path.islink(entry):
                        os.chmod(entry, 0o600)
        return safe_target

    # -- locks -----------------------------------------------------------------------------

    def locks(self) -> list[Lock]:
        """Every lock in the repository (for a local one, without running restic when none)."""
        local = self.repo.local_path
        if local is not None and not any((local / "locks").glob("*")):
            return []
        ids = self.run(list_locks_command(self.repo)).stdout.split()
        found: list[Lock] = []
        for lock_id in ids:
            result = self.run(cat_lock_command(self.repo, lock_id), check=False)
            if result.ok:  # a lock can vanish between list and cat
                found.append(Lock.from_json(lock_id, json.loads(result.stdout)))
        return found

    def remove_stale_locks(
        self, *, now: datetime | None = None, max_age: timedelta = STALE_AFTER
    ) -> tuple[list[tuple[Lock, str]], list[Lock]]:
        """Remove the locks left by dead processes; return (removed with why, kept).

        A local repository loses exactly the stale lock files. Elsewhere ``restic unlock``
        is used only when everything it would remove is stale by lares's rule too.
        """
        now = now or datetime.now(UTC)
        stale: list[tuple[Lock, str]] = []
        kept: list[Lock] = []
        for lock in self.locks():
            reason = stale_reason(lock, hostname=self.hostname, now=now, max_age=max_age)
            if reason:
                stale.append((lock, reason))
            else:
                kept.append(lock)
        if not stale:
            return [], kept
        local = self.repo.local_path
        if local is not None:
            for lock, _ in stale:
                (local / "locks" / lock.id).unlink(missing_ok=True)
            return stale, kept
        if any(
            restic_would_remove(lock, hostname=self.hostname, now=now, alive=pid_alive)
            for lock in kept
        ):
            return [], [*kept, *(lock for lock, _ in stale)]
        self.run(unlock_command(self.repo))
        return stale, kept

    def with_stale_locks_removed(self, cmd: Command, *, timeout: float = LONG) -> Result:
        """Run ``cmd``; when the repository is locked, remove stale locks and try once more."""
        result = self.run(cmd, timeout=timeout, check=False)
        if result.ok:
            return result
        err = self.fail(cmd, result.returncode, result.stderr)
        if err.kind != LOCKED:
            raise err
        removed, _ = self.remove_stale_locks()
        if not removed:
            raise err
        return self.run(cmd, timeout=timeout)

    # -- backup ----------------------------------------------------------------------------

    def backup(
        self,
        cmd: Command,
        *,
        feed: Feed | None = None,
        on_status: Callable[[Status], None] | None = None,
    ) -> BackupResult:
        """Run a ``restic backup --json`` command, reporting progress as it goes.

        With ``feed`` (for ``--stdin`` commands) restic reads from a pipe that ``feed`` fills
        from another thread. If ``feed`` returns a reason to abort, restic is interrupted
        (SIGINT, then SIGKILL after a grace period) *before* the pipe is closed: restic saves
        a snapshot only on end of input, so an aborted stream never leaves one. Raises
        :class:`ResticError` when restic fails.
        """
        env, masks = self.prepare(cmd)
        read_fd: int | None = None
        write_fd: int | None = None
        if feed is not None:
            read_fd, write_fd = os.pipe()
        summary: Summary | None = None
        errors: list[ItemError] = []
        stderr_tail: deque[str] = deque(maxlen=200)
        abort = _Abort()
        feeder: threading.Thread | None = None
        try:
            with run.stream(
                guard(cmd.argv),
                env=env,
                stdin=read_fd,
                timeout=LONG,
                secrets=masks,
                what=cmd.what,
                check=False,
            ) as proc:
                if read_fd is not None:
                    os.close(read_fd)
                    read_fd = None
                drainer = threading.Thread(
                    target=drain, args=(proc.process.stderr, stderr_tail), daemon=True
                )
                drainer.start()
                if feed is not None and write_fd is not None:
                    feeder = threading.Thread(
                        target=abort.feed, args=(feed, write_fd, proc.process), daemon=True
                    )
                    write_fd = None  # the feeder closes it
                    feeder.start()
                for line in proc.lines():
                    event = parse_event(line)
                    if isinstance(event, Status):
                        if on_status is not None:
                            on_status(event)
                    elif isinstance(event, Summary):
                        summary = event
                    elif isinstance(event, ItemError):
                        errors.append(event)
                if feeder is not None:
                    feeder.join()
                proc.process.wait()
                drainer.join(timeout=10)
            returncode = proc.process.returncode
        finally:
            for fd in (read_fd, write_fd):
                if fd is not None:
                    os.close(fd)
        stderr = "\n".join(stderr_tail)
        # restic that failed on its own (a full disk, a lost server) stops reading its input
        # too: then the repository is to blame, not the feed that found the pipe closed
        failed_alone = returncode not in STOPPED and classify(
            returncode, stderr, self.features
        ) not in (FAILED, INTERRUPTED)
        if (
            abort.reason is not None
            and not failed_alone
            and (abort.signalled or returncode in STOPPED)
        ):
            return BackupResult(None, tuple(errors), aborted=abort.reason)
        if returncode != 0:
            raise self.fail(cmd, returncode, stderr)
        if summary is None:
            raise self.fail(cmd, 1, stderr or "restic printed no summary")
        return BackupResult(summary, tuple(errors))


#: How a restic that lares interrupted ends: SIGINT handled (130), or killed by a signal.
STOPPED = (130, -signal.SIGINT, -signal.SIGKILL)


class _Abort:
    """Runs a feed and, when it asks to abort, stops restic before closing its input."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.signalled = False  # restic still ran when it was stopped (else it failed alone)

    def feed(self, feed: Feed, write_fd: int, process: Any) -> None:
        try:
            try:
                reason = feed(write_fd)
            except BaseException as exc:  # the input must never end normally after a failure
                reason = f"{type(exc).__name__}: {exc}"
            if reason is not None:
                self.reason = reason
                self.signalled = process.poll() is None
                stop(process)
        finally:
            os.close(write_fd)


def stop(process: Any, grace: float = ABORT_GRACE) -> None:
    """Interrupt a restic (it removes its lock) and wait; kill it if it does not stop.

    SIGINT is repeated every two seconds: one that lands while restic is still starting,
    before it handles the signal, may be lost (a background shell starts it ignored).
    """
    deadline = time.monotonic() + grace
    while process.poll() is None and time.monotonic() < deadline:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=2)
        except run.TimeoutExpired:
            continue
    if process.poll() is None:
        process.kill()
        process.wait()


def close_pipes(process: Any) -> None:
    """Close what lares holds of a finished process's pipes."""
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()


def drain(stream: Any, into: deque[str], note: Callable[[str], bool] = lambda line: False) -> None:
    """Keep the tail of ``stream`` (bytes or text lines) in ``into``, but for the lines ``note``
    takes."""
    if stream is None:
        return
    for raw in stream:
        line = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw).rstrip("\n")
        if not note(line):
            into.append(line)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte of ``data`` to ``fd`` (raises BrokenPipeError when the reader died)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
