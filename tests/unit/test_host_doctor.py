"""`lares doctor`'s checks on recorded machine answers (a probe that replays them)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from lares.blueprint.load import load_text
from lares.catalog.resolve import System
from lares.host.checks import backup, clock, cpu, docker, kernel, memory, ports
from lares.host.doctor import Finding, Output, Probe, discover, doctor
from lares.plan import make_context

DATA = Path(__file__).resolve().parents[1] / "data" / "access"
BLUEPRINT = (DATA / "blueprint.yaml").read_text()

CPUINFO = """\
processor	: 0
vendor_id	: GenuineIntel
model name	: 13th Gen Intel(R) Core(TM) i3-13100
flags		: fpu vme de pse tsc msr pae mce cx8 apic sse sse2 ht vmx aes avx2 rdrand
"""
MEMINFO = "MemTotal:       16318276 kB\nMemFree:         1000000 kB\n"
DOCKER_VERSION = (
    '{"Client":{"Version":"26.1.5"},"Server":{"Platform":{"Name":"Docker Engine"},'
    '"Version":"26.1.5+dfsg1","ApiVersion":"1.45"}}'
)
CHRONY = """\
Reference ID    : C0A80001 (gateway)
Stratum         : 3
Leap status     : Normal
"""


class Replay(Probe):
    """A probe that answers from recorded files and command outputs."""

    def __init__(
        self,
        files: dict[str, str] | None = None,
        commands: dict[str, Output] | None = None,
        listening: list[tuple[str, str, int]] | None = None,
        globs: dict[str, list[str]] | None = None,
    ) -> None:
        self.files = files or {}
        self.commands = commands or {}
        self._listening = listening
        self.globs = globs or {}

    def read(self, path: str) -> str | None:
        return self.files.get(path)

    def exists(self, path: str) -> bool:
        return path in self.files

    def glob(self, pattern: str) -> list[str]:
        return self.globs.get(pattern, [])

    def run(self, argv: Sequence[str], timeout: float = 10) -> Output:
        return self.commands.get(" ".join(argv), Output(127, "", "not installed"))

    def disk_usage(self, path: str) -> tuple[int, int] | None:
        return (100 * 1024**3, 60 * 1024**3)

    def listening(self) -> list[tuple[str, str, int]] | None:
        return self._listening

    def resolve(self, names: Sequence[str], timeout: float = 3.0) -> dict[str, list[str] | None]:
        return {n: [] for n in names}


def system_of(text: str = BLUEPRINT) -> System:
    loaded = load_text(text, filename="access.yaml", base_dir=DATA, env={})
    return make_context(loaded).system


def statuses(findings: list[Finding], check: str) -> list[tuple[str, str]]:
    return [(f.status, f.message) for f in findings if f.check == check]


def test_checks_are_found_by_their_module_names() -> None:
    found = discover()
    assert {"cpu", "gpu", "memory", "docker", "ports", "kernel", "space", "clock", "dns"} <= set(
        found
    )
    for check_id, check in found.items():
        assert check_id == check.ID and check.DESCRIPTION


def test_parsers_read_recorded_output() -> None:
    assert {"vmx", "aes", "avx2"} <= cpu.parse_flags(CPUINFO)
    assert memory.parse_meminfo(MEMINFO) == 16318276 * 1024
    assert docker.parse_engine(DOCKER_VERSION) == "26.1.5+dfsg1"
    assert docker.parse_engine("Cannot connect to the Docker daemon") is None
    assert docker.version_tuple("v2.40.3") == (2, 40, 3)
    assert clock.parse_chrony(CHRONY) is True
    assert clock.parse_timedatectl("no\n") is False
    assert kernel.filesystems("nodev\tsysfs\n\tbtrfs\n\text4\n") == {"sysfs", "btrfs", "ext4"}


def test_port_conflicts_match_wildcards_and_exact_addresses() -> None:
    wanted = [("tcp", "192.168.50.2", 443, "caddy"), ("udp", "192.168.50.2", 53, "pihole")]
    assert ports.conflicts(wanted, [("tcp", "0.0.0.0", 443)]) == [
        ("tcp", "192.168.50.2", 443, "caddy", "0.0.0.0")
    ]
    assert ports.conflicts(wanted, [("udp", "127.0.0.53", 53), ("tcp", "10.0.0.1", 443)]) == []


def test_a_ready_machine_gives_no_problem() -> None:
    probe = Replay(
        files={
            "/proc/cpuinfo": CPUINFO,
            "/proc/meminfo": MEMINFO,
            "/proc/filesystems": "\tbtrfs\n",
        },
        commands={
            "docker version --format {{json .}}": Output(0, DOCKER_VERSION),
            "docker compose version --short": Output(0, "2.29.7\n"),
            "timedatectl show -p NTPSynchronized --value": Output(0, "yes\n"),
        },
        listening=[("tcp", "127.0.0.1", 631)],
    )
    findings = doctor(system_of(), probe=probe)
    assert [f for f in findings if f.status in ("error", "unknown")] == []
    assert statuses(findings, "docker") == [
        ("ok", "Docker Engine 26.1.5+dfsg1"),
        ("ok", "Docker Compose 2.29.7"),
    ]
    assert statuses(findings, "clock") == [("ok", "the clock is synchronised (timedatectl)")]


def test_a_bare_machine_is_told_what_to_fix() -> None:
    text = BLUEPRINT.replace("memory: 16GiB", "memory: 64GiB").replace(
        "cpu: {model: Test CPU, cores: 4, threads: 8}",
        "cpu: {model: Test CPU, cores: 4, threads: 8, features: [aes-ni]}",
    )
    probe = Replay(
        files={"/proc/cpuinfo": "flags : fpu sse\n", "/proc/meminfo": MEMINFO},
        commands={"docker version --format {{json .}}": Output(1, "", "permission denied")},
        listening=[("tcp", "0.0.0.0", 443), ("udp", "::", 53)],
    )
    findings = doctor(system_of(text), probe=probe)
    by_check = {f.check: f for f in findings if f.status != "ok"}
    assert by_check["cpu"].status == "error" and "AES-NI" in by_check["cpu"].message
    assert by_check["memory"].status == "warning"
    assert "host.memory says 64.0 GiB" in by_check["memory"].message
    assert ("error", "Docker Engine does not answer") in statuses(findings, "docker")
    assert by_check["clock"].status == "unknown"
    clashes = [f.data["port"] for f in findings if f.check == "ports"]
    assert sorted(clashes) == [53, 443]
    assert all(f.hint for f in findings if f.status != "ok")


def test_quick_sync_needs_a_render_node() -> None:
    emby = BLUEPRINT.replace("      aweb: {}\n", "      aweb: {}\n      emby: {}\n")
    # without Quick Sync on the host, Emby transcodes on the CPU: nothing to look for
    assert doctor(system_of(emby), probe=Replay(), only=["gpu"]) == []
    text = emby.replace("threads: 8}", "threads: 8, features: [quicksync]}")
    bare = doctor(system_of(text), probe=Replay(), only=["gpu"])
    assert [f.status for f in bare] == ["error"]
    assert "emby" in bare[0].message
    ready = doctor(
        system_of(text),
        probe=Replay(globs={"/dev/dri/renderD*": ["/dev/dri/renderD128"]}),
        only=["gpu"],
    )
    assert [f.status for f in ready] == ["ok"]
    assert doctor(system_of(), probe=Replay(), only=["gpu"]) == []


def test_quick_sync_apps_and_the_render_gid() -> None:
    # Immich gets /dev/dri only on a host with Quick Sync and a known render gid
    text = BLUEPRINT.replace(
        "cpu: {model: Test CPU, cores: 4, threads: 8}",
        "cpu: {model: Test CPU, cores: 4, threads: 8, features: [quicksync]}\n"
        "  groups: {render: 993}",
    ).replace("      aweb: {}\n", "      aweb: {}\n      immich: {}\n")
    node = {"/dev/dri/renderD*": ["/dev/dri/renderD128"]}
    group = "root:x:0:\nvideo:x:44:\nrender:x:{gid}:\n"
    same = doctor(
        system_of(text),
        probe=Replay({"/etc/group": group.format(gid=993)}, globs=node),
        only=["gpu"],
    )
    assert statuses(same, "gpu") == [
        ("ok", "/dev/dri/renderD128 for Quick Sync (immich)"),
        ("ok", "group render is 993, as host.groups says"),
    ]
    other = doctor(
        system_of(text),
        probe=Replay({"/etc/group": group.format(gid=105)}, globs=node),
        only=["gpu"],
    )
    [wrong] = [f for f in other if f.status == "error"]
    assert wrong.message == (
        "host.groups.render is 993, but this machine's render group is 105: the containers "
        "that join it cannot open its devices"
    )
    assert wrong.hint == "set host.groups.render: 105"
    missing = doctor(system_of(text), probe=Replay({"/etc/group": "root:x:0:\n"}), only=["gpu"])
    assert [f.status for f in missing] == ["error", "error"]
    assert "no /dev/dri render node" in missing[0].message
    assert missing[1].message == "host.groups.render is 993, and this machine has no group render"


@pytest.mark.parametrize(("mdstat", "status"), [(True, "ok"), (False, "error")])
def test_mdadm_pools_need_md(mdstat: bool, status: str) -> None:
    text = BLUEPRINT.replace(
        "network:",
        "storage:\n  pools:\n    tank:\n      engine: mdadm\n      level: raid1\n"
        "      mount: /srv/pool\n      devices: [{path: /dev/sda, size: 4TB},"
        " {path: /dev/sdb, size: 4TB}]\nnetwork:",
        1,
    )
    files = {"/proc/filesystems": "\tbtrfs\n"}
    if mdstat:
        files["/proc/mdstat"] = "Personalities : [raid1]\nunused devices: <none>\n"
    findings = doctor(system_of(text), probe=Replay(files=files), only=["kernel"])
    md = [f for f in findings if "md" in f.message]
    assert [f.status for f in md] == [status]


def test_backups_need_restic_and_sqlite_that_can_serialize() -> None:
    text = BLUEPRINT.replace("      aweb: {}\n", "      aweb: {}\n      emby: {}\n")
    text += "backup:\n  repositories:\n    local: {url: /srv/restic}\n"
    sqlite_probe = " ".join([sys.executable, "-c", backup.SQLITE_PROBE])
    ready = Replay(
        commands={
            "restic version": Output(0, "restic 0.14.0 compiled with go1.19.8 on linux/amd64\n"),
            sqlite_probe: Output(0, "3.40.1\n"),
        }
    )
    assert statuses(doctor(system_of(text), probe=ready, only=["backup"]), "backup") == [
        ("ok", "restic 0.14.0"),
        ("ok", "SQLite 3.40.1 copies databases online"),
    ]
    old = Replay(commands={"restic version": Output(0, "restic 0.9.6 compiled with go1.13\n")})
    found = doctor(system_of(text), probe=old, only=["backup"])
    assert statuses(found, "backup") == [
        ("error", "restic 0.9.6 is older than 0.12.0, the oldest lares drives"),
        (
            "error",
            "this Python cannot copy SQLite databases online (emby, pihole keep theirs in SQLite)",
        ),
    ]
    assert all(f.hint for f in found)
    bare = doctor(system_of(text), probe=Replay(), only=["backup"])
    assert ("error", "restic is not installed") in statuses(bare, "backup")
    assert doctor(system_of(), probe=Replay(), only=["backup"]) == []  # nothing to back up
