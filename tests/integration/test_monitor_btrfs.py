"""btrfs raid1 on loop devices: corrupt one copy, read, alert, scrub, acknowledge, resolve."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from lares.cli import app
from lares.monitor.alerts import Message
from lares.monitor.collectors import btrfs, scrub
from lares.monitor.config import MountTarget, PoolTarget, WatchConfig
from lares.monitor.parsers import btrfs as btrfs_parsers
from lares.monitor.watch import Watcher

TESTS = Path(__file__).resolve().parents[1]


def drop_caches() -> None:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def corrupt_first_copy(image: Path, data: bytes) -> int:
    """Overwrite, in one device's backing file, the first 64 KiB of where ``data`` is stored."""
    content = image.read_bytes()
    offset = content.find(data[:4096])
    assert offset >= 0, f"the data is not in {image}"
    with open(image, "r+b") as fh:
        fh.seek(offset)
        fh.write(b"\0" * 65536)
        fh.flush()
        os.fsync(fh.fileno())
    return offset


def corruption_count(mount: Path) -> int:
    out = subprocess.run(
        ["btrfs", "device", "stats", str(mount)], capture_output=True, text=True, check=True
    ).stdout
    return sum(int(line.split()[-1]) for line in out.splitlines() if "corruption_errs" in line)


class Outbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, message: Message) -> tuple[bool, str]:
        self.messages.append(message)
        return True, ""


def test_corruption_alert_scrub_ack_resolve(loop_btrfs: Any, kit: Any, tmp_path: Path) -> None:
    loops = loop_btrfs(2, size_mb=256, profile="raid1")
    mount: Path = loops.mountpoint
    files = {name: os.urandom(4 * 1024 * 1024) for name in ("read.bin", "idle.bin")}
    for name, data in files.items():
        (mount / name).write_bytes(data)
    drop_caches()

    state = tmp_path / "state"
    config = WatchConfig(
        host="lt-host",
        state_dir=str(state),
        mounts=(MountTarget(str(mount), "pool", "lt"),),
        pools=(PoolTarget("lt", "btrfs", "raid1", "btrfs", str(mount), tuple(loops.devices)),),
    )
    outbox = Outbox()
    watcher = Watcher(config, collectors={"btrfs": btrfs, "scrub": scrub}, sender=outbox)
    try:
        clean = watcher.cycle()
        assert [r.error for r in clean.runs] == [None, None]
        assert [c.key for c in clean.conditions if c.rule == "btrfs-errors"] == []
        counters = [s for s in watcher.latest["btrfs"] if s.metric.startswith("errors_")]
        assert len(counters) == 10  # five counters on each of the two devices
        assert {s.labels["device"] for s in counters} == set(loops.devices)  # named via sysfs

        # corrupt both files on the first device only; the second keeps good copies
        for data in files.values():
            corrupt_first_copy(loops.files[0], data)
        drop_caches()
        # raid1 reads one copy, picked by the reader's pid: each round reads from two processes
        # started back to back (consecutive pids, so both parities), until the bad copy is hit
        for _ in range(10):
            for _reader in range(2):
                subprocess.run(
                    ["cat", str(mount / "read.bin")], stdout=subprocess.DEVNULL, check=True
                )
                drop_caches()
            if corruption_count(mount) > 0:
                break
        assert corruption_count(mount) > 0, "reading never hit the corrupted copy"
        assert (mount / "read.bin").read_bytes() == files["read.bin"]  # repaired from the mirror

        first = watcher.cycle(only=["btrfs"])
        errors = [c for c in first.conditions if c.rule == "btrfs-errors"]
        assert [(c.key, c.severity) for c in errors] == [(f"btrfs-errors:{mount}", "critical")]
        assert f"{loops.devices[0]} corruption 0 → " in errors[0].message
        assert outbox.messages == []  # pending: one sample
        watcher.cycle(only=["btrfs"])
        assert watcher.alerts.alerts[f"btrfs-errors:{mount}"].state == "firing"
        assert len(outbox.messages) == 1
        assert outbox.messages[0].body.startswith(
            f"CRITICAL: btrfs error counters rose on {mount}: {loops.devices[0]} corruption 0 → "
        )

        # the scrub repairs the copy nobody read yet
        done = subprocess.run(
            ["btrfs", "scrub", "start", "-B", str(mount)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        report = btrfs_parsers.parse_scrub_status(done.stdout)
        assert (report.scrubs[-1].errors.corrected or 0) > 0
        assert (report.scrubs[-1].errors.uncorrectable or 0) == 0
        drop_caches()
        for name, data in files.items():
            assert (
                hashlib.sha256((mount / name).read_bytes()).digest()
                == hashlib.sha256(data).digest()
            )
        scrubbed = watcher.cycle(only=["scrub"])
        warned = [c for c in scrubbed.conditions if c.rule == "btrfs-scrub"]
        assert [c.severity for c in warned] == ["warning"]
        assert "scrub corrected" in warned[0].message

        # the counters stay where they are: still alerting until acknowledged
        assert f"btrfs-errors:{mount}" in {c.key for c in watcher.cycle(only=["btrfs"]).conditions}

        blueprint = tmp_path / "lares.yaml"
        blueprint.write_text(
            kit.text(
                catalog=f"[{TESTS / 'data' / 'catalog'}]",
                paths=f"""
                appdata: {tmp_path}
                pool: {mount}
                """,
                storage=f"""
                pools:
                  lt:
                    engine: btrfs
                    level: raid1
                    mount: {mount}
                    devices:
                      - {{path: {loops.devices[0]}, size: 256MiB}}
                      - {{path: {loops.devices[1]}, size: 256MiB}}
                """,
            )
        )
        result = CliRunner().invoke(
            app, ["ack", "btrfs", "-f", str(blueprint), "--state-dir", str(state)]
        )
        assert result.exit_code == 0, result.output
        assert "acknowledged 10 btrfs counters as the new baseline" in result.output
        assert f"{mount}:{loops.devices[0]}:errors_corruption = " in result.output

        resolved = watcher.cycle(only=["btrfs"])
        assert [c for c in resolved.conditions if c.rule == "btrfs-errors"] == []
        assert [(e.kind, e.alert.key) for e in resolved.events] == [
            ("resolved", f"btrfs-errors:{mount}")
        ]
        assert outbox.messages[-1].type == "success"
        assert outbox.messages[-1].body.startswith(
            f"RESOLVED: btrfs error counters rose on {mount}"
        )

        # a clean scrub clears the scrub warning too
        subprocess.run(
            ["btrfs", "scrub", "start", "-B", str(mount)], capture_output=True, check=True
        )
        assert [
            c for c in watcher.cycle(only=["scrub"]).conditions if c.rule == "btrfs-scrub"
        ] == []
    finally:
        watcher.ctx.close()
        watcher.store.close()
