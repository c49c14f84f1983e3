"""What the labs of the integration tests share: ``lares`` run as a person types it against one
blueprint and state folder, a free loopback port, ending a process, and Caddy running a
rendered Caddyfile.

:mod:`integration.backup_helpers` (``Lab``), :mod:`weblab.lab` (``WebLab``) and
``test_access_caddy`` use these; a process they start in the background ends with the test
process (:func:`die_with_parent`), so a killed run leaves no server behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LARES = [sys.executable, "-m", "lares"]
PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started it dies (Linux)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def stop(proc: subprocess.Popen[Any], *, timeout: float = 15) -> None:
    """End a process started for a test: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def lares_argv(blueprint: Path, state: Path, *args: str) -> list[str]:
    """``lares ARGS -f blueprint --state-dir state``."""
    return [*LARES, *args, "-f", str(blueprint), "--state-dir", str(state)]


def lares_env(state: Path) -> dict[str, str]:
    """The environment lares runs in: its log goes to the test's state folder, and a wide
    terminal keeps tables from wrapping."""
    return {**os.environ, "LARES_STATE_DIR": str(state), "COLUMNS": "200"}


def run_lares(
    blueprint: Path,
    state: Path,
    *args: str,
    outputs: list[str],
    input: str | None = None,
    timeout: float = 240,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``lares ARGS`` on ``blueprint`` and ``state`` (``input`` on its stdin) and add what
    it printed to ``outputs``; with ``check``, raise with its output when it fails."""
    proc = subprocess.run(
        lares_argv(blueprint, state, *args),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=lares_env(state),
    )
    outputs += [proc.stdout, proc.stderr]
    if check and proc.returncode != 0:
        raise AssertionError(
            f"lares {' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


@contextmanager
def running_caddy(config: Path, home: Path) -> Iterator[Path]:
    """Caddy running ``config`` with its data under ``home`` (log: ``home/caddy.log``); yields
    the path of its internal CA's root certificate once it exists, stops Caddy on the way out."""
    from lares.render.proxy import ROOT_CERT

    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data")}
    env["XDG_CONFIG_HOME"] = str(home / "config")
    with (home / "caddy.log").open("w") as log:
        caddy = subprocess.Popen(
            ["caddy", "run", "--config", str(config), "--adapter", "caddyfile"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        try:
            root = home / "data" / ROOT_CERT
            deadline = time.monotonic() + 30
            while not root.exists():
                assert caddy.poll() is None, (home / "caddy.log").read_text()
                assert time.monotonic() < deadline, "Caddy made no root certificate in 30 s"
                time.sleep(0.2)
            yield root
        finally:
            stop(caddy, timeout=10)
