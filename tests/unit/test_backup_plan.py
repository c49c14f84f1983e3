"""What ``lares backup run`` plans, before anything runs: commands, tags, snapshots, due-ness."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lares.backup import BackupContext, open_context
from lares.backup.actions import rotate_subset
from lares.backup.features import Features
from lares.backup.jobs import AppJob, CopyJob, _map_prefix, host_path, plan_run, tags
from lares.backup.records import Records
from lares.blueprint.load import load_file, load_reference
from lares.errors import LaresError, UsageError
from lares.state import StateDir

APP = """\
id: keep
name: Keep
description: notes with a database
category: notes
containers:
  keep:
    image: example/keep
    version: "1.0"
    memory: {reservation: 16MiB, limit: 64MiB}
  db:
    image: postgres
    version: "16.10-alpine"
    role: database
    memory: {reservation: 16MiB, limit: 64MiB}
backup:
  databases:
    - {container: db, engine: postgres, user: keep, database: keep}
  paths: ["{appdata}/data", "{appdata}/gone", "{folder:documents}"]
  exclude: ["{appdata}/data/cache", "*.tmp"]
"""

BLUEPRINT = """\
version: 1
host: {{name: nas, cpu: {{cores: 4, threads: 8}}, memory: 16GiB}}
paths:
  appdata: {appdata}
  pool: {pool}
  folders: {{documents: documents}}
network: {{lan: 10.1.0.0/24, host_address: 10.1.0.2}}
stacks:
  main: {{apps: [keep]}}
catalog: [catalog]
backup:
  snapshot_retention: {retention}
  repositories:
    offsite: {{url: "sftp:backup@far:/srv/restic", schedule: "*-*-01 05:00:00", copy_from: local}}
    local: {{url: /srv/restic, schedule: "*-*-* 03:00:00"}}
"""


def context(tmp_path: Path, *, retention: int = 0) -> BackupContext:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "keep.yaml").write_text(APP)
    appdata, pool = tmp_path / "appdata", tmp_path / "pool"
    (appdata / "keep" / "data").mkdir(parents=True)
    (pool / "documents").mkdir(parents=True)
    bp = tmp_path / "lares.yaml"
    bp.write_text(BLUEPRINT.format(appdata=appdata, pool=pool, retention=retention))
    return open_context(load_file(bp), tmp_path / "state", features=Features((0, 14, 0)))


NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def test_plan_dumps_then_files_with_identifying_tags(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    plan = plan_run(ctx, repo="local", now=NOW)
    [job] = plan.jobs
    assert isinstance(job, AppJob)
    [dump] = job.dumps
    assert dump.dump.argv == (
        "docker",
        "exec",
        "keep-db",
        "pg_dumpall",
        "--username",
        "keep",
        "--no-password",
        "--database",
        "keep",
    )
    assert dump.filename == "keep-db.pg_dumpall.sql"
    assert dump.backup.argv[-3:] == ("--stdin", "--stdin-filename", "keep-db.pg_dumpall.sql")
    assert tags("nas", "keep", "database", "db") == [
        "lares",
        "host:nas",
        "app:keep",
        "kind:database",
        "db:db",
    ]
    for tag in tags("nas", "keep", "database", "db"):
        assert tag in dump.backup.argv
    assert job.files is not None
    argv = job.files.backup.argv
    data, docs = str(tmp_path / "appdata/keep/data"), str(tmp_path / "pool/documents")
    assert argv[argv.index("--") + 1 :] == (data, docs)
    assert argv[argv.index(f"{data}/cache") - 1] == "--exclude"
    assert "*.tmp" in argv
    gone = str(tmp_path / "appdata/keep/gone")
    assert f"{gone} does not exist; it is not backed up" in job.warnings
    # /tmp is not btrfs here: a live backup, said so
    assert any("is backed up live" in w for w in job.warnings)
    # nothing per run: the same plan tomorrow has the same backup commands
    later = plan_run(ctx, repo="local", now=datetime(2026, 3, 11, 8, 0, tzinfo=UTC))
    assert later.commands() == plan.commands()


def test_btrfs_paths_are_read_from_a_stable_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = context(tmp_path, retention=3)
    appdata, pool = tmp_path / "appdata", tmp_path / "pool"
    from lares.backup import hooks
    from lares.backup.hooks import btrfs

    # two subvolumes: appdata and the pool
    monkeypatch.setattr(hooks, "filesystem_of", lambda path, mounts=None: ("btrfs", "/"))
    monkeypatch.setattr(
        btrfs, "subvolume_root", lambda path: appdata if appdata in path.parents else pool
    )
    [job] = plan_run(ctx, repo="local", now=NOW).jobs
    assert isinstance(job, AppJob)
    first, second = job.snapshots
    current = appdata / ".lares-snapshots" / "keep" / "current"
    assert first.create.argv == ("btrfs", "subvolume", "snapshot", "-r", str(appdata), str(current))
    assert second.path == pool / ".lares-snapshots" / "keep" / "current"
    assert first.keep_as == current.parent / "20260310T080000Z"
    assert job.files is not None
    argv = job.files.backup.argv
    assert argv[argv.index("--") + 1 :] == (
        str(current / "keep/data"),
        str(second.path / "documents"),
    )
    assert f"{current}/keep/data/cache" in argv  # the exclude follows the data into the snapshot
    assert f"{current}/.lares-snapshots" in argv
    assert job.files.sources[str(current / "keep/data")] == str(first.keep_as / "keep/data")
    assert job.files.live[str(current / "keep/data")] == str(appdata / "keep/data")
    commands = job.commands()
    assert commands[:2] == [first.create, second.create]
    assert commands[-2:] == [first.keep, second.keep]
    assert not any("backed up live" in w for w in job.warnings)


def test_excludes_follow_the_longest_matching_path() -> None:
    mapping = {"/d/app": "/snap/app", "/d/app/sub": "/snap2/sub"}
    assert _map_prefix("/d/app/sub/cache", mapping) == "/snap2/sub/cache"
    assert _map_prefix("/d/app/x", mapping) == "/snap/app/x"
    assert _map_prefix("/d/apple", mapping) == "/d/apple"
    assert _map_prefix("*.tmp", mapping) == "*.tmp"


def test_due_follows_the_schedule_and_the_last_success(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    records = Records(ctx.state)
    assert len(plan_run(ctx, repo="local", due=True, now=NOW).jobs) == 1  # never ran
    records.app_done(
        "local", "keep", ok=True, when=datetime(2026, 3, 10, 3, 5, tzinfo=UTC), error=None
    )
    plan = plan_run(ctx, repo="local", due=True, now=NOW)
    assert plan.jobs == ()
    assert plan.skipped[0].why == "not due (next 2026-03-11 03:00)"
    # without --due it runs anyway
    assert len(plan_run(ctx, repo="local", now=NOW).jobs) == 1
    # a failure does not count as done
    records.app_done(
        "local", "keep", ok=False, when=datetime(2026, 3, 11, 3, 5, tzinfo=UTC), error="x"
    )
    tomorrow = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
    assert len(plan_run(ctx, repo="local", due=True, now=tomorrow).jobs) == 1


def test_copies_run_after_their_source(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    assert ctx.repo_names() == ["local", "offsite"]
    plan = plan_run(ctx, now=NOW)
    assert [type(j).__name__ for j in plan.jobs] == ["AppJob", "CopyJob"]
    copy = plan.jobs[1]
    assert isinstance(copy, CopyJob) and copy.source == "local"
    assert copy.command.argv[:4] == ("restic", "copy", "--from-repo", "/srv/restic")
    ctx.records.copy_done(
        "offsite", ok=True, when=datetime(2026, 3, 1, 5, 1, tzinfo=UTC), error=None
    )
    due = plan_run(ctx, repo="offsite", due=True, now=NOW)
    assert due.jobs == () and due.skipped[0].why == "not due (next 2026-04-01 05:00)"


def test_unknown_repository_and_bad_placeholder(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    with pytest.raises(UsageError, match="there is no repository 'usb'") as err:
        plan_run(ctx, repo="usb")
    assert err.value.hint == "repositories: offsite, local"
    with pytest.raises(LaresError, match=r"uses \{folder:nope\}, which names no host folder"):
        host_path(ctx.blueprint, "keep", "{folder:nope}/x")


def test_no_data_path_at_all_is_an_error(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    (tmp_path / "appdata/keep/data").rmdir()
    (tmp_path / "pool/documents").rmdir()
    [job] = plan_run(ctx, repo="local", now=NOW).jobs
    assert isinstance(job, AppJob)
    assert job.files is None
    assert job.errors == ("none of the app's data paths exists",)


def test_the_reference_homelab_plans_without_touching_anything(tmp_path: Path) -> None:
    ctx = open_context(load_reference(), tmp_path / "state", features=Features((0, 14, 0)))
    plan = plan_run(ctx, now=NOW)
    repos = {j.repo for j in plan.jobs}
    assert repos == {"local", "usb", "offsite"}
    assert os.listdir(tmp_path / "state") == []  # nothing written by planning
    # no /DATA here: SQLite files the apps have not made are skipped with a warning
    [pihole] = [j for j in plan.jobs if j.repo == "local" and getattr(j, "app", "") == "pihole"]
    assert isinstance(pihole, AppJob) and pihole.dumps == ()
    assert (
        "/DATA/AppData/pihole/etc-pihole/gravity.db does not exist yet; the database is not "
        "backed up" in pihole.warnings
    )


@pytest.mark.parametrize(
    ("setting", "last", "subset"),
    [
        ("5%", None, "1/20"),
        ("5%", 1, "2/20"),
        ("5%", 20, "1/20"),
        ("1/3", 2, "3/3"),
        ("100%", 4, "1/1"),
    ],
)
def test_check_reads_the_next_slice(setting: str, last: int | None, subset: str) -> None:
    assert rotate_subset(setting, last)[0] == subset


def test_an_interrupted_run_is_found_and_marked(tmp_path: Path) -> None:
    records = Records(StateDir.open(tmp_path))
    when = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    records.begin_run("abc", ["local"], when)
    records.item_started("local", "keep", "files", when)
    # this process is alive: its run is not interrupted
    assert records.recover(when) is None
    run = records.run()
    run["pid"] = 2**22 + 12345  # beyond pid_max: no such process
    records.state.write_json("backup/run.json", run)
    found = records.recover(when)
    assert found is not None and found["id"] == "abc"
    assert records.run()["state"] == "interrupted"
    entry = records.app("local", "keep")
    assert entry["state"] == "failed" and entry["error"] == "the run was interrupted"
    assert entry["items"]["files"]["state"] == "failed"
    assert records.recover(when) is None


def test_good_snapshots_match_by_prefix(tmp_path: Path) -> None:
    records = Records(StateDir.open(tmp_path))
    records.add_good("local", "9b52a4e5", {"app": "keep", "item": "files"})
    assert records.good_meta("local", "9b52a4e5" + "f" * 56) == {"app": "keep", "item": "files"}
    assert records.good_meta("local", "9b52a4e6") is None
    records.forget_good("local", {"deadbeef" + "0" * 56})
    assert records.good("local") == {}
