"""The restic adapter's pure parts, on outputs recorded from the real restic 0.14."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lares.backup.features import GATES, MINIMUM, Features, parse_version
from lares.backup.restic import (
    ACCESS_DENIED,
    DISK_FULL,
    FAILED,
    INCOMPLETE,
    INTERRUPTED,
    LOCKED,
    REPOSITORY_MISSING,
    UNREACHABLE,
    WRONG_PASSWORD,
    ItemError,
    Keep,
    Lock,
    Repo,
    ResticError,
    Status,
    Summary,
    backup_command,
    check_command,
    check_include,
    check_target,
    classify,
    copy_command,
    display_url,
    dump_command,
    error_text,
    forget_command,
    init_command,
    parse_event,
    parse_forget,
    parse_snapshots,
    parse_time,
    restic_would_remove,
    restore_command,
    snapshots_command,
    stale_reason,
    unlock_command,
    unsafe_node,
)
from lares.errors import UsageError

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples" / "restic"
V014 = Features((0, 14, 0))
V013 = Features((0, 13, 1))
V017 = Features((0, 17, 3))


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def repo(url: str = "/srv/restic") -> Repo:
    return Repo("local", url, Path("/var/lib/lares/secrets/restic_local"))


# ── version gates ─────────────────────────────────────────────────────────────────────────


def test_version_is_read_from_restic_version() -> None:
    assert parse_version(sample("restic-0.14-version.txt")) == (0, 14, 0)
    assert parse_version("restic 0.17.3 compiled with go1.23.3 on linux/amd64") == (0, 17, 3)
    with pytest.raises(ValueError, match="no restic version"):
        parse_version("command not found")


def test_gates_follow_the_version() -> None:
    assert V014.has("from_repo") and V014.has("compression")
    assert not V014.has("exit_codes")
    assert not V014.has("stdin_from_command")
    assert not V014.has("retry_lock")
    assert V017.has("exit_codes") and V017.has("stdin_from_command") and V017.has("json_errors")
    assert not V013.has("from_repo")
    assert all(gate.since >= MINIMUM for gate in GATES.values())
    assert set(V014.table()) == set(GATES)


def test_init_copies_chunker_parameters_the_way_the_version_wants() -> None:
    local, usb = repo("/srv/restic"), Repo("usb", "/media/usb/lares", Path("/s/restic_usb"))
    new = init_command(usb, V014, chunker_from=local)
    assert new.argv == ("restic", "init", "--copy-chunker-params", "--from-repo", "/srv/restic")
    assert new.env["RESTIC_FROM_PASSWORD_FILE"] == "/var/lib/lares/secrets/restic_local"
    assert new.env["RESTIC_PASSWORD_FILE"] == "/s/restic_usb"
    old = init_command(usb, V013, chunker_from=local)
    assert old.argv[-2:] == ("--repo2", "/srv/restic")
    assert old.env["RESTIC_PASSWORD_FILE2"] == "/var/lib/lares/secrets/restic_local"
    copy = copy_command(usb, local, V014, ["abc12345"])
    assert copy.argv == ("restic", "copy", "--from-repo", "/srv/restic", "abc12345")


# ── commands carry no secret ──────────────────────────────────────────────────────────────


def test_password_travels_as_a_file_never_in_argv(tmp_path: Path) -> None:
    password = tmp_path / "restic_local"
    password.write_text("s3cret-value-0123456789")
    r = Repo("local", "/srv/restic", password, env={"AWS_DEFAULT_REGION": "eu-west-1"})
    cmd = backup_command(r, ["/data"], host="nas", tags=["lares", "app:x"], excludes=["/data/c"])
    assert cmd.argv == (
        "restic",
        "backup",
        "--json",
        "--host",
        "nas",
        "--tag",
        "lares",
        "--tag",
        "app:x",
        "--exclude",
        "/data/c",
        "--",
        "/data",
    )
    assert cmd.env["RESTIC_PASSWORD_FILE"] == str(password)
    assert cmd.env["RESTIC_PASSWORD"] == ""  # an inherited one must not win
    assert cmd.env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert "s3cret" not in cmd.shown()
    assert "s3cret" not in " ".join(cmd.argv) + json.dumps(dict(cmd.env))
    stdin = backup_command(r, host="nas", tags=["lares"], stdin_filename="app-db.pg_dumpall.sql")
    assert stdin.argv[-3:] == ("--stdin", "--stdin-filename", "app-db.pg_dumpall.sql")
    assert stdin.stdin


def test_forget_keeps_per_app_and_kind() -> None:
    cmd = forget_command(repo(), Keep(daily=30, weekly=8, monthly=12), host="nas", tag="lares")
    assert cmd.argv == (
        "restic",
        "forget",
        "--json",
        "--prune",
        "--host",
        "nas",
        "--tag",
        "lares",
        "--group-by",
        "host,tags",
        "--keep-daily",
        "30",
        "--keep-weekly",
        "8",
        "--keep-monthly",
        "12",
    )
    with pytest.raises(UsageError, match="keeps nothing"):
        forget_command(repo(), Keep(), host="nas", tag="lares")


def test_urls_with_passwords_are_masked() -> None:
    assert display_url("rest:https://user:hunter2@backup.example/nas") == (
        "rest:https://user:***@backup.example/nas"
    )
    assert display_url("sftp:backup@host:/srv/restic") == "sftp:backup@host:/srv/restic"


# ── errors ────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("restic-0.14-wrong-password.stderr", WRONG_PASSWORD),
        ("restic-0.14-repository-missing.stderr", REPOSITORY_MISSING),
        ("restic-0.14-locked.stderr", LOCKED),
        ("restic-0.14-locked-exclusive.stderr", LOCKED),
        ("restic-0.14-disk-full.stderr", DISK_FULL),
        ("restic-0.14-interrupted.stderr", INTERRUPTED),
        ("restic-0.14-s3-access-denied.stderr", ACCESS_DENIED),
        ("restic-0.14-sftp-login-refused.stderr", ACCESS_DENIED),
        ("restic-0.14-sftp-login-refused-unreported.stderr", UNREACHABLE),
        ("restic-0.14-s3-connection-refused.stderr", UNREACHABLE),
    ],
)
def test_recorded_failures_are_classified(name: str, kind: str) -> None:
    code = 130 if kind == INTERRUPTED else 1
    assert classify(code, sample(name), V014) == kind


def test_exit_codes_and_json_errors_of_newer_restic() -> None:
    assert classify(12, "", V017) == WRONG_PASSWORD
    assert classify(10, "", V017) == REPOSITORY_MISSING
    assert classify(11, "", V017) == LOCKED
    assert classify(12, "", V014) == FAILED  # 0.14 has no such codes
    line = '{"message_type":"exit_error","code":1,"message":"Fatal: no space left on device"}'
    assert classify(1, line, V017) == DISK_FULL
    assert error_text(line, V017) == "Fatal: no space left on device"
    assert classify(3, "", V014) == INCOMPLETE
    assert classify(1, "something else", V014) == FAILED


def test_errors_say_which_repository_and_what_to_do() -> None:
    err = ResticError(
        WRONG_PASSWORD,
        repo(),
        what="list snapshots",
        returncode=1,
        stderr=sample("restic-0.14-wrong-password.stderr"),
    )
    assert err.code == "restic-wrong-password"
    assert err.message == "wrong password for repository local (/srv/restic)"
    assert err.hint is not None and "secret restic_local" in err.hint
    locked = ResticError(
        LOCKED, repo(), what="check", returncode=1, stderr=sample("restic-0.14-locked.stderr")
    )
    assert (
        locked.message
        == "repository local (/srv/restic) is locked by another restic (PID 470 on vm)"
    )
    full = ResticError(
        DISK_FULL,
        repo(),
        what="back up 1 path to local",
        returncode=1,
        stderr=sample("restic-0.14-disk-full.stderr"),
    )
    # then the filesystem that holds the repository (here: whatever holds /srv), and how full
    assert full.message.startswith(
        "no space left on the device of repository local (/srv/restic) "
        "while trying to back up 1 path to local: /"
    )
    assert "% full, " in full.message and " free of " in full.message
    assert full.hint is not None and "lares backup prune --repo local" in full.hint
    assert "no space left on device" in full.render()
    missing = ResticError(
        REPOSITORY_MISSING,
        repo(),
        what="x",
        returncode=1,
        stderr=sample("restic-0.14-repository-missing.stderr"),
    )
    assert missing.hint == "run `lares backup init`, or fix backup.repositories.local.url"


def test_terminal_escapes_are_removed_from_errors() -> None:
    assert error_text(sample("restic-0.14-interrupted.stderr"), V014) == (
        "signal interrupt received, cleaning up"
    )


# ── JSON output ───────────────────────────────────────────────────────────────────────────


def test_backup_progress_and_summary() -> None:
    events = [parse_event(line) for line in sample("restic-0.14-backup.jsonl").splitlines()]
    statuses = [e for e in events if isinstance(e, Status)]
    [summary] = [e for e in events if isinstance(e, Summary)]
    assert statuses and statuses[0].percent == 0
    assert statuses[-1].bytes_done <= statuses[-1].total_bytes == 102000002
    # a second backup of the folder: one new file, two unchanged ones found via the parent
    assert (summary.files_new, summary.files_unmodified) == (1, 2)
    assert summary.total_files_processed == 3 and summary.data_added > 0
    assert len(summary.snapshot_id) == 8
    incremental = [
        parse_event(x) for x in sample("restic-0.14-backup-incremental.jsonl").splitlines()
    ]
    last = incremental[-1]
    assert isinstance(last, Summary)
    assert (last.files_new, last.files_changed, last.files_unmodified) == (0, 1, 2)


def test_a_killed_backup_has_no_summary_and_unknown_eta_is_none() -> None:
    events = [parse_event(x) for x in sample("restic-0.14-backup-killed.jsonl").splitlines()]
    assert not any(isinstance(e, Summary) for e in events)
    stdin = [parse_event(x) for x in sample("restic-0.14-backup-stdin.jsonl").splitlines()]
    assert isinstance(stdin[-1], Summary)
    huge = parse_event('{"message_type":"status","seconds_remaining":9223372036854775808}')
    assert isinstance(huge, Status) and huge.seconds_remaining is None


def test_item_errors_and_noise() -> None:
    line = (
        '{"message_type":"error","error":{"message":"open /x: permission denied"},'
        '"during":"archival","item":"/x"}'
    )
    assert parse_event(line) == ItemError("open /x: permission denied", "archival", "/x")
    assert parse_event("not json") is None
    assert parse_event('{"message_type":"verbose_status"}') is None


def test_snapshots_are_sorted_and_tagged() -> None:
    snaps = parse_snapshots(sample("restic-0.14-snapshots.json"))
    assert [s.time for s in snaps] == sorted(s.time for s in snaps)
    stdin = next(s for s in snaps if s.paths == ("/demo-db.pg_dumpall.sql",))
    assert stdin.hostname == "nas"
    tagged = [s for s in snaps if s.tag("kind") == "files"]
    assert tagged and tagged[0].tag("app") == "demo"
    assert stdin.matches(stdin.short_id) and not stdin.matches(stdin.short_id[:4])


def test_restic_times_keep_their_nanoseconds_to_the_microsecond() -> None:
    assert parse_time("2026-11-26T18:05:30.765893992Z") == datetime(
        2026, 11, 26, 18, 5, 30, 765893, tzinfo=UTC
    )
    assert parse_time("2026-11-26T19:05:30.5+01:00") == datetime(
        2026, 11, 26, 18, 5, 30, 500000, tzinfo=UTC
    )


def test_forget_report_is_the_first_json_line() -> None:
    kept, removed = parse_forget(sample("restic-0.14-forget-prune.out"))
    assert (kept, removed) == (3, 1)


# ── locks ─────────────────────────────────────────────────────────────────────────────────


def _lock(name: str = "restic-0.14-cat-lock.json") -> Lock:
    return Lock.from_json("61017e8e" + "0" * 56, json.loads(sample(name)))


def test_lock_json() -> None:
    lock = _lock()
    assert (lock.hostname, lock.pid, lock.exclusive) == ("vm", 470, False)
    assert _lock("restic-0.14-cat-lock-exclusive.json").exclusive
    assert lock.describe().startswith("lock 61017e8e of PID 470 on vm (")


def test_only_stale_locks_are_stale() -> None:
    lock = _lock()
    soon = lock.time + timedelta(minutes=1)
    dead = stale_reason(lock, hostname="vm", now=soon, alive=lambda pid: False)
    assert dead == "PID 470 no longer runs on vm"
    assert stale_reason(lock, hostname="vm", now=soon, alive=lambda pid: True) is None
    # another host's process cannot be checked: only age makes its lock stale
    assert stale_reason(lock, hostname="nas", now=soon, alive=lambda pid: False) is None
    old = stale_reason(
        lock, hostname="nas", now=lock.time + timedelta(hours=3), alive=lambda p: True
    )
    assert old == "not refreshed for 180 minutes"


def test_restic_unlock_would_remove_more_than_lares() -> None:
    lock = _lock()
    later = lock.time + timedelta(minutes=45)
    # restic calls a 45-minute-old lock of another host stale; lares does not yet
    assert restic_would_remove(lock, hostname="nas", now=later, alive=lambda p: True)
    assert stale_reason(lock, hostname="nas", now=later, alive=lambda p: True) is None


# ── restore safety ────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("name", "path", "safe"),
    [
        ("f.txt", "/data/f.txt", True),
        ("new\nline", "/data/new\nline", True),
        ("..", "/data/..", False),
        ("a/b", "/data/a/b", False),
        ("evil", "/data/../../etc/evil", False),
        ("rel", "data/rel", False),
        ("", "/data/", False),
    ],
)
def test_snapshot_entries_that_could_climb_out(name: str, path: str, safe: bool) -> None:
    assert (unsafe_node(name, path) is None) is safe


def test_include_paths_are_normalised_or_refused() -> None:
    assert check_include("srv/app/data/") == "/srv/app/data"
    assert check_include("/srv/./app") == "/srv/app"
    with pytest.raises(UsageError, match=r"contains '\.\.'"):
        check_include("/srv/../etc")


def test_restore_target_must_be_new_or_empty(tmp_path: Path) -> None:
    assert check_target(tmp_path / "new") == (tmp_path / "new").resolve()
    (tmp_path / "empty").mkdir()
    assert check_target(tmp_path / "empty") == (tmp_path / "empty").resolve()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(UsageError, match="is not empty"):
        check_target(tmp_path / "full")
    with pytest.raises(UsageError, match="refusing to restore into /"):
        check_target(Path("/"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is not a folder"):
        check_target(tmp_path / "file")


def test_a_repository_without_a_password_file_says_to_init(tmp_path: Path) -> None:
    from lares.backup.restic import Restic
    from lares.errors import LaresError

    missing = Repo("usb", "/media/usb/lares", tmp_path / "restic_usb")
    restic = Restic(missing, V014, hostname="nas")
    with pytest.raises(LaresError) as err:
        restic.run(snapshots_command(missing))
    assert err.value.code == "backup-password"
    assert err.value.message == (
        f"repository usb has no password yet ({tmp_path / 'restic_usb'} is missing)"
    )
    assert err.value.hint is not None and "lares backup init" in err.value.hint


# ── remote backends: secret environment and options ──────────────────────────────────────


def s3_repo(
    secrets: Path,
    name: str = "offsite",
    *,
    env: dict[str, str] | None = None,
    secret_env: dict[str, str] | None = None,
    options: dict[str, str] | None = None,
) -> Repo:
    """An S3 repository whose password and credentials live in the folder ``secrets``."""
    return Repo(
        name,
        "s3:https://s3.example/bucket",
        secrets / f"restic_{name}",
        env={"AWS_DEFAULT_REGION": "eu-west-1"} if env is None else env,
        secret_env={
            "AWS_ACCESS_KEY_ID": "offsite-key-id",
            "AWS_SECRET_ACCESS_KEY": "offsite-secret-key",
        }
        if secret_env is None
        else secret_env,
        options={"s3.storage-class": "STANDARD_IA", "s3.connections": "4"}
        if options is None
        else options,
    )


def _secrets(folder: Path, values: dict[str, str]) -> Path:
    """A secrets folder holding ``values`` (name → value)."""
    folder.mkdir(exist_ok=True)
    for name, value in values.items():
        (folder / name).write_text(value)
    return folder


def test_options_are_flags_of_every_command_and_secrets_go_by_name(tmp_path: Path) -> None:
    r = s3_repo(tmp_path)
    flags = ("-o", "s3.connections=4", "-o", "s3.storage-class=STANDARD_IA")
    cmd = backup_command(r, ["/data"], host="nas", tags=["lares"])
    assert cmd.argv[:5] == ("restic", *flags)
    assert cmd.argv[5:7] == ("backup", "--json")
    for built in (
        snapshots_command(r),
        check_command(r, "1/20"),
        forget_command(r, Keep(daily=7), host="nas", tag="lares"),
        restore_command(r, "abcd1234", tmp_path / "t"),
        dump_command(r, "abcd1234", "/x.sql"),
        unlock_command(r),
        init_command(r, V014),
    ):
        assert built.argv[1:5] == flags, built.argv
        assert built.secret_env == {
            "AWS_ACCESS_KEY_ID": "offsite-key-id",
            "AWS_SECRET_ACCESS_KEY": "offsite-secret-key",
        }
        assert "AWS_SECRET_ACCESS_KEY" not in built.env
        assert built.env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert "AWS_SECRET_ACCESS_KEY=<secret offsite-secret-key>" in cmd.shown(env=False)
    assert repo().option_flags() == []
    assert snapshots_command(repo()).argv[:2] == ("restic", "snapshots")


def test_a_copy_opens_both_repositories_with_one_environment(tmp_path: Path) -> None:
    local = Repo("local", "/srv/restic", tmp_path / "restic_local", options={"sftp.args": "-v"})
    offsite = s3_repo(tmp_path)
    cmd = copy_command(offsite, local, V014, ["abc12345"])
    assert cmd.argv == (
        "restic",
        "-o",
        "s3.connections=4",
        "-o",
        "s3.storage-class=STANDARD_IA",
        "-o",
        "sftp.args=-v",
        "copy",
        "--from-repo",
        "/srv/restic",
        "abc12345",
    )
    assert cmd.env["RESTIC_REPOSITORY"] == offsite.url
    assert cmd.env["RESTIC_FROM_PASSWORD_FILE"] == str(local.password_file)
    # the source's backend settings come along: an S3 source of a local copy
    back = init_command(local, V014, chunker_from=offsite)
    assert back.env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert back.secret_env["AWS_SECRET_ACCESS_KEY"] == "offsite-secret-key"
    assert back.argv[-3:] == ("--copy-chunker-params", "--from-repo", offsite.url)
    # what both set must agree: restic has one environment for both
    other = s3_repo(tmp_path, "other", secret_env={"AWS_SECRET_ACCESS_KEY": "other-key"})
    with pytest.raises(UsageError, match="set AWS_SECRET_ACCESS_KEY differently"):
        copy_command(other, offsite, V014)
    plain = s3_repo(tmp_path, "plain", secret_env={}, env={"AWS_ACCESS_KEY_ID": "AKIA"})
    with pytest.raises(UsageError, match="set AWS_ACCESS_KEY_ID differently"):
        copy_command(plain, offsite, V014)
    odd = s3_repo(tmp_path, "odd", options={"s3.connections": "9"})
    with pytest.raises(UsageError, match=r"set option s3\.connections differently"):
        copy_command(odd, offsite, V014)
    same = s3_repo(tmp_path, "same")
    assert copy_command(same, offsite, V014).argv.count("-o") == 2


def test_secret_values_are_read_when_restic_runs_and_only_into_its_environment(
    tmp_path: Path,
) -> None:
    from lares.backup.restic import Restic

    secrets = _secrets(
        tmp_path / "secrets",
        {
            "offsite-key-id": "AKIAEXAMPLE0123",
            "offsite-secret-key": "first-Secret-Value-0123456789",
            "restic_offsite": "the-restic-password-0123456789",
        },
    )
    r = s3_repo(secrets)
    restic = Restic(r, V014, hostname="nas")
    cmd = snapshots_command(r)
    env, masks = restic.prepare(cmd)
    assert env["AWS_SECRET_ACCESS_KEY"] == "first-Secret-Value-0123456789"
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAEXAMPLE0123"
    assert env["RESTIC_PASSWORD_FILE"] == str(secrets / "restic_offsite")
    assert set(masks) >= {"first-Secret-Value-0123456789", "the-restic-password-0123456789"}
    assert not any(v in " ".join(cmd.argv) for v in masks)
    # a value changed after the command was built is the one restic gets
    (secrets / "offsite-secret-key").write_text("second-Secret-Value-987654321\n")
    env, masks = restic.prepare(cmd)
    assert env["AWS_SECRET_ACCESS_KEY"] == "second-Secret-Value-987654321"
    assert "second-Secret-Value-987654321" in masks


def test_a_secret_echoed_by_a_failing_command_is_masked(tmp_path: Path) -> None:
    from lares.backup.command import Command
    from lares.backup.restic import Restic

    secrets = _secrets(
        tmp_path / "secrets",
        {
            "offsite-key-id": "AKIAEXAMPLE0123",
            "offsite-secret-key": "echoed-Secret-Value-0123456789",
            "restic_offsite": "pw-0123456789",
        },
    )
    r = s3_repo(secrets)
    restic = Restic(r, V014, hostname="nas")
    base = snapshots_command(r)
    echo = Command(
        ("sh", "-c", 'echo "Fatal: bad key $AWS_SECRET_ACCESS_KEY: Access Denied." >&2; exit 1'),
        what="list snapshots of offsite",
        env=base.env,
        secret_env=base.secret_env,
    )
    with pytest.raises(ResticError) as caught:
        restic.run(echo)
    err = caught.value
    assert err.kind == ACCESS_DENIED
    assert "echoed-Secret" not in err.render()
    assert "Fatal: bad key ******: Access Denied." in err.render()
    assert err.message == (
        "repository offsite (s3:https://s3.example/bucket) refused access while trying to "
        "list snapshots of offsite"
    )
    assert err.hint is not None
    assert "offsite-secret-key (AWS_SECRET_ACCESS_KEY)" in err.hint
    assert "lares secret set offsite-key-id" in err.hint


def test_a_missing_secret_names_the_repository_and_runs_nothing(tmp_path: Path) -> None:
    from lares.backup.command import Command
    from lares.backup.restic import MissingSecrets, Restic, credentials

    secrets = _secrets(
        tmp_path / "secrets",
        {
            "offsite-key-id": "AKIAEXAMPLE0123",
            "offsite-secret-key": "\n",  # empty: not set
            "restic_offsite": "pw-0123456789",
        },
    )
    r = s3_repo(secrets)
    ran = tmp_path / "ran"
    with pytest.raises(MissingSecrets) as caught:
        Restic(r, V014, hostname="nas").run(Command(("touch", str(ran))))
    assert not ran.exists()
    err = caught.value
    assert err.code == "backup-secret"
    assert err.message == (
        "repository offsite needs the secret offsite-secret-key (AWS_SECRET_ACCESS_KEY), "
        "which is not set"
    )
    assert err.hint == "store it with `lares secret set offsite-secret-key`"
    other = s3_repo(secrets, "usb", secret_env={"B2_ACCOUNT_KEY": "usb-key"})
    with pytest.raises(MissingSecrets) as both:
        credentials([r, other])
    assert both.value.message == (
        "repository offsite needs the secret offsite-secret-key (AWS_SECRET_ACCESS_KEY); "
        "repository usb needs the secret usb-key (B2_ACCOUNT_KEY), which are not set"
    )


def test_remote_failures_say_what_to_check() -> None:
    sftp = Repo("offsite", "sftp:backup@nas2:/srv/restic", Path("/s/restic_offsite"))
    refused = ResticError(
        ACCESS_DENIED,
        sftp,
        what="list snapshots of offsite",
        returncode=1,
        stderr=sample("restic-0.14-sftp-login-refused.stderr"),
    )
    assert refused.message == (
        "repository offsite (sftp:backup@nas2:/srv/restic) refused access while trying to "
        "list snapshots of offsite"
    )
    assert refused.hint == (
        "check the SSH login restic uses (user, key, known host): "
        "backup.repositories.offsite.url or its sftp.command option"
    )
    silent = ResticError(
        UNREACHABLE,
        sftp,
        what="list snapshots of offsite",
        returncode=1,
        stderr=sample("restic-0.14-sftp-login-refused-unreported.stderr"),
    )
    assert silent.message.startswith("could not start an SFTP session with repository offsite")
    assert silent.hint is not None and silent.hint.startswith(
        "ssh could not connect or log in: check that the server answers, then check the SSH"
    )
    down = ResticError(
        UNREACHABLE,
        Repo("offsite", "s3:http://127.0.0.1:9/lares-cap", Path("/s/restic_offsite")),
        what="list snapshots of offsite",
        returncode=1,
        stderr=sample("restic-0.14-s3-connection-refused.stderr"),
    )
    assert down.message == (
        "could not reach repository offsite (s3:http://127.0.0.1:9/lares-cap) while trying to "
        "list snapshots of offsite"
    )


def test_size_is_read_from_restic_stats_raw_data() -> None:
    from lares.backup.restic import parse_stats

    recorded = (
        '{"total_size":366946,"total_file_count":0,"total_blob_count":162,"snapshots_count":1}'
    )
    assert parse_stats(recorded + "\n") == 366946  # restic 0.14.0


def test_prune_report_gives_the_bytes_freed() -> None:
    from lares.backup.restic import parse_prune

    text = (
        '[{"keep": [], "remove": []}]\n'
        "to repack:             0 blobs / 0 B\n"
        "this removes:          2 blobs / 30.001 MiB\n"
        "to delete:             4 blobs / 1.150 KiB\n"
        "total prune:           6 blobs / 30.002 MiB\n"
        "remaining:             8 blobs / 8.584 MiB\n"
    )
    assert parse_prune(text) == int(30.002 * 1024 * 1024)
    assert parse_prune('[{"keep": [], "remove": []}]\n') == 0
