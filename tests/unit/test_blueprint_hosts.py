"""Several machines in one blueprint: `hosts:` and per-app `placement:`. A blueprint without
`hosts:` has one machine, `host:`; errors name the entry that is wrong."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from conftest import BlueprintKit
from lares.blueprint.model import Blueprint
from lares.errors import ConfigErrors

TWO_HOSTS = """
- name: testhost
  address: 192.168.50.2
  labels: {disk: ssd}
- name: media
  address: 192.168.50.3
  memory: 8GiB
  labels: {gpu: quicksync, disk: ssd}
  paths: [/srv/pool]
"""


def _stacks(apps: str) -> str:
    return f"\nmain:\n  network: apps\n  apps:\n{apps}"


def _error(kit: BlueprintKit, text: str) -> str:
    """The one error loading ``text`` gives; it names the place and is located there."""
    with pytest.raises(ConfigErrors) as caught:
        kit.load(text)
    [error] = caught.value.errors
    assert error.location is not None and error.location.line is not None
    assert error.location.path  # hosts…, or stacks.….placement
    return error.message


def test_without_hosts_the_one_machine_is_host(kit: BlueprintKit) -> None:
    bp = kit.load(kit.text()).blueprint
    [node] = bp.nodes()
    assert (node.name, node.address, node.memory) == (
        "testhost",
        IPv4Address("192.168.50.2"),
        16 * 1024**3,
    )
    assert node.reserved == bp.host.reserved and node.cpu == bp.host.cpu
    assert node.paths is None and node.labels == {}
    assert bp.placed_on(bp.stacks["main"].apps["tweb"]) == ("testhost",)


def test_hosts_fill_in_from_host_and_place_by_name_or_label(kit: BlueprintKit) -> None:
    text = kit.text(
        hosts=TWO_HOSTS,
        stacks=_stacks(
            "    tweb: {placement: {host: media}}\n"
            "    tport: {placement: {labels: {disk: ssd}}}\n"
            "    tlocal: {placement: {labels: {gpu: quicksync}}}\n"
            "    tbig: {}\n"
        ),
    )
    bp = kit.load(text).blueprint
    first, media = bp.nodes()
    assert (
        first.name == "testhost"
        and first.memory == 16 * 1024**3
        and first.labels == {"disk": "ssd"}
    )
    assert media.memory == 8 * 1024**3 and media.cpu == bp.host.cpu
    assert media.reserved is not None and media.reserved.total == 3 * 1024**3  # the default
    apps = bp.stacks["main"].apps
    assert bp.placed_on(apps["tweb"]) == ("media",)
    assert bp.placed_on(apps["tport"]) == ("testhost", "media")
    assert bp.placed_on(apps["tlocal"]) == ("media",)
    assert bp.placed_on(apps["tbig"]) == ("testhost",)


def test_host_missing_from_hosts_is_added_first(kit: BlueprintKit) -> None:
    text = kit.text(hosts="\n- {name: media, address: 192.168.50.3, memory: 8GiB}\n")
    assert [n.name for n in kit.load(text).blueprint.nodes()] == ["testhost", "media"]


@pytest.mark.parametrize(
    ("hosts", "apps", "message"),
    [
        (
            "\n- {name: media, address: 192.168.50.3, memory: 8GiB}\n"
            "- {name: media, address: 192.168.50.4, memory: 8GiB}\n",
            "    tweb: {}\n",
            "hosts[1] and hosts[0] are both named 'media'; give each machine its own name",
        ),
        (
            "\n- {name: media, address: 192.168.50.3, memory: 8GiB}\n"
            "- {name: other, address: 192.168.50.3, memory: 8GiB}\n",
            "    tweb: {}\n",
            "hosts[1] (other) and hosts[0] (media) have the same address "
            "192.168.50.3; each machine has its own",
        ),
        (
            "\n- {name: media, address: 192.168.50.3}\n",
            "    tweb: {}\n",
            "hosts[0].memory is required for media: only host: may leave it out",
        ),
        (
            "\n- {name: testhost, address: 192.168.50.9}\n",
            "    tweb: {}\n",
            "hosts[0].address 192.168.50.9 is not network.host_address 192.168.50.2, and "
            "testhost is host:",
        ),
        (
            "\n- {name: media, address: 192.168.50.3, memory: 8GiB, reach: [nas]}\n",
            "    tweb: {}\n",
            "hosts[0].reach: 'nas' is not one of hosts:",
        ),
        (
            "\n- {name: media, address: 192.168.50.3, memory: 8GiB}\n",
            "    tweb: {placement: {host: nas}}\n",
            "stacks.main.apps.tweb.placement.host: 'nas' is not one of hosts: (testhost, media)",
        ),
        (
            "\n- {name: media, address: 192.168.50.3, memory: 8GiB}\n",
            "    tweb: {placement: {labels: {gpu: nvenc}}}\n",
            "stacks.main.apps.tweb.placement.labels: no host has the labels gpu=nvenc",
        ),
    ],
)
def test_hosts_and_placements_that_do_not_add_up(
    kit: BlueprintKit, hosts: str, apps: str, message: str
) -> None:
    assert _error(kit, kit.text(hosts=hosts, stacks=_stacks(apps))) == message


def test_a_placement_is_a_host_or_labels_not_both(kit: BlueprintKit) -> None:
    text = kit.text(
        hosts="\n- {name: media, address: 192.168.50.3, memory: 8GiB, labels: {a: b}}\n",
        stacks=_stacks("    tweb: {placement: {host: media, labels: {a: b}}}\n"),
    )
    assert _error(kit, text) == ("give either host: NAME or labels: {key: value}")


def test_schema_describes_hosts_and_placement() -> None:
    schema = Blueprint.model_json_schema(mode="validation")
    node = schema["$defs"]["Node"]
    assert {"name", "address", "memory", "cpu", "labels", "paths", "reach"} <= set(
        node["properties"]
    )
    assert node["required"] == ["name", "address"]
    assert schema["properties"]["hosts"]["items"] == {"$ref": "#/$defs/Node"}
    placement = schema["$defs"]["Placement"]
    assert set(placement["properties"]) == {"host", "labels"}
    assert "placement" in schema["$defs"]["AppSettings"]["properties"]


def test_an_error_across_sections_points_at_the_entry(kit: BlueprintKit) -> None:
    text = kit.text(
        hosts="\n- {name: media, address: 192.168.50.3, memory: 8GiB}\n",
        stacks=_stacks("    tweb: {placement: {host: nas}}\n"),
    )
    with pytest.raises(ConfigErrors) as caught:
        kit.load(text)
    [error] = caught.value.errors
    assert error.location is not None
    # at the key, as for any other error of a value
    assert (error.location.line, error.location.column) == kit.where(text, "host: nas}")
