"""Real peers for remote repositories, on 127.0.0.1: an S3 server that checks credentials
(moto, see ``moto_s3.py``) and OpenSSH's sshd serving SFTP. Each runs as a process of the test,
on a free port chosen when it starts, and is stopped when its context ends, pass or fail.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from integration.lares_lab import stop

MOTO_S3 = Path(__file__).resolve().parent / "moto_s3.py"
SSHD = "/usr/sbin/sshd"  # sshd re-executes itself: it must be started by absolute path
STARTUP = 60.0


# ── S3 ────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT
    access_key_id: str
    secret_access_key: str

    def url(self, bucket: str) -> str:
        """The restic repository URL of ``bucket`` (restic creates the bucket on init)."""
        return f"s3:{self.endpoint}/{bucket}"


@contextmanager
def s3_server(workdir: Path) -> Iterator[S3Server]:
    """moto's S3 server with authentication on; its log is ``workdir/moto.log``."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "moto.log"
    with open(log, "w", encoding="utf-8") as err:
        proc = subprocess.Popen(
            [sys.executable, str(MOTO_S3)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], STARTUP)
        line = proc.stdout.readline() if ready else ""
        if not line:
            raise AssertionError(f"the S3 server did not start:\n{log.read_text()}")
        info = json.loads(line)
        yield S3Server(
            f"http://127.0.0.1:{info['port']}", info["access_key_id"], info["secret_access_key"]
        )
    finally:
        if proc.stdin is not None and proc.poll() is None:
            proc.stdin.close()  # the server stops at the end of its input
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
        stop(proc)
        if proc.stdout is not None:
            proc.stdout.close()


# ── SFTP ──────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SshServer:
    port: int
    root: Path  # the server's files: keys, config, log
    key: Path  # the client key root may log in with
    known_hosts: Path  # the server's host key, pinned for 127.0.0.1:port
    log: Path

    def sftp_command(self, key: Path | None = None) -> str:
        """restic's ``sftp.command``: ssh to this server as root, with nothing from ~/.ssh."""
        return (
            f"ssh -F /dev/null -p {self.port} -i {key or self.key} -o IdentitiesOnly=yes "
            f"-o BatchMode=yes -o UserKnownHostsFile={self.known_hosts} "
            "-o StrictHostKeyChecking=yes root@127.0.0.1 -s sftp"
        )


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lares-test", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SSHD_CONFIG = """\
ListenAddress 127.0.0.1
Port {port}
HostKey {root}/host_key
PidFile {root}/sshd.pid
AuthorizedKeysFile {root}/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
Subsystem sftp internal-sftp
LogLevel VERBOSE
"""


@contextmanager
def sshd(root: Path) -> Iterator[SshServer]:
    """OpenSSH's sshd on 127.0.0.1 with its own host key, config and authorized key, logging to
    ``root/sshd.log``; stopped when the context ends."""
    root.mkdir(parents=True, exist_ok=True)
    _keygen(root / "host_key")
    _keygen(root / "client_key")
    authorized = root / "authorized_keys"
    authorized.write_text((root / "client_key.pub").read_text())
    authorized.chmod(0o600)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation
    config = root / "sshd_config"
    log = root / "sshd.log"
    proc: subprocess.Popen[str] | None = None
    try:
        for _ in range(5):
            port = _free_port()  # another process may take it first: then try another
            config.write_text(SSHD_CONFIG.format(port=port, root=root))
            with open(log, "w", encoding="utf-8") as err:
                proc = subprocess.Popen(
                    [SSHD, "-D", "-e", "-f", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=err,
                    stderr=err,
                    text=True,
                )
            deadline = time.monotonic() + STARTUP
            while time.monotonic() < deadline and proc.poll() is None:
                if "Server listening on 127.0.0.1" in log.read_text():
                    break
                time.sleep(0.05)
            if proc.poll() is None and "Server listening" in log.read_text():
                break
            stop(proc)
            proc = None
            if "Address already in use" not in log.read_text():
                raise AssertionError(f"sshd did not start:\n{log.read_text()}")
        if proc is None:
            raise AssertionError(f"sshd found no free port:\n{log.read_text()}")
        host_key = " ".join((root / "host_key.pub").read_text().split()[:2])
        known_hosts = root / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{port} {host_key}\n")
        yield SshServer(port, root, root / "client_key", known_hosts, log)
    finally:
        if proc is not None:
            stop(proc)
