"""`lares up`, `diff`, `down`, `ps` and `rollback` on a real Docker engine.

The blueprint in tests/data/deploy describes two stacks: ld-data (PostgreSQL from the local
lares-test/postgres image) and ld-front (busybox httpd), joined by an internal database network.
Every test runs lares as a person would, as a subprocess, with its own state folder, on a copy
whose names, subnets and port no other run uses (see integration.deploy_lab), so two runs of
these tests at once never meet.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable

import pytest

from integration.deploy_lab import DeployLab as Lab
from integration.deploy_lab import unique_moves

STACKS = ("ld-data", "ld-front")
NETWORKS = ("ld-database", "ld-front")
WEB_URL = "http://127.0.0.2:18080/"


@pytest.fixture
def lab(deploy_lab: Callable[..., Lab]) -> Lab:
    """A copy of the blueprint with its own names, subnets and port, so runs never meet."""
    moves = unique_moves("ld-", ("10.199.10.", "10.199.11.", "10.199.99."), "18080")
    return deploy_lab("deploy", stacks=STACKS, networks=NETWORKS, moves=moves, translate=True)


def psql(lab: Lab, sql: str) -> str:
    result = lab.dexec("ld-db", "psql", "-U", "app", "-d", "app", "-At", "-c", sql, user="postgres")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def fetch(lab: Lab, url: str = WEB_URL) -> str:
    with urllib.request.urlopen(lab.moved(url), timeout=5) as resp:  # noqa: S310 - loopback
        return resp.read().decode()


def test_up_applies_hardening_secrets_and_isolation(lab: Lab) -> None:
    first = lab.lares("up", "--yes")
    assert "applied ld-data, ld-front" in first.stdout

    web = lab.inspect("ld-web")
    host = web["HostConfig"]
    assert web["Config"]["User"] == "1000:1000"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert not host["CapAdd"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["Memory"] == 64 * 1024**2
    assert host["MemoryReservation"] == 16 * 1024**2
    assert host["PidsLimit"] == 64
    assert host["RestartPolicy"]["Name"] == "unless-stopped"
    assert web["Config"]["Healthcheck"]["Test"][:2] == ["CMD", "wget"]
    assert web["State"]["Health"]["Status"] == "healthy"
    # the published port binds only to the address the blueprint says
    assert host["PortBindings"] == {"8080/tcp": [{"HostIp": "127.0.0.2", "HostPort": "18080"}]}
    assert fetch(lab).strip() == "hello"

    db = lab.inspect("ld-db")
    caps = sorted(c.removeprefix("CAP_") for c in db["HostConfig"]["CapAdd"])
    assert caps == ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]
    assert db["HostConfig"]["ReadonlyRootfs"] is True
    assert list(db["NetworkSettings"]["Networks"]) == ["ld-database"]
    assert not db["HostConfig"]["PortBindings"]

    # secrets are files: mounted, readable by the container's postgres user, absent from env
    secret_mounts = [m for m in db["Mounts"] if m["Destination"].startswith("/run/secrets/")]
    assert [m["Destination"] for m in secret_mounts] == ["/run/secrets/ld-db_password"]
    values = lab.secret_values()
    assert len(values) == 1 and len(values[0]) == 24
    blob = json.dumps(db) + json.dumps(web) + first.stdout + first.stderr
    for value in values:
        assert value not in blob
    for compose in (lab.state / "live").rglob("compose.yaml"):
        assert values[0] not in compose.read_text()
    secret_file = lab.state / lab.moved("live/secrets/ld-db/ld-db_password")
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert secret_file.stat().st_uid == 100
    assert (lab.state / "secrets").stat().st_mode & 0o777 == 0o700

    # the app reaches the database by name over the shared internal network
    reach = lab.dexec("ld-web", "sh", "-c", "nc -w 3 ld-db 5432 </dev/null")
    assert reach.returncode == 0, reach.stderr
    assert psql(lab, "select 40 + 2") == "42"


class Listener:
    """A TCP listener on every host address that accepts and closes connections."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # every address, so containers can reach it through their bridge gateway
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
                conn.close()
            except OSError:
                continue

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


def test_database_network_is_internal(lab: Lab) -> None:
    lab.lares("up", "--yes")
    listener = Listener()
    try:
        gateway = lab.inspect("ld-web")["NetworkSettings"]["Networks"]["ld-front"]["Gateway"]
        # from a normal network the host listener answers: the probe itself works
        ok = lab.dexec("ld-web", "sh", "-c", f"nc -w 3 {gateway} {listener.port} </dev/null")
        assert ok.returncode == 0, "the host listener should be reachable from ld-front"
        # from the internal database network there is no route to the host
        blocked = lab.dexec(
            "ld-db", "bash", "-c", f"timeout 5 bash -c 'exec 3<>/dev/tcp/{gateway}/{listener.port}'"
        )
        assert blocked.returncode != 0
    finally:
        listener.close()


def test_second_up_is_a_noop_and_a_change_recreates_only_that_container(lab: Lab) -> None:
    lab.lares("up", "--yes")
    before = {n: lab.inspect(n)["Id"] for n in ("ld-db", "ld-web")}
    again = lab.lares("up", "--yes")
    assert "nothing to do: 2 stacks match what is running" in again.stdout
    assert {n: lab.inspect(n)["Id"] for n in ("ld-db", "ld-web")} == before

    diff = lab.lares("diff")
    assert "ld-data: up to date" in diff.stdout and "ld-front: up to date" in diff.stdout

    lab.env["LT_GREETING"] = "changed"
    pending = lab.lares("diff", check=False)
    assert pending.returncode == 1
    assert "-      GREETING: hello" in pending.stdout
    assert "+      GREETING: changed" in pending.stdout
    dry = lab.lares("up", "--dry-run")
    assert "dry run: nothing was changed" in dry.stdout
    assert lab.inspect("ld-web")["Id"] == before["ld-web"]

    lab.lares("up", "--yes")
    after = {n: lab.inspect(n)["Id"] for n in ("ld-db", "ld-web")}
    assert after["ld-db"] == before["ld-db"]
    assert after["ld-web"] != before["ld-web"]
    assert fetch(lab).strip() == "changed"


def test_down_then_up_keeps_the_database(lab: Lab) -> None:
    lab.lares("up", "--yes")
    psql(lab, "create table notes (id int primary key, body text)")
    psql(lab, "insert into notes values (1, 'kept'), (2, 'also kept')")
    down = lab.lares("down", "--yes")
    assert "stopped ld-front, ld-data" in down.stdout
    gone = lab.docker("inspect", "ld-db")
    assert gone.returncode != 0
    lab.lares("up", "--yes")
    assert psql(lab, "select body from notes order by id") == "kept\nalso kept"


def test_unhealthy_service_fails_up_and_rollback_restores(lab: Lab) -> None:
    lab.lares("up", "--yes")
    record = lab.record_file("ld-front")
    good = json.loads(record.read_text())["revision"]

    # httpd never starts, so the healthcheck never passes
    lab.edit(
        "        env:\n",
        "        command: [sleep, '3600']\n        env:\n",
    )
    failed = lab.lares("up", "--yes", check=False)
    assert failed.returncode == 1
    assert "ld-front/ld-web: failed, its healthcheck fails" in failed.stdout
    assert "  ld-web: running, unhealthy" in failed.stdout
    assert "    health: exit 1" in failed.stdout
    assert "✗ 1 app did not come up: ld-web\n" in failed.stderr
    assert "`lares rollback ld-front` puts it back" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert json.loads(record.read_text())["revision"] == good

    back = lab.lares("rollback", "ld-front")
    assert f"ld-front: at revision {good[:12]}" in back.stdout
    assert lab.inspect("ld-web")["State"]["Health"]["Status"] == "healthy"
    assert fetch(lab).strip() == "hello"


def test_ps_lists_containers(lab: Lab) -> None:
    lab.lares("up", "--yes")
    out = lab.lares("ps", "--json", "ld-data", "ld-front")
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert set(rows) == {"ld-db", "ld-web"}
    assert rows["ld-web"]["state"] == "running"
    assert rows["ld-web"]["health"] == "healthy"
    assert rows["ld-web"]["stack"] == "ld-front"
    assert rows["ld-web"]["ports"] == ["127.0.0.2:18080->8080/tcp"]
    assert rows["ld-db"]["restarts"] == 0
    assert rows["ld-db"]["uptime"] >= 0


def test_drift_is_seen_and_converged(lab: Lab) -> None:
    lab.lares("up", "--yes")
    lab.docker("stop", "-t", "1", "ld-web", check=True)
    diff = lab.lares("diff", check=False)
    assert diff.returncode == 1
    assert "drift: ld-web: exited" in diff.stdout
    up = lab.lares("up", "--yes")
    assert "ld-front: converge" in up.stdout
    assert lab.inspect("ld-web")["State"]["Running"] is True


def test_sigkill_mid_apply_converges(lab: Lab) -> None:
    argv = lab.argv("up", "--yes")
    proc = subprocess.Popen(argv, env=lab.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # wait until Compose is creating containers, then kill lares outright
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = lab.docker("ps", "-aq", "--filter", "name=ld-db").stdout.strip()
        if found:
            break
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not lab.record_file("ld-front").exists()
    lab.lares("up", "--yes")
    assert lab.inspect("ld-web")["State"]["Health"]["Status"] == "healthy"
    assert lab.lares("up", "--yes").stdout.count("nothing to do") == 1


def test_concurrent_ups_do_not_interleave(lab: Lab) -> None:
    argv = lab.argv("up", "--yes")
    a = subprocess.Popen(
        argv, env=lab.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(0.3)
    b = subprocess.Popen(
        argv, env=lab.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out_a, err_a = a.communicate(timeout=240)
    out_b, err_b = b.communicate(timeout=240)
    assert a.returncode == 0, err_a
    assert b.returncode == 0, err_b
    outputs = [lab.unmoved(out_a), lab.unmoved(out_b)]
    # exactly one applied; the other waited for the lock, then found nothing to do
    assert sum("applied ld-data, ld-front" in o for o in outputs) == 1
    assert sum("nothing to do" in o for o in outputs) == 1
    assert "waiting for another lares" in err_a + err_b


def test_existing_network_with_other_subnet_is_refused(lab: Lab) -> None:
    lab.docker("network", "create", "--subnet", "10.199.99.0/24", "ld-front", check=True)
    result = lab.lares("up", "--yes", check=False)
    assert result.returncode == 1
    assert (
        "a Docker network named ld-front already exists with subnet 10.199.99.0/24 and "
        "internal=False; the blueprint wants 10.199.11.0/24 and internal=False"
    ) in result.stderr
    assert "Traceback" not in result.stderr


def test_down_volumes_asks_for_a_typed_confirmation(lab: Lab) -> None:
    lab.lares("up", "--yes")
    refused = lab.lares("down", "--volumes", input="yes\n", check=False)
    assert refused.returncode == 1
    assert "not confirmed; nothing was changed" in refused.stderr
    assert lab.inspect("ld-db")["State"]["Running"] is True
    done = lab.lares("down", "--volumes", input="delete volumes\n")
    assert "stopped ld-front, ld-data and removed their volumes" in done.stdout
    gone = lab.docker("inspect", "ld-db")
    assert gone.returncode != 0
