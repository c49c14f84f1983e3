"""`lares doctor`: does this machine have what the blueprint asks for?

Each check is one module in :mod:`lares.host.checks` that defines ``ID``, ``DESCRIPTION`` and
``check(ctx) -> Iterable[Finding]``. A check reads the machine only through the context's
:class:`Probe` (files, commands, paths), and keeps its parsing in pure functions that the unit
tests feed recorded output. Every finding says what was found and, when something is wrong or
unknown, what to do about it. A check that cannot tell says so (status ``unknown``) rather than
guess.
"""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from lares.catalog.resolve import System
from lares.errors import LaresError, UnknownCheck
from lares.plain import Plain
from lares.severity import DoctorStatus, rank, render_finding


@dataclass(frozen=True)
class Finding(Plain):
    """What one check found about the machine."""

    check: str
    status: DoctorStatus
    message: str
    hint: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        return render_finding(self.status, self.check, self.message, hint=self.hint)


@dataclass(frozen=True)
class Output:
    """A finished command: exit code and output (``returncode`` 127 when it is missing)."""

    returncode: int
    stdout: str
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Probe:
    """How checks read the machine. Tests replace it with recorded answers."""

    def read(self, path: str) -> str | None:
        """The text of ``path``, or None when it cannot be read."""
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except OSError:
            return None

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def glob(self, pattern: str) -> list[str]:
        return sorted(glob.glob(pattern))

    def run(self, argv: Sequence[str], timeout: float = 10) -> Output:
        """Run a command (through :mod:`lares.run`); a missing program gives exit code 127."""
        from lares import run

        try:
            result = run.run(argv, timeout=timeout, check=False)
        except LaresError as exc:
            return Output(127, "", str(exc))
        return Output(result.returncode, result.stdout, result.stderr)

    def disk_usage(self, path: str) -> tuple[int, int] | None:
        """(total, free) bytes of the filesystem holding ``path``, or None."""
        try:
            usage = shutil.disk_usage(path)
        except OSError:
            return None
        return usage.total, usage.free

    def listening(self) -> list[tuple[str, str, int]] | None:
        """(proto, address, port) of every listening socket, or None when unreadable."""
        import psutil

        try:
            conns = psutil.net_connections(kind="inet")
        except (psutil.AccessDenied, OSError):
            return None
        found = []
        for c in conns:
            if not c.laddr:
                continue
            if c.type == 1 and c.status == psutil.CONN_LISTEN:  # SOCK_STREAM
                found.append(("tcp", c.laddr.ip, c.laddr.port))
            elif c.type == 2 and not c.raddr:  # SOCK_DGRAM, not connected
                found.append(("udp", c.laddr.ip, c.laddr.port))
        return found

    def resolve(self, names: Sequence[str], timeout: float = 3.0) -> dict[str, list[str] | None]:
        """Each name's IPv4 addresses ([] when it does not resolve, None when it timed out)."""
        import socket
        import threading

        results: dict[str, list[str] | None] = {n: None for n in names}

        def one(name: str) -> None:
            try:
                infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
                results[name] = sorted({str(i[4][0]) for i in infos})
            except OSError:
                results[name] = []

        # The resolver has no timeout of its own: daemon threads let a slow lookup be abandoned.
        threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout)
        return dict(results)


@dataclass(frozen=True)
class DoctorContext:
    system: System
    probe: Probe

    def finding(
        self,
        check: str,
        status: DoctorStatus,
        message: str,
        hint: str | None = None,
        /,
        **data: Any,
    ) -> Finding:
        return Finding(check, status, message, hint if status != "ok" else None, data)

    def sockets_unknown(self, check: str) -> Finding:
        """What a check that needs the listening sockets says when it cannot list them."""
        return self.finding(
            check, "unknown", "cannot list listening sockets", "run lares doctor as root"
        )


class Check(Protocol):
    ID: str
    DESCRIPTION: str

    def check(self, ctx: DoctorContext) -> Iterable[Finding]: ...


def discover() -> dict[str, Check]:
    """Every check module in :mod:`lares.host.checks`, by ID (its module name)."""
    from lares import plugins

    found = plugins.by_id("lares.host.checks", "doctor checks")
    return {ident: cast(Check, module) for ident, module in found.items()}


def selected(only: Iterable[str] = ()) -> dict[str, Check]:
    """The checks named in ``only`` (all when it is empty), by ID.

    Raises :class:`~lares.errors.UnknownCheck` (a usage error) when it names one that does not
    exist, as `lares plan --check` does.
    """
    checks = discover()
    wanted = set(only)
    unknown = wanted - set(checks)
    if unknown:
        raise UnknownCheck(unknown, checks, kind="doctor check")
    return {k: v for k, v in checks.items() if not wanted or k in wanted}


def doctor(
    system: System, *, probe: Probe | None = None, only: Iterable[str] = ()
) -> list[Finding]:
    """Run the checks (all, or those in ``only``) and return their findings, worst first.

    Raises :class:`~lares.errors.UnknownCheck` when ``only`` names a check that does not exist.
    """
    ctx = DoctorContext(system, probe or Probe())
    findings: list[Finding] = []
    for check in selected(only).values():
        findings.extend(check.check(ctx))
    return sorted(findings, key=lambda f: (rank(f.status), f.check))
