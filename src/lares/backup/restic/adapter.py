"""Running restic against one repository: :class:`Restic` gives each command its secrets, runs it
through :mod:`lares.run`, turns a failure into a :class:`ResticError`, removes stale locks (and
only stale ones) and streams backups and restores.

Long-running restic processes are started under ``setpriv --pdeathsig KILL`` when setpriv is
installed, so a lares that is killed takes its restic with it: a killed restic writes no
snapshot, while an orphaned one reading a dump from a closed pipe would save a truncated one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

from lares import run
from lares.backup.command import Command
from lares.backup.features import Features
from lares.backup.restic import output
from lares.backup.restic.commands import (
    ABORT_GRACE,
    LONG,
    SHORT,
    Keep,
    cat_lock_command,
    check_command,
    copy_command,
    dump_command,
    exists_command,
    forget_command,
    forget_ids_command,
    init_command,
    list_locks_command,
    ls_command,
    restore_command,
    snapshots_command,
    stats_command,
    unlock_command,
)
from lares.backup.restic.errors import (
    FAILED,
    INTERRUPTED,
    LOCKED,
    REPOSITORY_MISSING,
    ResticError,
    classify,
    error_text,
)
from lares.backup.restic.locks import STALE_AFTER, Lock, restic_would_remove, stale_reason
from lares.backup.restic.paths import check_include, check_target, unsafe_node
from lares.backup.restic.repo import Repo, credentials, nonempty, require_password
from lares.errors import UsageError
from lares.run import Result


def guard(argv: Sequence[str]) -> tuple[str, ...]:
    """``argv`` made to die with lares (``setpriv --pdeathsig KILL``) when setpriv exists."""
    if run.which("setpriv"):
        return ("setpriv", "--pdeathsig", "KILL", "--", *argv)
    return tuple(argv)


@dataclass(frozen=True)
class BackupResult:
    summary: output.Summary | None
    errors: tuple[output.ItemError, ...]
    aborted: str | None = None  # why the feed stopped the backup (no snapshot was written)


#: Given the write end of restic's stdin, a feed writes the data and returns None to let
#: restic save the snapshot, or a reason to abort it (restic is stopped before it sees EOF).
Feed = run.Feed


@dataclass(frozen=True)
class Source:
    """A command whose output a ``--stdin`` backup saves (a database dump), and how lares
    watches it on its way (see :func:`lares.run.pipe`): ``tap`` sees every chunk, ``note``
    takes stderr lines, ``verdict`` says, once it has ended, why its output must not become a
    snapshot (or None)."""

    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    secrets: Sequence[str] = ()
    tap: Callable[[bytes], bytes] | None = None
    note: Callable[[str], bool] | None = None
    verdict: Callable[[Result], str | None] | None = None


class Restic:
    """restic commands against one repository, run and classified."""

    def __init__(self, repo: Repo, features: Features, *, hostname: str | None = None) -> None:
        self.repo = repo
        self.features = features
        self.hostname = hostname or socket.gethostname()
        # what is masked in errors: grows with every command's secrets (see prepare)
        self._secrets = nonempty(repo.password(), *repo.secrets()[0].values())

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
        masks = nonempty(*(r.password() for r in repos), *secret.values())
        self._secrets = nonempty(*self._secrets, *masks)
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

    @contextmanager
    def dump(self, snapshot: str, filename: str) -> Iterator[IO[bytes]]:
        """Stream ``filename`` of ``snapshot`` out of restic: the block reads the yielded stream.

        Leaving the block reads what restic still writes and waits for it; a restic that failed
        raises ResticError, also when the block raised because the stream broke off (restic's
        error says why). A block that raises while restic is well has restic stopped, and its
        own exception goes on.
        """
        cmd = dump_command(self.repo, snapshot, filename)
        reader = self.spawn(cmd)
        err: deque[str] = deque(maxlen=run.PIPE_TAIL)
        drainer = threading.Thread(target=run.drain, args=(reader.stderr, err), daemon=True)
        drainer.start()
        stdout = cast(IO[bytes], reader.stdout)
        try:
            try:
                yield stdout
                while stdout.read(1 << 16):  # what comes after what the block needed
                    pass
                reader.wait(timeout=60)
            except Exception:
                try:  # a restic that failed closes the stream first, then exits
                    reader.wait(timeout=5)
                except run.TimeoutExpired:
                    stop(reader, grace=5)
                    raise
                drainer.join(timeout=10)
                if reader.returncode != 0:
                    raise self.fail(cmd, reader.returncode, "\n".join(err)) from None
                raise
        finally:
            if reader.poll() is None:
                reader.kill()
            reader.wait()
            drainer.join(timeout=10)
            run.close_pipes(reader)
        if reader.returncode != 0:
            raise self.fail(cmd, reader.returncode, "\n".join(err))

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

    def snapshots(
        self, *, host: str | None = None, tags: Sequence[str] = ()
    ) -> list[output.Snapshot]:
        result = self.run(snapshots_command(self.repo, host=host, tags=tags))
        return output.parse_snapshots(result.stdout)

    def forget_ids(self, ids: Sequence[str]) -> None:
        if ids:
            self.run(forget_ids_command(self.repo, ids))

    def forget(self, keep: Keep, *, host: str, tag: str) -> tuple[int, int]:
        cmd = forget_command(self.repo, keep, host=host, tag=tag)
        return output.parse_forget(self.with_stale_locks_removed(cmd).stdout)

    def prune_preview(self, keep: Keep, *, host: str, tag: str) -> tuple[int, int, int]:
        """(kept, removed, bytes freed) that :meth:`forget` would give; changes nothing."""
        cmd = forget_command(self.repo, keep, host=host, tag=tag, dry_run=True)
        out = self.with_stale_locks_removed(cmd).stdout
        return (*output.parse_forget(out), output.parse_prune(out))

    def check(self, subset: str | None) -> Result:
        return self.with_stale_locks_removed(check_command(self.repo, subset))

    def size(self) -> int:
        """The bytes the repository stores (its packs, after deduplication and compression)."""
        return output.parse_stats(self.run(stats_command(self.repo), timeout=LONG).stdout)

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
            restic_would_remove(lock, hostname=self.hostname, now=now, alive=run.pid_alive)
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
        feed: Feed | Source | None = None,
        on_status: Callable[[output.Status], None] | None = None,
    ) -> BackupResult:
        """Run a ``restic backup --json`` command, reporting progress as it goes.

        With ``feed`` (for ``--stdin`` commands) restic reads what ``feed`` writes from another
        thread, or the output of a :class:`Source` command (see :func:`lares.run.pipe`). If the
        feed returns a reason to abort, or the source's verdict does, restic is interrupted
        (SIGINT, then SIGKILL after a grace period) *before* its input is closed: restic saves
        a snapshot only on end of input, so an aborted stream never leaves one. Raises
        :class:`ResticError` when restic fails.
        """
        env, masks = self.prepare(cmd)
        summary: output.Summary | None = None
        errors: list[output.ItemError] = []

        def on_line(line: str) -> None:
            nonlocal summary
            event = output.parse_event(line)
            if isinstance(event, output.Status):
                if on_status is not None:
                    on_status(event)
            elif isinstance(event, output.Summary):
                summary = event
            elif isinstance(event, output.ItemError):
                errors.append(event)

        source = feed if isinstance(feed, Source) else None
        producer = source.argv if source is not None else cast(Feed | None, feed)
        piped = run.pipe(
            producer,
            guard(cmd.argv),
            producer_env=source.env if source is not None else None,
            env=env,
            tap=source.tap if source is not None else None,
            verdict=source.verdict if source is not None else None,
            note=source.note if source is not None else None,
            on_line=on_line,
            stop=stop,
            secrets=(*masks, *(source.secrets if source is not None else ())),
            timeout=LONG,
            what=cmd.what,
            check=False,
        )
        returncode = piped.consumer.returncode
        stderr = piped.consumer.stderr
        reason = piped.aborted or ("restic stopped reading its input" if piped.broken else None)
        # restic that failed on its own (a full disk, a lost server) stops reading its input
        # too: then the repository is to blame, not the feed that found the pipe closed
        failed_alone = returncode not in STOPPED and classify(
            returncode, stderr, self.features
        ) not in (FAILED, INTERRUPTED)
        if reason is not None and not failed_alone and (piped.signalled or returncode in STOPPED):
            return BackupResult(None, tuple(errors), aborted=reason)
        if returncode != 0:
            raise self.fail(cmd, returncode, stderr)
        if summary is None:
            raise self.fail(cmd, 1, stderr or "restic printed no summary")
        return BackupResult(summary, tuple(errors))


#: How a restic that lares interrupted ends: SIGINT handled (130), or killed by a signal.
STOPPED = (130, -signal.SIGINT, -signal.SIGKILL)


def stop(process: Any, grace: float = ABORT_GRACE) -> None:
    """Interrupt a restic (it removes its lock) and wait; kill it if it does not stop."""
    run.interrupt(process, grace)
