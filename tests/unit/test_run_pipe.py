"""run.pipe against real processes: data flows through, both sides end together, both stderr
tails reach the error, secrets are masked, an aborted consumer never sees the end of its input."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lares import run
from lares.errors import CommandError

SH = "sh"


def _pid(path: Path, wait: float = 10.0) -> int:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if text.strip():
            return int(text)
        time.sleep(0.02)
    raise AssertionError(f"{path} was never written")


def _gone(pid: int, wait: float = 10.0) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not run.pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_the_producers_output_reaches_the_consumer_through_the_tap() -> None:
    seen = hashlib.sha256()
    lines: list[str] = []

    def tap(chunk: bytes) -> bytes:
        seen.update(chunk)
        return chunk.upper()

    piped = run.pipe(
        ["printf", "one\\ntwo\\n"], ["cat"], tap=tap, on_line=lines.append, what="copy"
    )
    assert piped.ok
    assert lines == ["ONE", "TWO"]
    assert seen.hexdigest() == hashlib.sha256(b"one\ntwo\n").hexdigest()
    assert piped.producer is not None and piped.producer.returncode == 0


def test_a_failure_names_both_stderr_tails() -> None:
    producer = [SH, "-c", "echo producer went wrong >&2; exit 3"]
    consumer = [SH, "-c", "cat >/dev/null; echo consumer went wrong >&2; exit 4"]
    with pytest.raises(CommandError) as caught:
        run.pipe(producer, consumer, what="move the data")
    err = caught.value
    assert err.message.startswith("move the data failed (exit code 4)")
    assert "producer went wrong" in (err.stderr_tail or "")
    assert "consumer went wrong" in (err.stderr_tail or "")
    piped = run.pipe(producer, consumer, check=False)
    assert piped.producer is not None and piped.producer.returncode == 3
    assert piped.consumer.returncode == 4
    assert "producer went wrong" in piped.producer.stderr
    assert "consumer went wrong" in piped.consumer.stderr


def test_a_secret_is_masked_in_the_error_and_the_result() -> None:
    secret = "hunter2-very-secret"
    consumer = [SH, "-c", f"cat >/dev/null; echo 'login with {secret} refused' >&2; exit 1"]
    producer = [SH, "-c", f"echo 'using {secret}' >&2"]
    with pytest.raises(CommandError) as caught:
        run.pipe(producer, consumer, secrets=[secret])
    shown = f"{caught.value.message}\n{caught.value.stderr_tail}\n{caught.value.argv}"
    assert secret not in shown
    assert run.MASK in shown
    piped = run.pipe(producer, consumer, secrets=[secret], check=False)
    assert secret not in piped.consumer.stderr + piped.producer.stderr  # type: ignore[union-attr]


def test_a_consumer_that_stops_reading_takes_the_producer_with_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "producer.pid"
    producer = [SH, "-c", f"echo $$ > {pid_file}; exec yes"]
    piped = run.pipe(producer, ["head", "-c", "10"], check=False, timeout=60)
    assert piped.broken
    assert not piped.ok
    assert _gone(_pid(pid_file))


def test_an_interrupted_lares_kills_both(tmp_path: Path) -> None:
    p_file, c_file = tmp_path / "producer.pid", tmp_path / "consumer.pid"
    producer = [SH, "-c", f"echo $$ > {p_file}; echo started; exec sleep 60"]
    consumer = [SH, "-c", f"echo $$ > {c_file}; exec cat"]

    def on_line(line: str) -> None:
        raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run.pipe(producer, consumer, on_line=on_line, timeout=60)
    assert time.monotonic() - started < 30
    assert _gone(_pid(p_file))
    assert _gone(_pid(c_file))


@pytest.mark.skipif(run.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_a_killed_lares_takes_both_with_it(tmp_path: Path) -> None:
    p_file, c_file = tmp_path / "producer.pid", tmp_path / "consumer.pid"
    script = textwrap.dedent(
        f"""
        from lares import run
        run.pipe(
            ["sh", "-c", "echo $$ > {p_file}; exec sleep 60"],
            ["sh", "-c", "echo $$ > {c_file}; exec sleep 60"],
            timeout=120,
        )
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    lares = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        producer, consumer = _pid(p_file), _pid(c_file)
        lares.send_signal(signal.SIGKILL)
        lares.wait()
        assert _gone(producer)
        assert _gone(consumer)
    finally:
        if lares.poll() is None:
            lares.kill()
            lares.wait()


def test_an_aborted_consumer_never_sees_the_end_of_its_input() -> None:
    consumer = [
        sys.executable,
        "-c",
        "import sys, time\n"
        "print('ready', flush=True)\n"
        "data = sys.stdin.buffer.read()\n"
        "print('saw the end after', len(data), flush=True)\n",
    ]
    lines: list[str] = []
    piped = run.pipe(
        [SH, "-c", "printf data; echo cut short >&2; sleep 0.5; exit 2"],
        consumer,
        verdict=lambda made: (
            f"the dump failed with exit code {made.returncode}: {made.stderr}"
            if made.returncode
            else None
        ),
        on_line=lines.append,
        check=False,
        timeout=60,
    )
    assert piped.aborted == "the dump failed with exit code 2: cut short"
    assert piped.signalled
    assert not any(line.startswith("saw the end") for line in lines)
    assert not piped.ok


def test_a_feed_writes_the_input_and_may_abort() -> None:
    lines: list[str] = []

    def feed(fd: int) -> str | None:
        run.write_all(fd, b"from python\n")
        return None

    assert run.pipe(feed, ["cat"], on_line=lines.append).ok
    assert lines == ["from python"]

    def failing(fd: int) -> str | None:
        raise OSError("disk gone")

    piped = run.pipe(failing, ["sleep", "30"], check=False, timeout=60)
    assert piped.aborted == "OSError: disk gone"


def test_a_pipe_that_takes_too_long_is_stopped() -> None:
    started = time.monotonic()
    with pytest.raises(CommandError) as caught:
        run.pipe(["sleep", "30"], ["sleep", "30"], timeout=0.5, what="wait")
    assert "did not finish within 0.5 s" in caught.value.message
    assert time.monotonic() - started < 10
