"""What the labs of the integration tests share: ``lares`` run as a person types it
(:func:`lares_process`, the one way an integration test runs it; :func:`run_lares` against one
blueprint and state folder), a free loopback port, ending a process, and Caddy running a
rendered Caddyfile.

The labs (:mod:`integration.backup_helpers`, :mod:`integration.deploy_lab`,
:mod:`weblab.lab`, the Swarm, update and recovery labs) and the tests that run lares use these;
a process they start in the background ends with the test process (:func:`die_with_parent`),
so a killed run leaves no server behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
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


def lab_args(blueprint: Path, state: Path, *args: str) -> list[str]:
    """``ARGS -f blueprint --state-dir state``."""
    return [*args, "-f", str(blueprint), "--state-dir", str(state)]


def lares_argv(blueprint: Path, state: Path, *args: str) -> list[str]:
    """``lares ARGS -f blueprint --state-dir state``."""
    return [*LARES, *lab_args(blueprint, state, *args)]


def lares_env(state: Path) -> dict[str, str]:
    """The environment lares runs in: its log goes to the test's state folder, and a wide
    terminal keeps tables from wrapping."""
    return {**os.environ, "LARES_STATE_DIR": str(state), "COLUMNS": "200"}


def lares_process(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input: str | None = None,
    timeout: float = 240,
    check: bool = False,
    outputs: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``lares ARGS`` as a person types it: ``input`` on its stdin, ``env`` its whole
    environment (default: this process's). What it printed is added to ``outputs``; with
    ``check``, a failure raises with its output (:func:`check_exit`)."""
    proc = subprocess.run(
        [*LARES, *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
        cwd=cwd,
    )
    if outputs is not None:
        outputs += [proc.stdout, proc.stderr]
    if check:
        check_exit(proc, args)
    return proc


def check_exit(proc: subprocess.CompletedProcess[str], args: Sequence[str]) -> None:
    """Raise with what ``lares ARGS`` printed when it exited non-zero."""
    if proc.returncode != 0:
        raise AssertionError(
            f"lares {' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )


def run_lares(
    blueprint: Path,
    state: Path,
    *args: str,
    outputs: list[str],
    input: str | None = None,
    timeout: float = 240,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``lares ARGS -f blueprint --state-dir state`` in :func:`lares_env` (see
    :func:`lares_process`)."""
    return lares_process(
        *lab_args(blueprint, state, *args),
        env=lares_env(state),
        input=input,
        timeout=timeout,
        check=check,
        outputs=outputs,
    )


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
