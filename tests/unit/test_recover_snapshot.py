"""What lares's state snapshot holds, and the tar it streams (without restic)."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from lares.blueprint.load import load_file, load_reference
from lares.recover import snapshot

BLUEPRINT = """\
version: 1
host: {name: lt-host, cpu: {cores: 2, threads: 2}, memory: 4GiB, timezone: Etc/UTC}
paths: {appdata: /srv/appdata, pool: /srv/pool}
network: {lan: 192.168.77.0/24, host_address: 192.168.77.2}
stacks: {main: {apps: []}}
catalog: [catalog, ../elsewhere]
"""


def _state(root: Path) -> None:
    for rel, text in {
        "secrets/restic_local": "pw",
        "secrets/app_db_password": "db",
        "applied/main/record.json": "{}",
        "applied/main/r1/compose.yaml": "services: {}\n",
        "backup/status.json": "{}",
        "backup/lock": "",
        "backup/cache/CACHEDIR.TAG": "x",
        "live/main/compose.yaml": "x",
        "logs/lares.log": "x",
        "monitor/history.db": "x",
        "lock": "",
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "secrets" / "restic_local").chmod(0o600)


def test_members_keep_state_and_blueprint_but_not_caches(tmp_path: Path) -> None:
    (tmp_path / "bp").mkdir()
    bp = tmp_path / "bp" / "lares.yaml"
    bp.write_text(BLUEPRINT)
    (tmp_path / "bp" / "catalog").mkdir()
    (tmp_path / "bp" / "catalog" / "x.yaml").write_text("id: x\n")
    _state(tmp_path / "state")
    listed, warnings = snapshot.members(tmp_path / "state", load_file(bp))
    names = [m.name for m in listed]
    assert names == [
        "lares-state/blueprint/lares.yaml",
        "lares-state/blueprint/catalog/x.yaml",
        "lares-state/state/secrets/app_db_password",
        "lares-state/state/secrets/restic_local",
        "lares-state/state/applied/main/record.json",
        "lares-state/state/applied/main/r1/compose.yaml",
        "lares-state/state/backup/status.json",
    ]
    assert warnings == [
        "the catalog folder ../elsewhere is outside the blueprint's folder; "
        "it is not in the state snapshot"
    ]


def test_tar_starts_with_the_manifest_and_keeps_modes(tmp_path: Path) -> None:
    _state(tmp_path / "state")
    loaded = load_reference()
    listed, _ = snapshot.members(tmp_path / "state", loaded)
    head = snapshot.manifest(loaded, "nas", datetime(2026, 12, 2, tzinfo=UTC), len(listed))
    buffer = io.BytesIO()
    snapshot.write_tar(buffer, listed, head, loaded)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer, mode="r:") as tar:
        infos = tar.getmembers()
        assert infos[0].name == snapshot.MANIFEST
        assert infos[1].name == "lares-state/blueprint/lares.yaml"  # the reference's text
        secret = tar.getmember("lares-state/state/secrets/restic_local")
        assert secret.mode & 0o777 == 0o600
        assert secret.uid == 0 and secret.uname == ""
        manifest = tar.extractfile(infos[0])
        assert manifest is not None and b'"host": "nas"' in manifest.read()


def test_newest_state_snapshot_of_the_host() -> None:
    from lares.backup.restic import Snapshot

    def snap(i: str, hour: int, host: str, *tags: str) -> Snapshot:
        when = datetime(2026, 12, 1, hour, tzinfo=UTC)
        return Snapshot(i, i[:8], when, ("/x",), host, ("lares", f"host:{host}", *tags))

    found = [
        snap("a" * 64, 1, "nas", snapshot.STATE_TAG),
        snap("b" * 64, 3, "nas", "app:x"),
        snap("c" * 64, 2, "nas", snapshot.STATE_TAG),
        snap("d" * 64, 4, "other", snapshot.STATE_TAG),
    ]
    newest = snapshot.newest(found, "nas")
    assert newest is not None and newest.id == "c" * 64
    assert snapshot.newest(found, "gone") is None
