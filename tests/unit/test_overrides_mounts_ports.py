"""A blueprint override maps a catalog container's volume elsewhere, or publishes its ports
otherwise: it replaces the catalog's mount or binding of the same container path or port."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from conftest import BlueprintKit
from lares.backup.jobs import moved_data
from lares.blueprint.model import ContainerOverride


def _stacks(apps: str) -> str:
    return "\nmain:\n  network: apps\n  apps:\n" + "".join(f"    {a}\n" for a in apps.split("\n"))


def test_a_volume_for_a_catalog_path_replaces_the_catalog_mount(kit: BlueprintKit) -> None:
    text = kit.text(stacks=_stacks('tweb: {volumes: ["/srv/pool/site:/www"]}'))
    planned = kit.plan(text)
    assert [f.render() for f in planned.errors] == []
    [web] = planned.system.services
    assert web.volumes == ("/srv/pool/site:/www",)  # not /srv/appdata/tweb/www beside it
    assert web.moved == (("/srv/appdata/tweb/www:/www", "/srv/pool/site:/www"),)


def test_a_volume_for_another_path_is_added(kit: BlueprintKit) -> None:
    text = kit.text(stacks=_stacks('tweb: {volumes: ["/srv/pool/extra:/extra:ro"]}'))
    [web] = kit.plan(text).system.services
    assert web.volumes == ("/srv/appdata/tweb/www:/www", "/srv/pool/extra:/extra:ro")
    assert web.moved == ()


def test_a_moved_volume_outside_the_roots_must_be_declared(kit: BlueprintKit) -> None:
    text = kit.text(stacks=_stacks('tweb: {volumes: ["/opt/site:/www"]}'))
    [error] = kit.findings(text, "paths")
    assert error.severity == "error"
    assert "/opt/site is outside paths.appdata" in error.message
    assert kit.at(error) == kit.pos(text, '"/opt/site:/www"')
    declared = 'tweb: {volumes: ["/opt/site:/www"], host_paths: {/opt/site: the old site}}'
    assert kit.findings(kit.text(stacks=_stacks(declared)), "paths") == []


def test_a_port_for_a_catalog_port_replaces_its_binding(kit: BlueprintKit) -> None:
    apps = "tport: {ports: [{container: 80, host: 8088, bind: loopback}, {container: 9000}]}"
    planned = kit.plan(kit.text(stacks=_stacks(apps)))
    assert [f.render() for f in planned.errors] == []
    [svc] = planned.system.services
    assert [p.compose() for p in svc.ports] == [
        "127.0.0.1:8088:80/tcp",  # the catalog's 8080 is replaced
        "192.168.50.2:53:53/udp",
        "192.168.50.2:9000:9000/tcp",
    ]


def test_a_port_on_every_interface_needs_the_apps_reason(kit: BlueprintKit) -> None:
    apps = "tport: {ports: [{container: 80, bind: all}]}"
    [error] = kit.findings(kit.text(stacks=_stacks(apps)), "hardening")
    assert error.message == "tport: all interfaces without a declared reason"


def test_a_container_in_anothers_network_publishes_no_port(kit: BlueprintKit) -> None:
    apps = "tvpn:\n      containers:\n        client: {ports: [{container: 8080}]}"
    planned = kit.plan(kit.text(stacks=_stacks(apps)))
    assert any(
        "shares another's network (network_mode service:" in f.message
        and "publishes no ports of its own" in f.message
        for f in planned.errors
    ), [f.render() for f in planned.errors]


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"ports": [{"container": 80}, {"container": 80, "host": 81}]}, "80/tcp is given twice"),
        ({"volumes": ["/a:/data", "/b:/data/"]}, "two volumes mount the container path /data"),
    ],
)
def test_an_override_gives_each_port_and_path_once(data: dict, said: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError) as caught:
        ContainerOverride.model_validate(data)
    assert said in str(caught.value)
    ok = ContainerOverride.model_validate(
        {"ports": [{"container": 53}, {"container": 53, "protocol": "udp"}]}
    )
    assert len(ok.ports) == 2


def test_the_backup_follows_a_moved_volume(kit: BlueprintKit) -> None:
    """Data a backup path covered, mapped elsewhere by the blueprint, is backed up there."""
    apps = (
        'tdb:\n      containers:\n        db: {volumes: ["/srv/pool/pg:/var/lib/postgresql/data"]}'
    )
    planned = kit.plan(kit.text(stacks=_stacks(apps)))
    [view] = planned.system.apps
    assert moved_data(view, ["/srv/appdata/tdb"]) == ["/srv/pool/pg"]
    assert moved_data(view, ["/srv/appdata/tdb/files"]) == []  # it backed up none of it
    assert moved_data(view, ["/srv/appdata/tdb", "/srv/pool"]) == []  # already covered


@pytest.mark.parametrize(
    ("volume", "target"),
    [
        ("{appdata}/www:/www", "/www"),
        ("{folder:media}/tv:/tv/:ro", "/tv"),
        ("{secret_file:db}:/run/db:ro", "/run/db"),
        ("/srv/x:/", "/"),
        ("named", None),
        ("a:relative", None),
    ],
)
def test_the_container_path_of_a_volume(volume: str, target: str | None) -> None:
    from lares.hostpaths import volume_target

    assert volume_target(volume) == target
