"""The restic commands lares runs, as values (pure): each names its repository, what it does
and the secrets it needs by id, so that printing one (``--dry-run``) never shows a secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from lares.backup.command import Command
from lares.backup.features import Features
from lares.backup.restic.repo import Repo, option_flags
from lares.errors import UsageError
from lares.text import counted

RESTIC = "restic"
LONG = 7 * 24 * 3600.0  # backups, prunes and checks of big repositories take hours
SHORT = 600.0
ABORT_GRACE = 30.0  # seconds a restic gets to clean up after SIGINT before SIGKILL


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
    """Retention: how many snapshots to keep per group; each field is restic's
    ``--keep-<field>``, in this order."""

    last: int | None = None
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0

    def flags(self) -> list[str]:
        out: list[str] = []
        for f in fields(self):
            if value := getattr(self, f.name):
                out += [f"--keep-{f.name}", str(value)]
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
