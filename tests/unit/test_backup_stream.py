"""The stdin backup's guarantee, shown with a stand-in for restic that saves a "snapshot" only
at the end of its input (as restic does): an aborted stream never reaches that end."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lares.backup.command import Command
from lares.backup.features import Features
from lares.backup.restic import Repo, Restic, Status
from lares.run import write_all

FAKE_RESTIC = """
import json, pathlib, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # a background shell may ignore it
marker = pathlib.Path(sys.argv[1])
print(json.dumps({"message_type": "status", "percent_done": 0, "total_files": 1}), flush=True)
size = 0
while chunk := sys.stdin.buffer.read(65536):
    size += len(chunk)
    print(json.dumps({"message_type": "status", "bytes_done": size}), flush=True)
marker.write_text(str(size))
print(json.dumps({"message_type": "summary", "files_new": 1, "data_added": size,
                  "snapshot_id": "0123abcd"}), flush=True)
"""


def _restic(tmp_path: Path) -> tuple[Restic, Command, Path]:
    script = tmp_path / "fake_restic.py"
    script.write_text(FAKE_RESTIC)
    marker = tmp_path / "snapshot-saved"
    (tmp_path / "password").write_text("not used by the stand-in")
    repo = Repo("local", str(tmp_path / "repo"), tmp_path / "password")
    cmd = Command((sys.executable, str(script), str(marker)), what="back up a dump", stdin=True)
    return Restic(repo, Features((0, 14, 0)), hostname="test"), cmd, marker


def test_a_complete_stream_is_saved(tmp_path: Path) -> None:
    restic, cmd, marker = _restic(tmp_path)
    seen: list[Status] = []

    def feed(fd: int) -> str | None:
        write_all(fd, b"x" * 300_000)
        return None

    result = restic.backup(cmd, feed=feed, on_status=seen.append)
    assert result.aborted is None
    assert result.summary is not None and result.summary.snapshot_id == "0123abcd"
    assert marker.read_text() == "300000"
    assert seen and seen[-1].bytes_done == 300_000


def test_an_aborted_stream_is_never_saved(tmp_path: Path) -> None:
    restic, cmd, marker = _restic(tmp_path)

    def feed(fd: int) -> str | None:
        write_all(fd, b"half a dump\n" * 10_000)
        return "the dump failed with exit code 1"

    result = restic.backup(cmd, feed=feed)
    assert result.aborted == "the dump failed with exit code 1"
    assert result.summary is None
    assert not marker.exists()


def test_a_feed_that_crashes_aborts_too(tmp_path: Path) -> None:
    restic, cmd, marker = _restic(tmp_path)

    def feed(fd: int) -> str | None:
        write_all(fd, b"some")
        raise OSError("the dump pipe broke")

    result = restic.backup(cmd, feed=feed)
    assert result.aborted == "OSError: the dump pipe broke"
    assert not marker.exists()
    assert not [f for f in os.listdir(tmp_path) if f.startswith("snapshot")]
