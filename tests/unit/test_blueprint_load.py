"""The blueprint loader: every problem reported together, each at file:line:column, with a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import MINIMAL, BlueprintKit
from lares.blueprint.load import REFERENCE_NAME, load, load_file, load_reference, load_text
from lares.blueprint.model import DEFAULT_FOLDERS
from lares.errors import ConfigError, ConfigErrors


def _errors(kit: BlueprintKit, text: str, env: dict[str, str] | None = None) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as caught:
        kit.load(text, env=env)
    return caught.value.errors


def _where(error: ConfigError) -> tuple[str | None, int | None, int | None]:
    assert error.location is not None
    return error.location.file, error.location.line, error.location.column


def test_minimal_blueprint_loads(kit: BlueprintKit, minimal_text: str) -> None:
    loaded = kit.load(minimal_text)
    bp = loaded.blueprint
    assert bp.host.name == "testhost"
    assert bp.host.memory == 16 * 1024**3
    assert bp.paths.folders == DEFAULT_FOLDERS
    assert list(bp.stacks) == ["main"]
    assert loaded.filename == "test.yaml"
    assert loaded.locate("host", "memory").line == kit.where(minimal_text, "memory: 16GiB")[0]


def test_unknown_top_level_key_suggests_the_right_one(kit: BlueprintKit) -> None:
    text = kit.text(host=None, hsot="\nname: testhost\n")
    errors = _errors(kit, text)
    assert [(e.code, e.message, e.hint) for e in errors] == [
        ("schema", "'host' is required but missing", None),
        ("schema", "unknown key 'hsot'", "did you mean 'host'?"),
    ]
    # a missing key points at the mapping that should hold it: here the top of the file
    assert _where(errors[0]) == kit.pos(text, "version: 1")
    assert _where(errors[1]) == kit.pos(text, "hsot:")
    assert errors[1].render() == (
        f"test.yaml:{kit.where(text, 'hsot:')[0]}:1: hsot: error [schema] unknown key 'hsot'\n"
        "  hint: did you mean 'host'?"
    )


def test_unknown_nested_key_suggests_the_right_one(kit: BlueprintKit) -> None:
    text = kit.text(host="\nname: testhost\ncpu: {cores: 4, threads: 8}\nmemroy: 16GiB\n")
    errors = _errors(kit, text)
    assert [(e.message, e.hint, e.location and e.location.path) for e in errors] == [
        ("'memory' is required but missing", None, "host.memory"),
        ("unknown key 'memroy'", "did you mean 'memory'?", "host.memroy"),
    ]
    assert _where(errors[0]) == kit.pos(text, "\nhost:")
    assert _where(errors[1]) == kit.pos(text, "memroy:")


def test_unknown_key_deep_in_a_flow_mapping(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb: {exposre: lan}
        """
    )
    [error] = _errors(kit, text)
    assert error.message == "unknown key 'exposre'"
    assert error.hint == "did you mean 'exposure'?"
    assert _where(error) == kit.pos(text, "exposre: lan")


def test_unknown_key_without_a_close_match_lists_the_known_keys(kit: BlueprintKit) -> None:
    text = kit.text(paths="\nappdata: /srv/appdata\npool: /srv/pool\nzzz: 1\n")
    [error] = _errors(kit, text)
    assert error.message == "unknown key 'zzz'"
    assert error.hint == "known keys here: appdata, folders, pool"
    assert _where(error) == kit.pos(text, "zzz: 1")


def test_wrong_types(kit: BlueprintKit) -> None:
    text = kit.text(host="\nname: Test_Host\ncpu: {cores: four, threads: 8}\nmemory: lots\n")
    errors = _errors(kit, text)
    assert [(e.message, _where(e)) for e in errors] == [
        (
            "String should match pattern '^[a-z0-9][a-z0-9-]{0,62}$'",
            kit.pos(text, "name: Test_Host"),
        ),
        (
            "Input should be a valid integer, unable to parse string as an integer",
            kit.pos(text, "cores: four"),
        ),
        (
            "'lots' is not a size; write a number and a unit such as 512MiB, 2GiB or 12TB",
            kit.pos(text, "memory: lots"),
        ),
    ]


def test_missing_required_key_points_at_its_parent(kit: BlueprintKit) -> None:
    text = kit.text(network="\nhost_address: 192.168.50.2\n")
    [error] = _errors(kit, text)
    assert error.message == "'lan' is required but missing"
    assert error.location is not None and error.location.path == "network.lan"
    assert _where(error) == kit.pos(text, "\nnetwork:")


def test_model_rules_across_fields(kit: BlueprintKit) -> None:
    text = kit.text(
        storage="""
        pools:
          tank:
            engine: mdadm
            level: single
            mount: /srv/pool
            devices: [{path: /dev/sda, size: 1TB}]
        """,
        monitor="""
        thresholds: {disk_warn: 95, disk_crit: 90}
        interval: soon
        """,
    )
    errors = _errors(kit, text)
    assert [(e.message, _where(e)) for e in errors] == [
        (
            "level 'single' is not a mdadm level; use one of raid0, raid1, raid5, raid6, raid10",
            kit.pos(text, "tank:"),
        ),
        ("disk_crit must not be below disk_warn", kit.pos(text, "thresholds:")),
        (
            "'soon' is not a duration; write it as 30s, 5m, 2h, 1d or 1h30m",
            kit.pos(text, "interval: soon"),
        ),
    ]


def test_blueprint_wide_rule_points_into_the_file(kit: BlueprintKit) -> None:
    text = kit.text(stacks="\na:\n  network: nope\n  apps: [tweb]\n")
    [error] = _errors(kit, text)
    assert error.message == "stack 'a' uses network 'nope', which network.docker does not define"
    assert _where(error) == kit.pos(text, "version: 1")


def test_app_in_two_stacks(kit: BlueprintKit) -> None:
    text = kit.text(stacks="\na:\n  apps: [tweb]\nb:\n  apps: [tweb]\n")
    [error] = _errors(kit, text)
    assert error.message == "app 'tweb' is in both stacks 'a' and 'b'"


def test_yaml_syntax_error_has_its_position(kit: BlueprintKit) -> None:
    text = "version: 1\nhost: {name: a cpu: 1}\n"  # a missing comma: on its own line
    [error] = _errors(kit, text)
    assert error.code == "yaml-syntax"
    assert error.message == "this is not valid YAML: did not find expected ',' or '}'"
    assert error.hint == "check indentation, colons and quotes around this position"
    assert _where(error) == ("test.yaml", 2, 19)


@pytest.mark.parametrize(
    ("text", "where", "message", "hint"),
    [
        (
            "version: 1\nhost: {name: a, cpu: 2\nstacks:\n  main: {}\n",
            (2, 7),
            "the { here opens a flow mapping that is not closed (the parser gave up at line 3, "
            "column 7: did not find expected ',' or '}')",
            "close it with } where it ends, or write the value on indented lines instead",
        ),
        (
            "version: 1\nhost: {name: a\n",
            (2, 7),
            "the { here opens a flow mapping that is not closed (the parser gave up at line 3, "
            "column 1: did not find expected ',' or '}')",
            "close it with } where it ends, or write the value on indented lines instead",
        ),
        (
            "version: 1\nhost:\n  name: [a, b\n  cpu: 1\n",
            (3, 9),
            "the [ here opens a flow sequence that is not closed (the parser gave up at line 4, "
            "column 6: did not find expected ',' or ']')",
            "close it with ] where it ends, or write the value on indented lines instead",
        ),
        (
            'version: 1\nhost: "nas\nstacks: {}\n',
            (2, 7),
            "the quote here opens a quoted string that is not closed (the parser gave up at "
            "line 4, column 1: found unexpected end of stream)",
            "end it with the same quote, or write the value on indented lines instead",
        ),
    ],
)
def test_an_unclosed_opener_is_reported_where_it_opened(
    kit: BlueprintKit, text: str, where: tuple[int, int], message: str, hint: str
) -> None:
    [error] = _errors(kit, text)
    assert _where(error) == ("test.yaml", *where)
    assert error.message == f"this is not valid YAML: {message}"
    assert error.hint == hint


def test_tab_indentation(kit: BlueprintKit) -> None:
    [error] = _errors(kit, "version: 1\nhost:\n\tname: x\n")
    assert error.code == "yaml-syntax"
    assert _where(error) == ("test.yaml", 3, 1)
    assert "'\\t'" in error.message


def test_forbidden_character_has_its_position(kit: BlueprintKit) -> None:
    [error] = _errors(kit, "version: 1\nhost: {name: a\x00b}\n")
    assert error.message == "this is not valid YAML: the character U+0000 is not allowed"
    assert _where(error) == ("test.yaml", 2, 15)


def test_duplicate_key(kit: BlueprintKit) -> None:
    text = "version: 1\nhost:\n  name: a\n  name: b\n"
    [error] = _errors(kit, text)
    assert error.code == "yaml-syntax"
    assert (
        error.message == "this is not valid YAML: the key 'name' appears twice in the same mapping"
    )
    assert _where(error) == ("test.yaml", 4, 3)


def test_empty_and_non_mapping_files(kit: BlueprintKit) -> None:
    [empty] = _errors(kit, "# nothing here\n")
    assert empty.message == "the blueprint is empty"
    assert empty.hint == "run `lares init` for a commented starting point"
    assert _where(empty) == ("test.yaml", 1, 1)
    [listed] = _errors(kit, "- host\n- paths\n")
    assert listed.message == "the blueprint must be a mapping of keys to values"
    assert _where(listed) == ("test.yaml", 1, 1)


def test_every_problem_is_reported_at_once(kit: BlueprintKit) -> None:
    text = kit.text(
        version="2",
        host="\nname: testhost\ncpu: {cores: 0, threads: 8}\nmemroy: 16GiB\n",
        paths="\nappdata: srv/appdata\npool: /srv/pool\n",
        stacks="\nmain:\n  apps:\n    tweb: {exposure: world}\n",
    )
    errors = _errors(kit, text)
    assert [e.message for e in errors] == [
        "Input should be 1",
        "'memory' is required but missing",
        "Input should be greater than or equal to 1",
        "unknown key 'memroy'",
        "'srv/appdata' must be an absolute path (start with /)",
        "Input should be 'none', 'lan' or 'public'",
    ]
    # sorted by position, every one of them in the file
    lines = [e.location.line for e in errors if e.location]
    assert lines == sorted(lines)
    assert all(e.location and e.location.file == "test.yaml" for e in errors)
    with pytest.raises(ConfigErrors) as caught:
        kit.load(text)
    assert str(caught.value).count("error [schema]") == 6


# ── ${VAR} interpolation ─────────────────────────────────────────────────────────────────────


def test_variables_come_from_the_environment(kit: BlueprintKit) -> None:
    text = kit.text(
        host="""
        name: ${HOST_NAME}
        cpu: {cores: "${CORES:-2}", threads: 8}
        memory: ${MEMORY:-8GiB}
        timezone: "${TZ-Etc/UTC}"
        """
    )
    bp = kit.load(text, env={"HOST_NAME": "box", "MEMORY": "32GiB"}).blueprint
    assert (bp.host.name, bp.host.cpu.cores, bp.host.memory) == ("box", 2, 32 * 1024**3)
    assert bp.host.timezone == "Etc/UTC"


def test_empty_variable_takes_the_default(kit: BlueprintKit) -> None:
    text = kit.text(host="\nname: ${N:-fallback}\ncpu: {cores: 1, threads: 1}\nmemory: 8GiB\n")
    assert kit.load(text, env={"N": ""}).blueprint.host.name == "fallback"


def test_double_dollar_keeps_a_literal(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb:
              env: {GREETING: "$${HOME} and ${WHO} cost $$5"}
        """
    )
    loaded = kit.load(text, env={"WHO": "me", "HOME": "/root"})
    assert loaded.blueprint.stacks["main"].apps["tweb"].env == {
        "GREETING": "${HOME} and me cost $$5"
    }


def test_unset_variables_are_all_reported(kit: BlueprintKit) -> None:
    text = kit.text(
        host="\nname: ${HOST_NAME}\ncpu: {cores: 4, threads: 8}\nmemory: ${MEMORY}\n",
        access="\ndomain: ${DOMAIN:-mydomain.net}\n",
    )
    errors = _errors(kit, text)
    assert [(e.code, e.message, e.hint) for e in errors] == [
        (
            "env-unset",
            "${HOST_NAME} is not set in the environment",
            "export HOST_NAME=…, or write ${HOST_NAME:-default}",
        ),
        (
            "env-unset",
            "${MEMORY} is not set in the environment",
            "export MEMORY=…, or write ${MEMORY:-default}",
        ),
    ]
    assert _where(errors[0]) == kit.pos(text, "name: ${HOST_NAME}")
    assert _where(errors[1]) == kit.pos(text, "memory: ${MEMORY}")


def test_unset_variable_in_a_list(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb:
              volumes:
                - /srv/appdata/a:/a
                - ${EXTRA}:/b
        """
    )
    [error] = _errors(kit, text)
    assert error.message == "${EXTRA} is not set in the environment"
    assert _where(error) == kit.pos(text, "${EXTRA}:/b")


def test_process_environment_is_the_default(
    kit: BlueprintKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LARES_TEST_HOST", "fromenv")
    text = kit.text(host="\nname: ${LARES_TEST_HOST}\ncpu: {cores: 1, threads: 1}\nmemory: 1GiB\n")
    loaded = load_text(text, filename="test.yaml", base_dir=MINIMAL.parent)
    assert loaded.blueprint.host.name == "fromenv"


# ── shorthand, files, the reference ──────────────────────────────────────────────────────────


def test_apps_list_shorthand_equals_the_mapping(kit: BlueprintKit) -> None:
    short = kit.load(kit.text(stacks="\nmain:\n  apps: [tweb, tdb]\n")).blueprint
    long = kit.load(kit.text(stacks="\nmain:\n  apps:\n    tweb: {}\n    tdb:\n")).blueprint
    assert short.stacks == long.stacks
    assert list(short.stacks["main"].apps) == ["tweb", "tdb"]
    assert short.stacks["main"].apps["tdb"].enabled is True


def test_apps_list_with_a_mapping_item_is_refused(kit: BlueprintKit) -> None:
    text = kit.text(stacks="\nmain:\n  apps: [tweb, {tdb: {}}]\n")
    errors = _errors(kit, text)
    assert errors[0].message == "list each app by name, or use a mapping of name: settings"
    assert _where(errors[0]) == kit.pos(text, "apps: [tweb,")


def test_load_file_uses_its_folder_as_base(tmp_path: Path, minimal_text: str) -> None:
    path = tmp_path / "lares.yaml"
    path.write_text(minimal_text)
    loaded = load_file(path, env={})
    assert loaded.base_dir == tmp_path.resolve()
    assert loaded.filename == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_file(tmp_path / "nope.yaml", env={})
    [error] = caught.value.errors
    assert (error.code, error.message) == ("file-missing", "file not found")
    assert error.hint == "run `lares init` to write a blueprint, or pass --file"
    assert error.location is not None and error.location.file == str(tmp_path / "nope.yaml")


def test_load_prefers_the_path_then_lares_yaml_then_the_reference(
    tmp_path: Path, minimal_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load(None, env={}).filename == REFERENCE_NAME
    Path("lares.yaml").write_text(minimal_text)
    assert load(None, env={}).blueprint.host.name == "testhost"
    other = tmp_path / "other.yaml"
    other.write_text(minimal_text.replace("name: testhost", "name: other"))
    assert load(other, env={}).blueprint.host.name == "other"


def test_reference_is_the_seed_homelab() -> None:
    loaded = load_reference()
    bp = loaded.blueprint
    assert loaded.filename == REFERENCE_NAME
    assert (bp.host.name, bp.host.cpu.model, bp.host.memory) == (
        "nas",
        "Intel Core i3-13100",
        32 * 1024**3,
    )
    assert (bp.paths.appdata, bp.paths.pool) == ("/DATA/AppData", "/media/mainpool")
    pool = bp.storage.pools["mainpool"]
    assert (pool.engine, pool.level, pool.filesystem) == ("mdadm", "raid5", "btrfs")
    assert [d.size for d in pool.devices] == [12 * 10**12, 14 * 10**12, 14 * 10**12, 12 * 10**12]
    net = bp.network
    assert str(net.lan) == "10.243.0.0/24"
    assert (str(net.host_address), str(net.dns_address)) == ("10.243.0.1", "10.243.0.2")
    assert net.dhcp is not None and str(net.dhcp) == "10.243.0.100–10.243.0.200"
    assert net.domain == "homelab.local"
    assert {n: (str(d.subnet), d.internal) for n, d in net.docker.items()} == {
        "media": ("172.20.0.0/16", False),
        "productivity": ("172.21.0.0/16", False),
        "database": ("172.22.0.0/16", True),
        "vpn": ("172.23.0.0/16", False),
    }
    assert {name: list(stack.apps) for name, stack in bp.stacks.items()} == {
        "infrastructure": [
            "pihole",
            "caddy",
            "newt",
            "dockge",
            "syncthing",
            "uptime-kuma",
        ],
        "media": [
            "emby",
            "sonarr",
            "radarr",
            "lidarr",
            "prowlarr",
            "bazarr",
            "qbittorrent",
            "kavita",
            "swingmusic",
        ],
        "productivity": [
            "nextcloud",
            "immich",
            "paperless",
            "joplin",
            "memos",
            "linkwarden",
            "calcom",
            "stirling-pdf",
        ],
        "security": ["vaultwarden"],
    }
    assert bp.stack_order()[0] == "infrastructure"


# ── backup repositories: backend environment, secrets, options ───────────────────────────

REMOTE = """
repositories:
  local: {url: /srv/restic}
  offsite:
    url: s3:https://s3.example/homelab
    copy_from: local
    env: {AWS_DEFAULT_REGION: eu-west-1}
    secret_env:
      AWS_ACCESS_KEY_ID: offsite-s3-id
      AWS_SECRET_ACCESS_KEY: offsite-s3-key
    options: {s3.storage-class: STANDARD_IA, sftp.command: "ssh -p 2222 backup@nas -s sftp"}
"""


def test_repositories_take_backend_secrets_and_options(kit: BlueprintKit) -> None:
    repo = kit.load(kit.text(backup=REMOTE)).blueprint.backup.repositories["offsite"]
    assert repo.env == {"AWS_DEFAULT_REGION": "eu-west-1"}
    assert repo.secret_env == {
        "AWS_ACCESS_KEY_ID": "offsite-s3-id",
        "AWS_SECRET_ACCESS_KEY": "offsite-s3-key",
    }
    assert repo.options["sftp.command"] == "ssh -p 2222 backup@nas -s sftp"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "secret_env: {aws_key: offsite-s3-key}",
            "secret_env: 'aws_key' is not an environment variable name (upper-case letters, "
            "digits and _, e.g. AWS_SECRET_ACCESS_KEY)",
        ),
        (
            "secret_env: {RESTIC_PASSWORD: offsite-pw}",
            "secret_env: RESTIC_PASSWORD cannot be set here: lares keeps each repository's "
            "password as the secret restic_<repository> and gives it to restic as a file",
        ),
        (
            "env: {RESTIC_PASSWORD_FILE: /root/pw}",
            "env: RESTIC_PASSWORD_FILE cannot be set here: lares keeps each repository's "
            "password as the secret restic_<repository> and gives it to restic as a file",
        ),
        ("env: {RESTIC_REPOSITORY: /x}", "env: RESTIC_REPOSITORY is set by lares itself"),
        (
            "secret_env: {AWS_SECRET_ACCESS_KEY: Offsite_Key}",
            "secret_env: AWS_SECRET_ACCESS_KEY: 'Offsite_Key' is not a secret name "
            "(lower-case letters, digits and -, e.g. offsite-s3-key)",
        ),
        (
            "options: {storage-class: STANDARD}",
            "'storage-class' is not a restic option; options are backend.name "
            "(e.g. sftp.command, s3.storage-class)",
        ),
        (
            'options: {sftp.command: "ssh\\nrm"}',
            "the value of option sftp.command must be one line",
        ),
    ],
)
def test_bad_backend_settings_are_refused_where_they_are(
    kit: BlueprintKit, line: str, message: str
) -> None:
    key = line.split(":", 1)[0]
    text = kit.text(
        backup=f"\nrepositories:\n  offsite:\n    url: s3:https://s3.example/b\n    {line}\n"
    )
    [error] = _errors(kit, text)
    assert error.message == message
    assert error.location is not None
    assert error.location.path == f"backup.repositories.offsite.{key}"
    assert _where(error) == kit.pos(text, f"    {key}:")


def test_a_variable_is_either_plain_or_secret(kit: BlueprintKit) -> None:
    text = kit.text(
        backup="""
        repositories:
          offsite:
            url: s3:https://s3.example/b
            env: {AWS_SECRET_ACCESS_KEY: in-the-clear}
            secret_env: {AWS_SECRET_ACCESS_KEY: offsite-s3-key}
        """
    )
    [error] = _errors(kit, text)
    assert error.message == (
        "AWS_SECRET_ACCESS_KEY is both in env and in secret_env; keep a secret value only in "
        "secret_env"
    )
    assert _where(error) == kit.pos(text, "offsite:")


def test_a_copy_and_its_source_must_agree_on_what_they_share(kit: BlueprintKit) -> None:
    text = kit.text(
        backup="""
        repositories:
          local:
            url: s3:https://s3.example/a
            secret_env: {AWS_SECRET_ACCESS_KEY: local-key}
            options: {s3.connections: "2"}
          offsite:
            url: s3:https://s3.example/b
            copy_from: local
            secret_env: {AWS_SECRET_ACCESS_KEY: offsite-key}
            options: {s3.connections: "8"}
        """
    )
    [error] = _errors(kit, text)
    assert error.message == (
        "repository 'offsite' copies from 'local', but they set AWS_SECRET_ACCESS_KEY, option "
        "s3.connections differently; restic copy runs with one environment and one set of "
        "options for both repositories"
    )
    assert error.location is not None and error.location.path == "backup"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "daily",
            "'daily' is a schedule, but snapshots have none of their own: every backup run takes "
            "them first, at the repositories' schedules; write before-backup, or off",
        ),
        (
            "'*-*-* 03:00:00'",
            "'*-*-* 03:00:00' is a schedule, but snapshots have none of their own: every backup "
            "run takes them first, at the repositories' schedules; write before-backup, or off",
        ),
        ("nightly", "'nightly' is not one of before-backup, off"),
        ("7", "7 is not one of before-backup, off"),
    ],
)
def test_backup_snapshots_is_before_backup_or_off(
    kit: BlueprintKit, value: str, message: str
) -> None:
    text = kit.text(backup=f"\nsnapshots: {value}\n")
    [error] = _errors(kit, text)
    assert error.message == message
    assert error.location is not None and error.location.path == "backup.snapshots"
    assert _where(error) == kit.pos(text, "  snapshots:")


@pytest.mark.parametrize(
    ("value", "loaded"),
    [("before-backup", "before-backup"), ("off", None), ("null", None), ("false", None)],
)
def test_backup_snapshots_off_is_none(kit: BlueprintKit, value: str, loaded: str | None) -> None:
    bp = kit.load(kit.text(backup=f"\nsnapshots: {value}\n")).blueprint
    assert bp.backup.snapshots == loaded
    assert kit.load(kit.text(backup=None)).blueprint.backup.snapshots == "before-backup"
