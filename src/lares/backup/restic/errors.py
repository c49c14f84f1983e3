"""What a failed restic says, classified (wrong password, repository missing, disk full, locked,
interrupted …) into a :class:`ResticError` that says what to do.
"""

from __future__ import annotations

import json
import re
import signal

from lares import run
from lares.backup.features import Features
from lares.backup.restic.output import disk_usage
from lares.backup.restic.repo import Repo
from lares.errors import CommandError

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
