"""The hardening check: every departure from the safe defaults is declared with a reason, images
are pinned, and no secret is written into the blueprint."""

from __future__ import annotations

from pathlib import Path

from conftest import BlueprintKit, load_test_catalog
from lares.catalog.load import Catalog
from lares.plan import plan

ID = "hardening"


def test_hardened_app_passes(kit: BlueprintKit) -> None:
    assert kit.findings(kit.text(), ID) == []


def test_declared_departures_pass(kit: BlueprintKit) -> None:
    text = kit.text(stacks="\nmain:\n  network: apps\n  apps:\n    tdeclared: {}\n")
    assert kit.findings(text, ID) == []


def test_every_undeclared_departure_is_reported(kit: BlueprintKit) -> None:
    text = kit.text(stacks="\nmain:\n  network: apps\n  apps:\n    tloose: {}\n")
    found = kit.findings(text, ID)
    assert [(f.severity, f.message, f.hint) for f in found] == [
        (
            "error",
            "tloose: privileged without a declared reason",
            "privileged containers own the host; drop it; "
            "or declare exceptions.privileged in the app definition",
        ),
        (
            "error",
            "tloose: docker socket without a declared reason",
            "the Docker socket is root on the host; "
            "or declare exceptions.docker_socket in the app definition",
        ),
        (
            "error",
            "tloose: capabilities without a declared reason",
            "drop the added capabilities; or declare exceptions.capabilities in the app definition",
        ),
        (
            "error",
            "tloose: devices without a declared reason",
            "remove the device, or declare why it is needed; "
            "or declare exceptions.devices in the app definition",
        ),
        (
            "error",
            "tloose: all interfaces without a declared reason",
            "bind the port to the LAN address; "
            "or declare exceptions.all_interfaces in the app definition",
        ),
        (
            "error",
            "tloose: plain env secret without a declared reason",
            "pass the secret as a *_FILE variable; "
            "or declare exceptions.plain_env_secret in the app definition",
        ),
        (
            "warning",
            "tloose: root without a declared reason",
            "set a non-root user: uid:gid; or declare exceptions.root in the app definition",
        ),
        (
            "warning",
            "tloose: writable root without a declared reason",
            "set read_only: true with tmpfs for scratch; "
            "or declare exceptions.writable_root in the app definition",
        ),
        (
            "warning",
            "tloose: no healthcheck without a declared reason",
            "add a healthcheck so failures are seen; "
            "or declare exceptions.no_healthcheck in the app definition",
        ),
    ]
    assert {kit.at(f) for f in found} == {kit.pos(text, "    tloose: {}")}


def test_docker_socket_mounted_as_a_volume_counts(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb:
              volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "tweb: docker socket without a declared reason"
    assert kit.at(finding) == kit.pos(text, "    tweb:")


def test_unpinned_image(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb: {version: latest}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "tweb: image lares-test/busybox:latest is not pinned to a version"
    assert finding.hint == "set `version:` to a release tag so updates happen when you choose"
    assert kit.at(finding) == kit.pos(text, "    tweb: {version: latest}")


def test_image_override_without_a_tag_keeps_the_catalog_version(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb: {image: registry.example.com:5000/mirror/busybox}
            tdb:
              containers:
                db: {image: "mirror/postgres:15.8"}
        """
    )
    assert kit.findings(text, ID) == []
    images = {s.name: s.image for s in kit.plan(text).system.services}
    assert images == {
        "tweb": "registry.example.com:5000/mirror/busybox:1",
        "tdb": "lares-test/busybox:1",
        "tdb-db": "mirror/postgres:15.8",
    }


def test_image_override_to_a_moving_tag(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb: {image: "busybox:stable"}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.message == "tweb: image busybox:stable is not pinned to a version"


def test_secret_in_plain_text_in_the_blueprint(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb:
              env:
                API_TOKEN: abc123
                ADMIN_PASSWORD_FILE: /run/secrets/admin
                SOME_KEY: ""
                LOG_LEVEL: debug
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "tweb: API_TOKEN carries a secret in plain text"
    assert finding.hint == (
        "secrets never go in lares.yaml: use the app's generated secret, "
        "or an image variable ending in _FILE"
    )
    assert kit.at(finding) == kit.pos(text, "API_TOKEN: abc123")
    assert finding.subject == "stacks.main.apps.tweb.env.API_TOKEN"


def test_secret_in_plain_text_for_a_side_container(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tdb:
              containers:
                db:
                  env: {POSTGRES_PASSWORD: hunter2hunter2}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.message == "tdb: POSTGRES_PASSWORD carries a secret in plain text"
    assert kit.at(finding) == kit.pos(text, "POSTGRES_PASSWORD: hunter2")
    assert finding.subject == "stacks.main.apps.tdb.containers.db.env.POSTGRES_PASSWORD"


def _floating_catalog() -> Catalog:
    """The test catalog with tweb running busybox:latest, declared (as `lares import` writes
    a custom app that runs a floating tag)."""
    base = load_test_catalog()
    spec = (
        base["tweb"]
        .containers["tweb"]
        .model_copy(
            update={"version": "latest", "exceptions": {"floating_tag": "the person runs latest"}}
        )
    )
    app = base["tweb"].model_copy(update={"containers": {"tweb": spec}})
    return Catalog({**base.apps, "tweb": app}, base.sources, base.data)


def test_a_declared_floating_tag_is_a_warning_pinned_at_first_up(
    kit: BlueprintKit, tmp_path: Path
) -> None:
    kit = BlueprintKit(base_dir=tmp_path)  # beside its own lares.lock
    text = kit.text()
    found = [f for f in plan(kit.load(text), catalog=_floating_catalog()).findings if f.id == ID]
    assert [(f.severity, f.message, f.hint) for f in found] == [
        (
            "warning",
            "tweb: image lares-test/busybox:latest is a floating tag, "
            "pinned by digest at first `lares up`",
            "run `lares outdated` and choose a version: set `version:` to a release tag",
        )
    ]
    digest = "sha256:" + "ab" * 32
    (tmp_path / "lares.lock").write_text(
        f"format: 1\nimages:\n  lares-test/busybox:latest: '{digest}'\n"
    )
    [warned] = [f for f in plan(kit.load(text), catalog=_floating_catalog()).findings if f.id == ID]
    assert warned.severity == "warning"
    assert warned.message.endswith(f"pinned by digest {digest[:19]}… in lares.lock")


def test_the_floating_tag_exception_does_not_cover_a_catalog_app(kit: BlueprintKit) -> None:
    """Only the container that declares it may float: another app set to latest still errs."""
    text = kit.text(
        stacks="\nmain:\n  network: apps\n  apps:\n    tweb: {}\n    tdb: {version: latest}\n"
    )
    found = [f for f in plan(kit.load(text), catalog=_floating_catalog()).findings if f.id == ID]
    assert [(f.severity, f.message.split(":")[0]) for f in found] == [
        ("error", "tdb"),
        ("warning", "tweb"),
    ]
