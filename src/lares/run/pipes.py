"""Pipes between processes: a producer's stdout into a consumer's stdin, run as one command.

borgmatic's ``execute_command_with_processes`` is the model: the two run together, end
together (both are killed when lares is interrupted, times out or dies) and fail together, with
both stderr tails, masked, in the error. Between them the data passes through Python, which may
digest, inspect or rewrite it, or stop the consumer before it sees the end of its input (how an
incomplete database dump never becomes a restic snapshot).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from lares.errors import CommandError
from lares.run import (
    CHUNK,
    DEFAULT_TIMEOUT,
    PIPE_TAIL,
    Feed,
    Redactor,
    Result,
    _child_env,
    _describe,
    _popen,
    close_pipes,
    drain,
    interrupt,
    log,
    tail,
    write_all,
)


@dataclass(frozen=True)
class Piped:
    """What a finished :func:`pipe` left: each side's exit code and stderr tail, masked (their
    ``stdout`` is empty: the producer's went into the consumer, the consumer's to ``on_line``)."""

    producer: Result | None  # None when a Python feed made the input, or nothing did
    consumer: Result
    aborted: str | None = None  # why the consumer was stopped before its input ended
    signalled: bool = False  # the consumer still ran when it was stopped (else it had ended)
    broken: bool = False  # the consumer stopped reading before the input ended

    @property
    def ok(self) -> bool:
        producer_ok = self.producer is None or self.producer.ok
        return self.aborted is None and not self.broken and producer_ok and self.consumer.ok


@dataclass
class _Flow:
    """What the pump thread of a pipe found, for the thread that waits."""

    aborted: str | None = None
    signalled: bool = False
    broken: bool = False
    timed_out: bool = False


def _start(
    args: tuple[str, ...],
    *,
    stdin: int,
    env: Mapping[str, str] | None,
    hint: str | None,
) -> subprocess.Popen[bytes]:
    process: subprocess.Popen[bytes] = _popen(
        args,
        hint=hint,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_env(env),
    )
    return process


def pipe(
    producer: Sequence[str] | Feed | None,
    consumer: Sequence[str],
    *,
    producer_env: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    tap: Callable[[bytes], bytes] | None = None,
    verdict: Callable[[Result], str | None] | None = None,
    on_line: Callable[[str], None] | None = None,
    note: Callable[[str], bool] | None = None,
    stop: Callable[[subprocess.Popen[bytes]], None] = interrupt,
    secrets: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    what: str | None = None,
    hint: str | None = None,
    check: bool = True,
) -> Piped:
    """Run ``consumer`` with its stdin fed by ``producer``; return when both have ended.

    ``producer`` is a command whose stdout becomes the consumer's stdin, a :data:`Feed` (Python
    that writes the input), or None (no input). Every chunk of a producer's output passes
    through ``tap`` on its way (digest it, inspect it, rewrite it: the consumer gets what ``tap``
    returns); ``tap(b"")`` is called once at the end for what it still holds. The consumer's
    stdout lines go to ``on_line``; each side's stderr is kept (its last :data:`PIPE_TAIL` lines,
    without those ``note`` takes from the producer's) for the result.

    When the producer has ended, ``verdict`` gets its :class:`Result` (exit code and stderr
    tail, masked; no stdout) and may return a reason to
    abort. An aborted consumer (a reason from ``verdict`` or from a feed, or an exception in
    ``tap`` or the feed) is stopped with ``stop`` (SIGINT, then SIGKILL) *before* its input is
    closed, so it never sees a normal end of input (restic saves a snapshot only then). A
    consumer that stops reading gets its producer interrupted. Both are killed together when
    lares is interrupted (any exception here) or times out, and the kernel stops them when
    lares dies (see :func:`_launch`).

    ``secrets`` are masked in what is logged, returned and raised. With ``check`` a failure of
    either side raises :class:`CommandError` with both stderr tails; a timeout always raises.
    Without a producer command, ``env`` is the consumer's and ``producer_env`` is unused.
    """
    redact = Redactor(secrets)
    feed = producer if callable(producer) else None
    p_args = None if producer is None or callable(producer) else tuple(str(a) for a in producer)
    c_args = tuple(str(a) for a in consumer)
    shown = _describe(c_args, redact)
    if p_args is not None:
        shown = f"{_describe(p_args, redact)} | {shown}"
    log.debug("pipe: %s", shown)
    started = time.monotonic()
    p_err: deque[str] = deque(maxlen=PIPE_TAIL)
    c_err: deque[str] = deque(maxlen=PIPE_TAIL)
    flow = _Flow()
    fds: list[int] = list(os.pipe()) if producer is not None else []
    procs: list[subprocess.Popen[bytes]] = []
    threads: list[threading.Thread] = []
    timer: threading.Timer | None = None
    source: subprocess.Popen[bytes] | None = None

    def kill_all() -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()

    def expire() -> None:
        flow.timed_out = True
        kill_all()

    def judge(code: int) -> str | None:
        assert verdict is not None and p_args is not None
        threads[0].join(timeout=10)  # the producer's stderr, to its end
        made = Result(p_args, code, "", redact("\n".join(p_err)), time.monotonic() - started)
        return verdict(made)

    try:
        if p_args is not None:
            source = _start(p_args, stdin=subprocess.DEVNULL, env=producer_env, hint=hint)
            procs.append(source)
            threads.append(_thread(drain, source.stderr, p_err, note or (lambda line: False)))
        sink = _start(c_args, stdin=fds[0] if fds else subprocess.DEVNULL, env=env, hint=hint)
        procs.append(sink)
        threads.append(_thread(drain, sink.stderr, c_err))
        fds_used = bool(fds)
        if fds:
            os.close(fds.pop(0))  # the consumer holds it now: EPIPE must reach the pump
            write_fd = fds.pop()
            threads.append(
                _thread(_pump, source, feed, write_fd, tap, verdict and judge, sink, stop, flow)
            )
        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        for thread in threads:
            thread.start()
        assert sink.stdout is not None
        for raw in sink.stdout:
            if on_line is not None:
                on_line(raw.decode("utf-8", "replace").rstrip("\n"))
        sink.wait()
        pump = threads[-1] if fds_used else None
        if pump is not None:
            # a producer that outlives its consumer has 30 s to notice before it is killed
            pump.join(timeout=30 if source is not None else None)
        if source is not None and source.poll() is None:
            source.kill()
        for thread in threads:
            thread.join(timeout=30)
    except BaseException:
        kill_all()
        raise
    finally:
        if timer is not None:
            timer.cancel()
        for fd in fds:
            os.close(fd)
        for proc in procs:
            proc.wait()
            close_pipes(proc)
    duration = time.monotonic() - started
    log.debug("done: %s → exit %s in %.2f s", shown, sink.returncode, duration)
    made = None
    if source is not None and p_args is not None:
        made = Result(p_args, source.returncode, "", redact("\n".join(p_err)), duration)
    piped = Piped(
        made,
        Result(c_args, sink.returncode, "", redact("\n".join(c_err)), duration),
        aborted=None if flow.aborted is None else redact(flow.aborted),
        signalled=flow.signalled,
        broken=flow.broken,
    )
    if flow.timed_out:
        raise CommandError(
            f"{what or shown} did not finish within {timeout:g} s and was stopped",
            argv=tuple(redact(a) for a in c_args),
            stderr_tail=_tails(piped),
            hint=hint,
        )
    if check and not piped.ok:
        code = piped.consumer.returncode or (made.returncode if made else 0)
        why = f"{piped.aborted}" if piped.aborted else f"exit code {code}"
        raise CommandError(
            f"{what or shown} failed ({why})",
            argv=tuple(redact(a) for a in c_args),
            returncode=code,
            stderr_tail=_tails(piped),
            hint=hint,
        )
    return piped


def _tails(piped: Piped) -> str:
    """Both stderr tails of a pipe, each under the program it came from."""
    sides = [piped.producer, piped.consumer]
    parts = [
        f"{os.path.basename(side.argv[0])}: exit {side.returncode}\n{tail(side.stderr)}".rstrip()
        for side in sides
        if side is not None
    ]
    return "\n".join(parts)


def _thread(target: Callable[..., None], *args: object) -> threading.Thread:
    return threading.Thread(target=target, args=args, daemon=True)


def _pump(
    source: subprocess.Popen[bytes] | None,
    feed: Feed | None,
    write_fd: int,
    tap: Callable[[bytes], bytes] | None,
    verdict: Callable[[int], str | None] | None,
    sink: subprocess.Popen[bytes],
    stop: Callable[[subprocess.Popen[bytes]], None],
    flow: _Flow,
) -> None:
    """Move the producer's output into the consumer; stop the consumer when it must not see
    the end of its input; close that input last."""
    try:
        reason: str | None = None
        try:
            if feed is not None:
                reason = feed(write_fd)
            elif source is not None and source.stdout is not None:
                out = source.stdout
                while chunk := out.read1(CHUNK):  # type: ignore[attr-defined]
                    write_all(write_fd, tap(chunk) if tap else chunk)
                if tap is not None and (rest := tap(b"")):
                    write_all(write_fd, rest)
                code = source.wait()
                reason = verdict(code) if verdict is not None else None
        except BaseException as exc:  # the input must never end normally after a failure
            if isinstance(exc, BrokenPipeError) and source is not None:
                flow.broken = True  # the consumer died: its exit code says why
                interrupt(source, grace=5)
                return
            reason = f"{type(exc).__name__}: {exc}"
        if reason is not None:
            flow.aborted = reason
            flow.signalled = sink.poll() is None
            stop(sink)
            if source is not None and source.poll() is None:
                interrupt(source, grace=5)
    finally:
        os.close(write_fd)
