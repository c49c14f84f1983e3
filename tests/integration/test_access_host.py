"""The host target for real: sshd checks the drop-in, the firewall rules filter packets in a
network namespace, and the storage script builds a btrfs pool on loop devices."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lares.blueprint.load import load, load_text
from lares.catalog.resolve import System
from lares.plan import make_context
from lares.render import render_all
from lares.render.host import host_rules, iptables_rules, sshd_dropin, storage_script

DATA = Path(__file__).resolve().parents[1] / "data" / "access"


def run(argv: list[str], *, check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120, **kw)  # type: ignore[call-overload]
    if check and result.returncode != 0:
        raise AssertionError(f"{argv} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def access_system() -> System:
    return make_context(load(DATA / "blueprint.yaml")).system


# ── sshd ───────────────────────────────────────────────────────────────────────────────────


def test_sshd_accepts_the_dropin_and_its_settings_win(tmp_path: Path) -> None:
    dropin = tmp_path / "10-lares.conf"
    dropin.write_text(sshd_dropin("test"))
    key = tmp_path / "host_ed25519"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    config = tmp_path / "sshd_config"
    # Settings after the Include lose: sshd keeps the first value it reads.
    config.write_text(
        f"Include {dropin}\nPermitRootLogin yes\nPasswordAuthentication yes\nMaxAuthTries 6\n"
    )
    made_run_dir = not os.path.isdir("/run/sshd")
    os.makedirs("/run/sshd", exist_ok=True)
    try:
        run(["/usr/sbin/sshd", "-t", "-f", str(config), "-h", str(key)])
        effective = run(
            [
                "/usr/sbin/sshd",
                "-T",
                "-f",
                str(config),
                "-h",
                str(key),
                "-C",
                "user=root,host=client,addr=192.168.50.10",
            ]
        ).stdout
    finally:
        if made_run_dir:
            os.rmdir("/run/sshd")
    settings = dict(line.split(" ", 1) for line in effective.splitlines() if " " in line)
    assert settings["permitrootlogin"] == "without-password"  # sshd's name for prohibit-password
    assert settings["passwordauthentication"] == "no"
    assert settings["kbdinteractiveauthentication"] == "no"
    assert settings["pubkeyauthentication"] == "yes"
    assert settings["maxauthtries"] == "3"
    assert settings["clientaliveinterval"] == "300"


# ── firewall ───────────────────────────────────────────────────────────────────────────────


def test_firewall_scripts_pass_shellcheck_and_match_the_blueprint(tmp_path: Path) -> None:
    system = access_system()
    host = render_all(system, target="host").files["firewall/ufw.sh"].content
    edge = render_all(system, target="edge").files["firewall.sh"].content
    for name, text in (("ufw.sh", host), ("firewall.sh", edge)):
        (tmp_path / name).write_text(text)
    run(["shellcheck", str(tmp_path / "ufw.sh"), str(tmp_path / "firewall.sh")])
    prefix = '"${UFW[@]}" '
    commands = [
        shlex.split(line[len(prefix) :]) for line in host.splitlines() if line.startswith(prefix)
    ]
    assert commands[:2] == [["default", "deny", "incoming"], ["default", "allow", "outgoing"]]
    assert commands[-1] == ["--force", "enable"]
    assert commands[2:-1] == [rule.ufw() for rule in host_rules(system)]
    edge_rules = {
        (*c[:3], c[4], c[8])
        for c in (
            shlex.split(line[len(prefix) :])
            for line in edge.splitlines()
            if line.startswith(prefix)
        )
        if c[0] in ("allow", "limit")
    }
    assert edge_rules == {
        ("limit", "proto", "tcp", "any", "22"),
        ("allow", "proto", "tcp", "any", "80"),
        ("allow", "proto", "tcp", "any", "443"),
        ("allow", "proto", "udp", "any", "51820"),
    }


LISTENER = """
import socket, sys, time
socks = []
for port in map(int, sys.argv[1:]):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(8); socks.append(s)
print("ready", flush=True)
time.sleep(120)
"""
CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5).close()
except OSError:
    sys.exit(1)
"""


@pytest.fixture
def namespaces() -> Iterator[dict[str, str]]:
    """Three network namespaces: the server, a LAN client and an outside client."""
    if os.geteuid() != 0:
        pytest.fail("network namespaces need root: run scripts/test as root", pytrace=False)
    tag = uuid.uuid4().hex[:6]
    names = {role: f"lt-{tag}-{role}" for role in ("srv", "lan", "wan")}
    try:
        for ns in names.values():
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        for role, server_ip, client_ip in (
            ("lan", "192.168.50.2/24", "192.168.50.10/24"),
            ("wan", "198.51.100.1/24", "198.51.100.10/24"),
        ):
            a, b = f"lt{tag}{role}s", f"lt{tag}{role}c"
            run(
                [
                    "ip",
                    "link",
                    "add",
                    a,
                    "netns",
                    names["srv"],
                    "type",
                    "veth",
                    "peer",
                    "name",
                    b,
                    "netns",
                    names[role],
                ]
            )
            run(["ip", "-n", names["srv"], "addr", "add", server_ip, "dev", a])
            run(["ip", "-n", names[role], "addr", "add", client_ip, "dev", b])
            run(["ip", "-n", names["srv"], "link", "set", a, "up"])
            run(["ip", "-n", names[role], "link", "set", b, "up"])
        yield names
    finally:
        for ns in names.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
            shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)


def _apply_ufw_script(srv: list[str], ns: str, tmp_path: Path) -> None:
    """Run the rendered ufw.sh in the namespace, on a private copy of /etc/ufw: `ip netns
    exec` mounts /etc/netns/<ns>/ufw over /etc/ufw, so the machine's UFW stays untouched."""
    private = Path("/etc/netns") / ns / "ufw"
    shutil.copytree("/etc/ufw", private, symlinks=True)
    script = tmp_path / "ufw.sh"
    script.write_text(render_all(access_system(), target="host").files["firewall/ufw.sh"].content)
    run([*srv, "bash", str(script)])
    status = run([*srv, "ufw", "status"]).stdout
    assert status.startswith("Status: active")
    assert "# SSH from the LAN" in status
    assert "ENABLED=no" in Path("/etc/ufw/ufw.conf").read_text()  # the machine's own UFW


def _apply_iptables_rules(srv: list[str], ns: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.v4"
    rules.write_text(iptables_rules(host_rules(access_system()), source="test"))
    run([*srv, "iptables-restore", "--test", str(rules)])
    run([*srv, "iptables-restore", str(rules)])


@pytest.mark.parametrize(
    "apply", [_apply_ufw_script, _apply_iptables_rules], ids=["ufw", "iptables"]
)
def test_the_rules_let_the_lan_in_and_keep_the_rest_out(
    namespaces: dict[str, str], tmp_path: Path, apply: Callable[[list[str], str, Path], None]
) -> None:
    srv = ["ip", "netns", "exec", namespaces["srv"]]
    apply(srv, namespaces["srv"], tmp_path)
    listener = subprocess.Popen(
        [*srv, "python3", "-c", LISTENER, "22", "443", "5555", "8099"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"

        def reaches(role: str, address: str, port: int) -> bool:
            argv = ["ip", "netns", "exec", namespaces[role], "python3", "-c", CONNECT]
            return run([*argv, address, str(port)], check=False).returncode == 0

        assert reaches("lan", "192.168.50.2", 22)
        assert reaches("lan", "192.168.50.2", 443)
        assert not reaches("lan", "192.168.50.2", 5555)  # nothing in the blueprint opens it
        assert not reaches("lan", "192.168.50.2", 8099)  # only Caddy's networks may
        assert not reaches("wan", "198.51.100.1", 22)
        assert not reaches("wan", "198.51.100.1", 443)
    finally:
        listener.kill()
        listener.wait()
        assert listener.stdout is not None
        listener.stdout.close()


# ── storage ────────────────────────────────────────────────────────────────────────────────

POOL_BLUEPRINT = """\
version: 1
host: {{name: testhost, cpu: {{cores: 2, threads: 2}}, memory: 4GiB}}
paths: {{appdata: /srv/appdata, pool: {mount}, folders: {{photos: photos, backups: backups}}}}
storage:
  pools:
    tank:
      engine: {engine}
      level: {level}
      mount: {mount}
      devices:
{devices}
network: {{lan: 192.168.50.0/24, host_address: 192.168.50.2}}
stacks: {{}}
"""


def pool_script(engine: str, level: str, devices: list[str], mount: Path) -> str:
    listed = "\n".join(f"        - {{path: {d}, size: 256MiB}}" for d in devices)
    text = POOL_BLUEPRINT.format(engine=engine, level=level, mount=mount, devices=listed)
    system = make_context(load_text(text, filename="pool.yaml", base_dir=DATA, env={})).system
    pool = system.blueprint.storage.pools["tank"]
    return storage_script(system, "tank", pool, source="test")


def test_storage_script_builds_a_btrfs_pool_on_loop_devices(loop_btrfs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    loops = loop_btrfs(2, size_mb=256)
    mount = loop_btrfs.root / "pool"
    script = tmp_path / "setup-tank.sh"
    script.write_text(pool_script("btrfs", "raid1", loops.devices, mount))
    run(["shellcheck", str(script)])
    fstab = tmp_path / "fstab"
    fstab.write_text("# test fstab\n")

    dry = run(["bash", str(script), "--fstab", str(fstab)])
    assert (
        f"would run: mkfs.btrfs -L lares-tank -d raid1 -m raid1 {' '.join(loops.devices)}"
        in dry.stdout
    )
    assert run(["blkid", "-p", loops.devices[0]], check=False).returncode == 2  # still blank
    assert fstab.read_text() == "# test fstab\n"

    run(["bash", str(script), "--yes-destroy-data", "--fstab", str(fstab)])
    assert run(["findmnt", "-n", "-o", "FSTYPE", str(mount)]).stdout.strip() == "btrfs"
    df = run(["btrfs", "filesystem", "df", str(mount)]).stdout
    assert "Data, RAID1" in df and "Metadata, RAID1" in df
    usage = run(["btrfs", "filesystem", "usage", "-b", str(mount)]).stdout
    size = int(next(line for line in usage.splitlines() if "Device size:" in line).split()[-1])
    assert size == 2 * 256 * 1024 * 1024
    lines = [line for line in fstab.read_text().splitlines() if str(mount) in line]
    assert len(lines) == 1 and lines[0].startswith("UUID=") and " btrfs " in lines[0]
    assert (mount / "photos").is_dir() and (mount / "backups").is_dir()

    again = run(["bash", str(script), "--yes-destroy-data", "--fstab", str(fstab)])
    assert "set up already" in again.stdout and "is mounted" in again.stdout
    assert len([line for line in fstab.read_text().splitlines() if str(mount) in line]) == 1


def test_storage_script_refuses_a_drive_that_holds_a_filesystem(loop_btrfs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    used = loop_btrfs(1, size_mb=256, profile="single", mount=False)
    blank = loop_btrfs(1, size_mb=256)
    devices = [blank.devices[0], used.devices[0]]
    script = tmp_path / "setup-tank.sh"
    script.write_text(pool_script("btrfs", "raid1", devices, loop_btrfs.root / "pool"))
    for args in ([], ["--yes-destroy-data"]):
        result = run(["bash", str(script), *args, "--fstab", str(tmp_path / "fstab")], check=False)
        assert result.returncode == 3
        assert f"refusing {used.devices[0]}: it holds btrfs" in result.stderr
    assert run(["blkid", "-p", blank.devices[0]], check=False).returncode == 2
    assert run(["blkid", "-p", "-s", "LABEL", "-o", "value", used.devices[0]]).stdout.strip() == (
        "lares-test"
    )


def test_mdadm_storage_script_dry_run(loop_btrfs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    loops = loop_btrfs(3, size_mb=256)
    script = tmp_path / "setup-tank.sh"
    script.write_text(pool_script("mdadm", "raid5", loops.devices, loop_btrfs.root / "pool"))
    run(["shellcheck", str(script)])
    dry = run(["bash", str(script), "--fstab", str(tmp_path / "fstab")])
    assert (
        "would run: mdadm --create /dev/md/tank --name=tank --level=5 --raid-devices=3 "
        + " ".join(loops.devices)
    ) in dry.stdout
    assert "would run: mkfs.btrfs -L lares-tank /dev/md/tank" in dry.stdout
    assert all(run(["blkid", "-p", d], check=False).returncode == 2 for d in loops.devices)
