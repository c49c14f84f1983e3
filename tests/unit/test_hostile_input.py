"""Hostile and broken input: refused with a clear error, quickly, in bounded memory, and no host
path that leaves its root reaches a compose file.

Each hostile file is built on the fly (tests/hostile.py) and loaded in a child process that
measures the load: CPU time under a second and a peak RSS under 200 MB, the interpreter and
lares's imports included. The precise numbers are in bench/BENCHMARKS.md (bench/hostile.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import BlueprintKit, LaresRunner
from hostile import CASES, measure
from lares.blueprint.load import load_text, reference_text
from lares.catalog.load import load_catalog
from lares.catalog.mounts import source_of
from lares.errors import MAX_ERRORS, ConfigErrors
from lares.hostpaths import DOCKER_SOCKETS, normal, refused, under
from lares.plan import plan
from lares.render import render_all
from lares.yaml12 import MAX_ALIAS_NODES, MAX_DEPTH, MAX_NODES

CPU_SECONDS = 1.0
RSS_MIB = 200


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_file_is_refused_quickly_in_bounded_memory(name: str, tmp_path: Path) -> None:
    build, code = CASES[name]
    path = tmp_path / "lares.yaml"
    path.write_text(build(), encoding="utf-8")
    result = measure(path)
    assert "loaded" not in result, f"{name} loaded"
    assert result["codes"] == [code], result["messages"]
    assert result["cpu"] < CPU_SECONDS, result
    assert result["rss_mib"] < RSS_MIB, result
    assert result["listed"] <= MAX_ERRORS
    assert result["render_bytes"] < 20_000  # a screenful, never megabytes


def test_alias_bomb_names_the_limit_and_the_alias(tmp_path: Path) -> None:
    path = tmp_path / "lares.yaml"
    path.write_text(CASES["billion laughs"][0]())
    result = measure(path)
    [message] = result["messages"]  # type: ignore[misc]
    assert message.startswith(  # type: ignore[attr-defined]
        f"this file goes past a limit of the loader: aliases expand to more than "
        f"{MAX_ALIAS_NODES} nodes (*a"
    )
    [hint] = result["hints"]  # type: ignore[misc]
    assert f"at most {MAX_ALIAS_NODES} nodes" in hint  # type: ignore[operator]
    assert result["lines"] == [4]  # the first alias that goes over: in a3's list


def test_nesting_names_the_limit_at_the_level_that_passes_it(tmp_path: Path) -> None:
    path = tmp_path / "lares.yaml"
    path.write_text(CASES["block nesting 1,000 deep"][0]())
    result = measure(path)
    assert result["messages"] == [
        f"this file goes past a limit of the loader: the data is nested more than "
        f"{MAX_DEPTH} levels deep"
    ]
    assert result["lines"] == [MAX_DEPTH + 1]


def test_too_many_values_names_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "lares.yaml"
    path.write_text(CASES["1 MiB of values"][0]())
    result = measure(path)
    assert result["messages"] == [
        f"this file goes past a limit of the loader: the file holds more than {MAX_NODES} values"
    ]


def test_many_unknown_keys_list_the_first_and_count_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "lares.yaml"
    path.write_text(CASES["20,000 unknown keys"][0]())
    result = measure(path)
    assert result["listed"] == MAX_ERRORS
    assert result["omitted"] == 20_000 - MAX_ERRORS
    assert result["messages"][:2] == ["unknown key 'unknown0'", "unknown key 'unknown1'"]  # type: ignore[index]
    assert result["last_line"] == (
        f"… and {20_000 - MAX_ERRORS} more problems (the first {MAX_ERRORS} are shown)"
    )


def test_many_unset_variables_list_the_first_and_count_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "lares.yaml"
    path.write_text(CASES["20,000 unset variables"][0]())
    result = measure(path)
    assert result["listed"] == MAX_ERRORS
    assert result["omitted"] == 20_000 - MAX_ERRORS
    assert result["messages"][0] == "${UNSET_0} is not set in the environment"  # type: ignore[index]


def test_an_alias_inside_what_it_names_is_refused(kit: BlueprintKit) -> None:
    with pytest.raises(ConfigErrors) as caught:
        kit.load("a: &a [1, *a]\n")
    [error] = caught.value.errors
    assert error.code == "yaml-syntax"
    assert error.message == "this is not valid YAML: the alias *a is inside the node it refers to"
    assert (error.location.line, error.location.column) == (1, 11)  # type: ignore[union-attr]


def test_aliases_a_real_blueprint_uses_still_work(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb: &web {exposure: lan, env: &env {A: "1", B: "2"}}
        other:
          network: apps
          apps:
            tnoweb: {env: {<<: *env, C: "3"}}
        """
    )
    bp = kit.load(text).blueprint
    assert bp.stacks["main"].apps["tweb"].env == {"A": "1", "B": "2"}
    assert bp.stacks["other"].apps["tnoweb"].env == {"A": "1", "B": "2", "C": "3"}


# ── files that are not files ─────────────────────────────────────────────────────────────────


def test_dev_zero_is_refused_at_once(run_lares: LaresRunner) -> None:
    proc = run_lares("plan", "-f", "/dev/zero", timeout=20)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "/dev/zero: error [file-refused] this is a character device, not a file lares reads",
        "  hint: pass the path of a YAML file",
    ]


def test_a_fifo_is_refused_without_waiting_for_a_writer(
    run_lares: LaresRunner, tmp_path: Path
) -> None:
    fifo = tmp_path / "lares.yaml"
    os.mkfifo(fifo)
    proc = run_lares("plan", "-f", str(fifo), timeout=20)
    assert proc.returncode == 2
    assert "error [file-refused] this is a FIFO (named pipe), not a file lares reads" in proc.stderr


def test_a_file_over_the_limit_is_refused_with_its_size(kit: BlueprintKit, tmp_path: Path) -> None:
    from lares.blueprint.load import load_file

    path = tmp_path / "lares.yaml"
    path.write_text(CASES["1 MiB + 1 byte"][0]())
    with pytest.raises(ConfigErrors) as caught:
        load_file(path)
    [error] = caught.value.errors
    assert error.message == "the file is 1048577 bytes, over the limit of 1048576 bytes"


def test_an_app_file_in_a_catalog_folder_is_bounded_too(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(CASES["billion laughs"][0]())
    os.mkfifo(tmp_path / "pipe.yaml")
    with pytest.raises(ConfigErrors) as caught:
        load_catalog([tmp_path])
    assert sorted((e.location.file, e.code) for e in caught.value.errors) == [  # type: ignore[union-attr]
        (str(tmp_path / "bomb.yaml"), "yaml-limit"),
        (str(tmp_path / "pipe.yaml"), "file-refused"),
    ]


# ── --json on errors ─────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "--json"),
        ("render", "--json", "-o", "out"),
        ("apps", "--json"),
        ("public", "--json"),
    ],
)
def test_json_commands_print_a_bad_file_as_errors_on_stdout(
    run_lares: LaresRunner, tmp_path: Path, args: tuple[str, ...]
) -> None:
    (tmp_path / "lares.yaml").write_text(CASES["merge keys, 40 levels"][0]())
    proc = run_lares(*args, "-f", "lares.yaml")
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    [error] = doc["errors"]
    assert error["id"] == "yaml-limit"
    assert error["severity"] == "error"
    assert error["location"]["file"] == "lares.yaml"
    assert error["location"]["line"] == 11  # m10, whose merge goes past the limit
    assert error["message"].startswith("this file goes past a limit of the loader")
    assert error["hint"]
    assert doc["omitted"] == 0
    assert "error [yaml-limit]" in proc.stderr  # the person reading the terminal sees it too
    assert not (tmp_path / "out").exists()


def test_render_json_prints_plan_errors_as_errors(run_lares: LaresRunner, tmp_path: Path) -> None:
    text = reference_text().replace("      sonarr: {}", '      sonarr: {volumes: ["/:/host"]}')
    (tmp_path / "lares.yaml").write_text(text)
    proc = run_lares("render", "--json", "-o", "out", "-f", "lares.yaml")
    assert proc.returncode == 1
    [error] = json.loads(proc.stdout)["errors"]
    assert (error["id"], error["severity"]) == ("paths", "error")
    assert error["message"] == "sonarr: / is a system folder, which lares never mounts as a whole"
    assert error["location"]["line"] == text[: text.index("/:/host")].count("\n") + 1


# ── sizes ────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        (
            "storage",
            "0",
            "a drive of 0 bytes (0 B) is not plausible: lares accepts 64 MiB to 1 PiB",
        ),
        ("storage", str(10**30), f"{10**30} is too large to be a size"),
        (
            "storage",
            "2PiB",
            "a drive of 2251799813685248 bytes (2.0 PiB) is not plausible: "
            "lares accepts 64 MiB to 1 PiB",
        ),
        (
            "host",
            "0",
            "host memory of 0 bytes (0 B) is not plausible: lares accepts 256 MiB to 64 TiB",
        ),
        (
            "stacks",
            "1",
            "a container memory size of 1 bytes (1 B) is not plausible: "
            "lares accepts 6 MiB to 64 TiB",
        ),
    ],
)
def test_implausible_sizes_are_refused_naming_the_value(
    kit: BlueprintKit, section: str, value: str, message: str
) -> None:
    sections = {
        "storage": f"\nos_disk: {{path: /dev/nvme0n1, size: {value}}}\n",
        "host": f"\nname: testhost\ncpu: {{cores: 4, threads: 8}}\nmemory: {value}\n",
        "stacks": f"\nmain:\n  network: apps\n  apps:\n    tweb: {{memory: {{limit: {value}}}}}\n",
    }
    text = kit.text(**{section: sections[section]})
    with pytest.raises(ConfigErrors) as caught:
        kit.load(text)
    [error] = caught.value.errors
    assert error.message == message
    needle = {"storage": "size:", "host": "memory:", "stacks": "limit:"}[section]
    assert error.location.line == kit.where(text, f"{needle} {value}")[0]  # type: ignore[union-attr]


# ── paths ────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("appdata", "message"),
    [
        ("/srv/appdata/../../etc", "'/srv/appdata/../../etc' must not contain '..'"),
        ("/", "/ is a system folder, which lares never mounts as a whole"),
        ("/etc", "/etc is a system folder, which lares never mounts as a whole"),
        ("/var/lib", "/var/lib is a system folder, which lares never mounts as a whole"),
        (
            "/var/lib/docker/x",
            "/var/lib/docker/x is inside /var/lib/docker, which lares never mounts",
        ),
        ("/proc/1", "/proc/1 is inside /proc, which lares never mounts"),
        ("/var/lib/lares", "/var/lib/lares is /var/lib/lares, which lares never mounts"),
    ],
)
def test_roots_of_the_blueprint_are_checked(kit: BlueprintKit, appdata: str, message: str) -> None:
    text = kit.text(paths=f"\nappdata: {appdata}\npool: /srv/pool\n")
    with pytest.raises(ConfigErrors) as caught:
        kit.load(text)
    [error] = caught.value.errors
    assert error.message.startswith(message), error.message
    assert error.location.path == "paths.appdata"  # type: ignore[union-attr]


def test_a_pool_mount_and_a_drive_path_are_checked(kit: BlueprintKit) -> None:
    text = kit.text(
        storage="""
        pools:
          tank:
            engine: btrfs
            level: single
            mount: /
            devices: [{path: /dev/sda, size: 4TB}, {path: /dev/../etc/shadow, size: 4TB}]
        """
    )
    with pytest.raises(ConfigErrors) as caught:
        kit.load(text)
    assert sorted(e.message for e in caught.value.errors) == [
        "'/dev/../etc/shadow' must not contain '..': name the device itself",
        "/ is a system folder, which lares never mounts as a whole",
    ]


OVERRIDES = [
    ("../../etc:/x", "'../../etc' leaves the stack's folder"),
    (
        "{appdata}/../../etc:/x",
        "'{appdata}/../../etc' leaves {appdata} (/srv/appdata/tweb): it is /srv/etc",
    ),
    (
        "{appdata}/../other:/x",
        "'{appdata}/../other' leaves {appdata} (/srv/appdata/tweb): it is /srv/appdata/other",
    ),
    ("{pool}/../etc:/x", "'{pool}/../etc' leaves {pool} (/srv/pool): it is /srv/etc"),
    ("/etc:/x", "/etc is a system folder, which lares never mounts as a whole"),
    ("/:/host", "/ is a system folder, which lares never mounts as a whole"),
    ("/var/lib:/x", "/var/lib is a system folder, which lares never mounts as a whole"),
    ("/var/lib/docker:/x", "/var/lib/docker is /var/lib/docker, which lares never mounts"),
    ("/root/.ssh:/x", "/root/.ssh is inside /root, which lares never mounts"),
    ("/proc:/x", "/proc is /proc, which lares never mounts"),
    ("/sys/kernel:/x", "/sys/kernel is inside /sys, which lares never mounts"),
    ("/dev:/dev", "/dev is a system folder, which lares never mounts as a whole"),
    ("/srv/appdata/../../boot:/x", "/boot is /boot, which lares never mounts"),
    ("~/.ssh:/x", "'~/.ssh' is in a home folder, which Compose takes from whoever runs it"),
    (
        "/mnt/media:/media",
        "/mnt/media is outside paths.appdata (/srv/appdata) and paths.pool (/srv/pool), "
        "and not declared",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("volume", "message"), OVERRIDES)
def test_an_override_volume_that_leaves_its_root_is_an_error_at_its_line(
    kit: BlueprintKit, volume: str, message: str
) -> None:
    text = kit.text(
        stacks=f'\nmain:\n  network: apps\n  apps:\n    tweb: {{volumes: ["{volume}"]}}\n'
    )
    [finding] = kit.findings(text, "paths")
    assert finding.severity == "error"
    assert finding.message == f"tweb: {message}"
    assert kit.at(finding) == kit.pos(text, f'"{volume}"')
    assert finding.subject == "stacks.main.apps.tweb.volumes.0"


def test_declared_host_paths_are_allowed_and_etc_only_read_only(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb:
              volumes: ["/mnt/media/films:/films:ro", "/etc/localtime:/etc/localtime", "/srv/x:/x"]
              host_paths:
                /mnt/media: the family films, on a disk of their own
                /etc/localtime: the host's time zone, for the app's log times
        """
    )
    findings = kit.findings(text, "paths")
    assert [f.message for f in findings] == [
        "tweb: /etc/localtime is below /etc and mounted writable",
        "tweb: /srv/x is outside paths.appdata (/srv/appdata) and paths.pool (/srv/pool), "
        "and not declared",
    ]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/etc/shadow", "host_paths: /etc/shadow is /etc/shadow, which lares never mounts"),
        ("/", "host_paths: / is a system folder, which lares never mounts as a whole"),
        ("/mnt/../root", "host_paths: '/mnt/../root' must not contain '..'"),
        ("relative", "host_paths: 'relative' must be an absolute host path"),
    ],
)
def test_a_host_path_that_can_never_be_declared(kit: BlueprintKit, path: str, message: str) -> None:
    text = kit.text(
        stacks="\nmain:\n  network: apps\n  apps:\n"
        f"    tweb: {{host_paths: {{{path}: a reason long enough}}}}\n"
    )
    with pytest.raises(ConfigErrors) as caught:
        kit.load(text)
    assert [e.message for e in caught.value.errors] == [message]


HOSTILE_APP = """\
id: evil
name: Evil
description: mounts the host
category: tools
containers:
  evil:
    image: example/evil
    version: "1.0"
    user: "1000:1000"
    volumes:
      - "{appdata}:/config"
      - "/:/host"
      - "{appdata}/../../etc:/etc2"
    devices: ["/dev/../etc/shadow:/x"]
    healthcheck: {test: [CMD, "true"]}
    memory: {reservation: 64MiB, limit: 128MiB}
    exceptions: {devices: "it asks for a device, or says it does"}
backup:
  paths: ["{pool}/../../root"]
"""


def _with_app(app_id: str, folder: Path) -> str:
    """The reference blueprint with the app in ``folder`` added to the media stack."""
    folder.mkdir(exist_ok=True)
    (folder / f"{app_id}.yaml").write_text(HOSTILE_APP)
    text = reference_text().replace("      sonarr: {}", f"      sonarr: {{}}\n      {app_id}: {{}}")
    return text.replace("version: 1\n", f"version: 1\ncatalog: [{folder}]\n", 1)


def test_a_catalog_app_that_mounts_the_host_is_an_error_in_the_catalog_file(tmp_path: Path) -> None:
    loaded = load_text(_with_app("evil", tmp_path / "catalog"), filename="lares.yaml", env={})
    findings = [f for f in plan(loaded, only=["paths"]).findings if f.id == "paths"]
    source = str(tmp_path / "catalog" / "evil.yaml")

    def line_of(needle: str) -> int:
        return HOSTILE_APP[: HOSTILE_APP.index(needle)].count("\n") + 1

    assert [(f.location.file, f.location.line, f.message) for f in findings] == [  # type: ignore[union-attr]
        (
            source,
            line_of('"/:/host"'),
            "evil: / is a system folder, which lares never mounts as a whole",
        ),
        (
            source,
            line_of('"{appdata}/../../etc'),
            "evil: '{appdata}/../../etc' leaves {appdata} (/DATA/AppData/evil): it is /DATA/etc",
        ),
        (
            source,
            line_of('"/dev/../etc/shadow'),
            "evil: '/dev/../etc/shadow' must not contain '..': name the device itself",
        ),
        (
            source,
            line_of('"{pool}/../../root"'),
            "evil: '{pool}/../../root' leaves {pool} (/media/mainpool): it is /root",
        ),
    ]  # fmt: skip


def test_render_refuses_an_escaping_path_even_with_force(
    run_lares: LaresRunner, tmp_path: Path
) -> None:
    (tmp_path / "lares.yaml").write_text(_with_app("evil", tmp_path / "catalog"))
    proc = run_lares("render", "--force", "-o", "out", "-f", "lares.yaml")
    assert proc.returncode == 2
    assert "apps.evil.containers.evil.volumes.1: error [paths] evil: / is a system folder" in (
        proc.stderr
    )
    assert "--force does not skip this" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_the_embedded_catalog_needs_no_undeclared_host_path() -> None:
    """The Docker socket (docker_socket), /dev/dri and /dev/net/tun (devices) keep working."""
    loaded = load_text(reference_text(), filename="lares.yaml", env={})
    assert [f.render() for f in plan(loaded, only=["paths"]).findings] == []


def test_no_rendered_compose_file_mounts_a_path_outside_its_roots(tmp_path: Path) -> None:
    """Over the renderer's output: every bind mount of every service is inside paths.appdata,
    paths.pool, the stack folder or a path the container declares, and never a refused one."""
    import yaml

    text = reference_text().replace(
        "      sonarr: {}",
        '      sonarr: {volumes: ["/mnt/old/tv:/old-tv:ro"], host_paths: {/mnt/old: the TV '
        "shows still on the old disk}}",
    )
    loaded = load_text(text, filename="lares.yaml", env={})
    result = plan(loaded)
    assert result.errors == []
    bundle = render_all(result.system)
    allowed: dict[str, list[str]] = {}
    bp = result.system.blueprint
    for app in result.system.apps:
        for s in app.services:
            override = app.settings if s.is_main else app.settings.containers.get(s.key)
            allowed[s.name] = [bp.paths.appdata, bp.paths.pool, *s.spec.host_paths]
            allowed[s.name] += [*override.host_paths] if override is not None else []
            if "docker_socket" in s.spec.exceptions:
                allowed[s.name] += list(DOCKER_SOCKETS)
    checked = 0
    for name, file in bundle.files.items():
        if not name.endswith("compose.yaml"):
            continue
        doc = yaml.safe_load(file.content)
        for service_name, service in doc.get("services", {}).items():
            for volume in service.get("volumes", []):
                source = source_of(volume if isinstance(volume, str) else volume["source"])
                if not source.startswith(("/", ".", "~")):
                    continue  # a named volume
                checked += 1
                assert not source.startswith("~"), (name, volume)
                if source.startswith("."):
                    assert not normal(source).startswith(".."), (name, volume)
                    continue
                path = normal(source)
                assert refused(path) is None, (name, volume)
                assert any(under(path, root) for root in allowed[service_name]), (name, volume)
    assert checked > 40
    assert any("/mnt/old/tv:/old-tv:ro" in f.content for f in bundle.files.values())


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("/dev/dri", None),
        ("/dev/net/tun", None),
        ("/srv/lab/renderD128", None),  # a device node made elsewhere, as tests do
        ("/dev", "/dev is a system folder, which lares never mounts as a whole"),
        (
            "/dev/../etc/shadow",
            "'/dev/../etc/shadow' must not contain '..': name the device itself",
        ),
        ("/proc/kcore", "/proc/kcore is inside /proc, which lares never mounts"),
        ("dev/sda", "'dev/sda' is not an absolute path to a device"),
    ],
)
def test_device_paths(host: str, problem: str | None) -> None:
    from lares.hostpaths import device_problem

    assert device_problem(host) == problem


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/etc", "/etc is a system folder, which lares never mounts as a whole"),
        ("/srv/backups/../../etc", "'/srv/backups/../../etc' must not contain '..'"),
        ("/var/lib/lares/repo", "/var/lib/lares/repo is inside /var/lib/lares"),
    ],
)
def test_a_local_repository_is_never_a_system_folder(
    kit: BlueprintKit, url: str, message: str
) -> None:
    text = kit.text(backup=f"\nrepositories:\n  local: {{url: {url}}}\n")
    with pytest.raises(ConfigErrors) as caught:
        kit.load(text)
    [error] = caught.value.errors
    assert error.message.startswith(message), error.message
    assert error.location.path == "backup.repositories.local.url"  # type: ignore[union-attr]
