"""A database dump streamed out of restic into a database (the drill's throwaway one, or the
app's own for ``--into-db`` and ``lares recover``): digested and inspected on its way,
rewritten line by line when the hook says so, never written to disk in plain text."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lares import run
from lares.backup.command import Command, run_command
from lares.backup.restic import Restic, Snapshot, dump_command, guard
from lares.errors import LaresError


def wait_ready(cmd: Command, *, seconds: float, error: Callable[[], LaresError]) -> None:
    """Run ``cmd`` every half second until it succeeds; raise ``error()`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        result = run_command(cmd, check=False, timeout=30)
        if result.ok:
            return
        if time.monotonic() > deadline:
            raise error()
        time.sleep(0.5)


@dataclass(frozen=True)
class Restored:
    """A dump streamed out of restic: the SHA-256 and size of what restic gave, and the facts
    its hook read from it."""

    sha256: str
    size: int
    facts: Any


class _Lines:
    """Applies a line rewrite to a byte stream cut anywhere (see :class:`hooks.Load`); called
    with ``b""`` at the end, it gives what it still holds."""

    def __init__(self, rewrite: Callable[[bytes], bytes]) -> None:
        self.rewrite = rewrite
        self.rest = b""

    def __call__(self, chunk: bytes) -> bytes:
        return self.feed(chunk) if chunk else self.flush()

    def feed(self, chunk: bytes) -> bytes:
        *lines, self.rest = (self.rest + chunk).split(b"\n")
        return b"".join(self.rewrite(line) + b"\n" for line in lines)

    def flush(self) -> bytes:
        rest, self.rest = self.rest, b""
        return self.rewrite(rest) if rest else b""


def restore_dump(
    restic: Restic,
    snap: Snapshot,
    filename: str,
    restore: Command,
    hook: Any,
    *,
    env: Mapping[str, str] | None = None,
    secrets: Sequence[str] = (),
    rewrite: Callable[[bytes], bytes] | None = None,
) -> Restored:
    """Stream ``filename`` of ``snap`` into ``restore``; return its SHA-256, size and facts.

    ``env`` and ``secrets`` are the restore's environment and the values to mask in what it
    says; ``rewrite`` changes the dump line by line on its way (the digest is of the dump as
    stored). Raises ResticError when restic cannot read the dump, LaresError when the restore
    fails.
    """
    source = dump_command(restic.repo, snap.id, filename)
    lines = _Lines(rewrite) if rewrite is not None else None
    digest = hashlib.sha256()
    inspector = hook.inspector()
    size = 0

    def tap(chunk: bytes) -> bytes:
        nonlocal size
        size += len(chunk)
        digest.update(chunk)
        inspector.feed(chunk)
        return lines(chunk) if lines is not None else chunk

    reader_env, masks = restic.prepare(source)
    piped = run.pipe(
        guard(source.argv),
        restore.argv,
        producer_env=reader_env,
        env=env,
        tap=tap,
        secrets=(*masks, *secrets),
        check=False,
        timeout=3600,
        what=restore.what,
    )
    assert piped.producer is not None
    if piped.producer.returncode != 0:
        raise restic.fail(source, piped.producer.returncode, piped.producer.stderr)
    restore_code = piped.consumer.returncode
    if restore_code != 0 or piped.aborted is not None:
        raise LaresError(
            f"restoring the dump of snapshot {snap.short_id} failed with exit code {restore_code}",
            hint=piped.aborted or run.tail(piped.consumer.stderr, 5) or None,
            code="drill",
        )
    return Restored(digest.hexdigest(), size, inspector.facts())
