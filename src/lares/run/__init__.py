"""The one way lares runs a process.

Every external command goes through this package (here, and :mod:`lares.run.pipes` for a
producer piped into a consumer); it is the only one that imports ``subprocess``. Commands are
argument tuples (never a shell string), each has a timeout, each is logged before it runs and
with its duration after, and every value passed in ``secrets`` is masked in what is logged or
raised. Secrets travel to a child by environment, stdin or a 0600 file, never by argv.

A failed command raises :class:`~lares.errors.CommandError`, which names the command, its exit
code and the last lines of its stderr.

Children do not outlive lares. Each is asked by the kernel to stop (``PR_SET_PDEATHSIG``
through ``setpriv``, SIGTERM) when lares dies, even by SIGKILL. A command run to completion
gets its own process group, so an interrupted lares (Ctrl-C, SIGTERM) stops the whole group —
``docker compose`` and the plugin binary it starts — and waits for it. And every child inherits
the state lock's file descriptor (see :func:`inherited`): the ``flock`` stays held until the
last process that could still change something is gone, so a new lares waits for it instead of
racing it.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from lares.errors import CommandError, ToolMissing

log = logging.getLogger("lares.run")

DEFAULT_TIMEOUT = 600.0
TAIL_LINES = 15
MASK = "******"
STOP_GRACE = 10.0  # seconds an interrupted child's group has between SIGTERM and SIGKILL
_INHERITED: set[int] = set()


@cache
def _setpriv() -> str | None:
    return shutil.which("setpriv")


def _launch(args: tuple[str, ...]) -> tuple[str, ...]:
    """``args`` started so that the kernel sends it SIGTERM when lares dies (``setpriv
    --pdeathsig``; the flag survives exec). Not a ``preexec_fn``: that is unsafe in a process
    with threads, which the backup runner has. A missing program raises ToolMissing as if it
    had been started directly."""
    setpriv = _setpriv()
    if setpriv is None or args[0] in ("setpriv", setpriv):
        return args
    if shutil.which(args[0]) is None:
        raise FileNotFoundError(args[0])
    return (setpriv, "--pdeathsig", "TERM", "--", *args)


def _popen(args: tuple[str, ...], *, hint: str | None = None, **options: Any) -> Any:
    """Start ``args`` as every child of lares starts (see :func:`_launch` and
    :func:`inherited`); a missing program raises :class:`ToolMissing` with ``hint``."""
    try:
        return subprocess.Popen(_launch(args), pass_fds=tuple(_INHERITED), **options)
    except FileNotFoundError as exc:
        raise ToolMissing(
            f"{args[0]} is not installed or not on PATH",
            hint=hint or f"install {os.path.basename(args[0])} and try again",
        ) from exc


@contextmanager
def inherited(fd: int) -> Iterator[None]:
    """Pass ``fd`` to every child started inside the block (the state lock, so that it stays
    held while a child lives on)."""
    _INHERITED.add(fd)
    try:
        yield
    finally:
        _INHERITED.discard(fd)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a child started in its own process group, and everything it started; wait for it."""
    for sig, wait in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


@dataclass(frozen=True)
class Result:
    """What a finished command left: its argv, exit code, output and duration in seconds."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class Redactor:
    """Masks secret values in text; empty and very short values are ignored."""

    secrets: Sequence[str] = field(default_factory=tuple)

    def __call__(self, text: str) -> str:
        for value in sorted({s for s in self.secrets if s and len(s) >= 4}, key=len, reverse=True):
            text = text.replace(value, MASK)
        return text


def which(program: str) -> str | None:
    """The full path of ``program`` on PATH, or None."""
    return shutil.which(program)


def require(program: str, *, hint: str) -> str:
    """The full path of ``program``; raises :class:`ToolMissing` with ``hint`` when absent."""
    path = which(program)
    if path is None:
        raise ToolMissing(f"{program} is not installed or not on PATH", hint=hint)
    return path


def _describe(argv: Sequence[str], redact: Redactor) -> str:
    return redact(" ".join(argv))


def tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` non-empty lines of ``text``."""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def _child_env(env: Mapping[str, str] | None) -> dict[str, str] | None:
    if env is None:
        return None
    merged = dict(os.environ)
    merged.update(env)
    return merged


def run(
    argv: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    input: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    check: bool = True,
    secrets: Sequence[str] = (),
    what: str | None = None,
    hint: str | None = None,
) -> Result:
    """Run ``argv`` to completion and return its :class:`Result`.

    ``env`` is added to the current environment. ``input`` is written to stdin. With ``check``
    (the default) a non-zero exit raises :class:`CommandError`; ``what`` names the action in that
    error ("create the network media") and ``hint`` says what to do. A missing program raises
    :class:`ToolMissing`; a timeout raises :class:`CommandError` after killing the process.
    """
    args = tuple(str(a) for a in argv)
    redact = Redactor(secrets)
    shown = _describe(args, redact)
    log.debug("run: %s", shown)
    started = time.monotonic()
    child: subprocess.Popen[bytes] = _popen(
        args,
        hint=hint,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_env(env),
        cwd=cwd,
        process_group=0,
    )
    try:
        out, err_bytes = child.communicate(
            input.encode() if isinstance(input, str) else input, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        _stop_group(child)
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        raise CommandError(
            f"{what or shown} did not finish within {timeout:g} s and was stopped",
            argv=tuple(redact(a) for a in args),
            stderr_tail=redact(tail(err)),
            hint=hint,
        ) from exc
    except BaseException:
        _stop_group(child)
        raise
    duration = time.monotonic() - started
    stdout = out.decode(errors="replace")
    stderr = err_bytes.decode(errors="replace")
    log.debug("done: %s → exit %s in %.2f s", shown, child.returncode, duration)
    result = Result(args, child.returncode, stdout, stderr, duration)
    if check and child.returncode != 0:
        raise failure(result, redact=redact, what=what, hint=hint)
    return result


def failure(
    result: Result,
    *,
    redact: Redactor | None = None,
    what: str | None = None,
    hint: str | None = None,
) -> CommandError:
    """The :class:`CommandError` for a finished command that failed."""
    redact = redact or Redactor()
    shown = _describe(result.argv, redact)
    err = tail(result.stderr) or tail(result.stdout)
    return CommandError(
        f"{what or shown} failed with exit code {result.returncode}"
        + (f" ({shown})" if what else ""),
        argv=tuple(redact(a) for a in result.argv),
        returncode=result.returncode,
        stderr_tail=redact(err),
        hint=hint,
    )


@dataclass
class Stream:
    """A running command whose stdout is read line by line (see :func:`stream`)."""

    process: subprocess.Popen[str]
    argv: tuple[str, ...]
    redact: Redactor
    started: float

    def lines(self) -> Iterator[str]:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            yield line.rstrip("\n")

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()


@contextmanager
def stream(
    argv: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdin: int | None = None,
    secrets: Sequence[str] = (),
    what: str | None = None,
    hint: str | None = None,
    check: bool = True,
) -> Iterator[Stream]:
    """Start ``argv`` and yield a :class:`Stream` to read its stdout lines as they come.

    ``stdin`` may be a file descriptor to read from (the read end of another command's pipe).
    On leaving the block the process is waited for (killed after ``timeout``); a non-zero exit
    raises :class:`CommandError` when ``check`` is set. stderr is collected for that error.
    """
    args = tuple(str(a) for a in argv)
    redact = Redactor(secrets)
    log.debug("stream: %s", _describe(args, redact))
    proc: subprocess.Popen[str] = _popen(
        args,
        hint=hint,
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_env(env),
        cwd=cwd,
        text=True,
        errors="replace",
    )
    handle = Stream(proc, args, redact, time.monotonic())
    try:
        yield handle
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
    duration = time.monotonic() - handle.started
    log.debug("done: %s → exit %s in %.2f s", _describe(args, redact), proc.returncode, duration)
    if check and proc.returncode != 0:
        raise failure(
            Result(args, proc.returncode, "", stderr or "", duration),
            redact=redact,
            what=what,
            hint=hint,
        )


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdout: int | None = None,
    stderr: int | None = None,
    secrets: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in the background and return the process (for pipelines and servers).

    ``stdout`` defaults to a pipe, so the process can feed another command's stdin.
    """
    args = tuple(str(a) for a in argv)
    log.debug("spawn: %s", _describe(args, Redactor(secrets)))
    process: subprocess.Popen[bytes] = _popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE if stderr is None else stderr,
        env=_child_env(env),
    )
    return process


# ── processes started in the background, and pipes between them ───────────────────────────

CHUNK = 1 << 20  # bytes a pipe moves at once
PIPE_TAIL = 200  # stderr lines of each side of a pipe kept for its error
INTERRUPT_GRACE = 30.0  # seconds an interrupted child gets to clean up before SIGKILL

#: Given the write end of a consumer's stdin, a feed writes the data and returns None to let the
#: consumer see the end of its input, or a reason to abort it (the consumer is stopped first).
#: It must not close the descriptor.
Feed = Callable[[int], "str | None"]


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


def interrupt(process: subprocess.Popen[bytes], grace: float = INTERRUPT_GRACE) -> None:
    """Interrupt ``process`` (SIGINT: restic removes its lock) and wait; kill it after ``grace``.

    SIGINT is repeated every two seconds: one that lands while the program is still starting,
    before it handles the signal, may be lost (a background shell starts it ignored).
    """
    deadline = time.monotonic() + grace
    while process.poll() is None and time.monotonic() < deadline:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            continue
    if process.poll() is None:
        process.kill()
        process.wait()


def close_pipes(process: subprocess.Popen[bytes]) -> None:
    """Close what lares holds of a finished process's pipes."""
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def drain(
    lines: Iterable[bytes] | Iterable[str] | None,
    into: deque[str],
    note: Callable[[str], bool] = lambda line: False,
) -> None:
    """Keep the tail of ``lines`` (a process's stderr, bytes or text) in ``into``, but for the
    lines ``note`` takes."""
    if lines is None:
        return
    for raw in lines:
        line = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw).rstrip("\n")
        if not note(line):
            into.append(line)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte of ``data`` to ``fd`` (raises BrokenPipeError when the reader died)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


PIPE = subprocess.PIPE
DEVNULL = subprocess.DEVNULL
TimeoutExpired = subprocess.TimeoutExpired

from lares.run.pipes import Piped, pipe  # noqa: E402 - it builds on what is above

__all__ = [
    "CHUNK",
    "DEVNULL",
    "PIPE",
    "Feed",
    "Piped",
    "Redactor",
    "Result",
    "Stream",
    "TimeoutExpired",
    "close_pipes",
    "drain",
    "failure",
    "inherited",
    "interrupt",
    "pid_alive",
    "pipe",
    "require",
    "run",
    "spawn",
    "stream",
    "tail",
    "which",
    "write_all",
]
