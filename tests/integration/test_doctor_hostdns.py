"""`lares doctor` reads what really listens on port 53, in a network namespace of its own.

Each case runs in a fresh namespace (``unshare --net``) so the sockets it binds — the address
of systemd-resolved's stub listener, or every address — touch nothing on this machine. The
reference homelab runs Pi-hole on the host network, so it needs port 53.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Bind the given UDP and TCP sockets on port 53, then run `lares doctor --check hostdns --json`.
SCRIPT = """
import socket, subprocess, sys
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
held = []
for proto, address in [a.split("/") for a in sys.argv[1:]]:
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    s = socket.socket(socket.AF_INET, kind)
    s.bind((address, 53))
    if proto == "tcp":
        s.listen(1)
    held.append(s)
done = subprocess.run(
    [sys.executable, "-m", "lares", "doctor", "--check", "hostdns", "--json"],
    capture_output=True, text=True,
)
print(done.stdout)
sys.stderr.write(done.stderr)
"""


def doctor_with(tmp_path: Path, *sockets: str) -> list[dict]:
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed for network namespaces", pytrace=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LARES_")}
    env["LARES_STATE_DIR"] = str(tmp_path / "state")
    proc = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", SCRIPT, *sockets],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    data = json.loads(proc.stdout)
    findings = data["findings"] if isinstance(data, dict) else data
    return [f for f in findings if f["check"] == "hostdns"]


def test_the_stub_listener_is_named_with_its_fix(tmp_path: Path) -> None:
    [finding] = doctor_with(tmp_path, "udp/127.0.0.53", "tcp/127.0.0.53")
    assert finding["status"] == "error"
    assert finding["message"] == (
        "systemd-resolved's stub listener holds 127.0.0.53:53/tcp, 127.0.0.53:53/udp: "
        "pihole cannot bind port 53"
    )
    assert finding["hint"].startswith(
        "install systemd/resolved.conf.d/10-lares-dns.conf from `lares render --target host`"
    )


def test_another_listener_is_a_warning_and_a_free_port_is_fine(tmp_path: Path) -> None:
    [finding] = doctor_with(tmp_path, "udp/0.0.0.0")
    assert finding["status"] == "warning"
    assert finding["message"] == "something listens on 0.0.0.0:53/udp, which pihole needs"
    [free] = doctor_with(tmp_path)
    assert (free["status"], free["message"]) == ("ok", "port 53 is free for pihole")
