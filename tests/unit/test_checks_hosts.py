"""The checks per host, for a blueprint with several `hosts:`: memory budget per machine, ports
per machine, data folders on the machine that runs the app, and a database reachable from the
apps that use it."""

from __future__ import annotations

from pathlib import Path

from conftest import DATA, BlueprintKit, Lares
from lares.blueprint.load import load_text
from lares.plan import plan
from lares.plan.findings import Finding

HOSTS = """
- name: testhost
  address: 192.168.50.2
- name: small
  address: 192.168.50.3
  memory: 4GiB
  reserved: {os: 1GiB, docker: 512MiB}
  labels: {zone: a}
  paths: [/srv/pool]
- name: other
  address: 192.168.50.4
  memory: 16GiB
  labels: {zone: a}
"""


def _stacks(apps: str) -> str:
    return f"\nmain:\n  network: apps\n  apps:\n{apps}"


def _text(kit: BlueprintKit, apps: str, hosts: str = HOSTS) -> str:
    return kit.text(hosts=hosts, stacks=_stacks(apps))


def test_memory_is_budgeted_per_host(kit: BlueprintKit) -> None:
    # tbig reserves 8 GiB (limit 20 GiB): too much for small's 2.5 GiB, not for testhost's 13
    text = _text(kit, "    tbig: {placement: {host: small}}\n    tweb: {}\n")
    found = sorted(kit.findings(text, "memory"), key=lambda f: f.message)
    assert [f.message for f in found] == [
        "on small, containers reserve 8.0 GiB, more than the 2.5 GiB left after the OS and "
        "Docker reserve",
        "on small, memory limits add up to 20.0 GiB, above the 2.5 GiB available: if every app "
        "peaks at once the kernel will kill one",
        "tbig's memory limit 20.0 GiB is more than small has for containers (2.5 GiB)",
    ]
    assert kit.at(found[0]) == kit.pos(text, "memory: 4GiB")
    assert found[0].hint is not None and found[0].hint.endswith("or place apps on another host")
    assert kit.at(found[2]) == kit.pos(text, "tbig: {placement")
    # on testhost it fits; a label placement counts on every host it may land on
    on_host = kit.findings(_text(kit, "    tbig: {}\n"), "memory")
    assert [f.message for f in on_host if "reserve" in f.message] == []
    on_label = kit.findings(_text(kit, "    tbig: {placement: {labels: {zone: a}}}\n"), "memory")
    assert {f.message.split(",")[0] for f in on_label if f.message.startswith("on ")} == {
        "on small",
        "on other",
    }


def test_the_plan_shows_the_memory_of_host(kit: BlueprintKit) -> None:
    from lares.plan.checks.memory import budget

    result = kit.plan(_text(kit, "    tbig: {placement: {host: small}}\n    tweb: {}\n"))
    b = budget(result.context)
    assert [row[1] for row in b.by_app] == ["tweb"]
    assert b.total == 16 * 1024**3


def _ports(kit: BlueprintKit, apps: str) -> list[Finding]:
    return kit.findings(_text(kit, apps), "ports")


def test_ports_collide_per_host(kit: BlueprintKit) -> None:
    # tport and tport2 both publish 8080/tcp
    assert _ports(kit, "    tport: {}\n    tport2: {placement: {host: small}}\n") == []
    [finding] = _ports(
        kit, "    tport: {placement: {host: small}}\n    tport2: {placement: {host: small}}\n"
    )
    assert finding.message == "host port 8080/tcp on host small is used by both tport and tport2"
    assert finding.hint is not None and finding.hint.endswith(
        "or place the apps on different hosts"
    )
    # loopback and LAN collide too: a Swarm port is on every address of its node
    [finding] = _ports(kit, "    tport: {}\n    tlocal: {}\n")
    assert finding.message == "host port 8080/tcp on host testhost is used by both tport and tlocal"
    # a label placement may land on either host with the label
    [finding] = _ports(
        kit, "    tport: {placement: {labels: {zone: a}}}\n    tport2: {placement: {host: other}}\n"
    )
    assert "on host other" in finding.message


def test_data_folders_must_be_on_the_host_that_runs_the_app(kit: BlueprintKit) -> None:
    # tweb mounts {appdata}/www; small has only /srv/pool
    text = _text(kit, "    tweb: {placement: {host: small}}\n")
    [finding] = kit.findings(text, "paths")
    assert finding.severity == "error"
    assert finding.message == (
        "tweb mounts /srv/appdata/tweb/www, which is not on small (its folders: /srv/pool)"
    )
    assert kit.at(finding) == kit.pos(text, "tweb: {placement")
    # other has no paths: given, so it has appdata and the pool
    assert kit.findings(_text(kit, "    tweb: {placement: {host: other}}\n"), "paths") == []


def _swarm_plan(extra_host: str, placement: str, check: str = "reach") -> list[Finding]:
    base = DATA / "swarm"
    text = (base / "lares.yaml").read_text(encoding="utf-8")
    text = text.replace("    labels: {zone: data}\n", "    labels: {zone: data}\n" + extra_host)
    text = text.replace("        placement: {host: lt-node2}", f"        placement: {placement}")
    loaded = load_text(text, filename="lares.yaml", base_dir=base, env={})
    return [f for f in plan(loaded, only=[check]).findings if f.id == check]


FAR = """  - name: lt-far
    address: 10.50.0.9
    memory: 2GiB
"""


def test_a_database_on_a_host_outside_the_lan_is_unreachable() -> None:
    assert _swarm_plan(FAR, "{host: lt-node2}") == []
    [finding] = _swarm_plan(FAR, "{host: lt-far}")
    assert finding.severity == "error"
    assert finding.message == (
        "sw-web on lt-node1 cannot reach its database sw-db on lt-far: lt-far (10.50.0.9) is "
        "outside network.lan 10.199.20.0/24 and neither host lists the other under reach:"
    )
    assert finding.subject == "stacks.lt-sw-front.apps.sw-web"
    # sw-other is not on the database network: it is not sw-db's app
    # a route declared with reach: makes it reachable
    assert _swarm_plan(FAR + "    reach: [lt-node1]\n", "{host: lt-far}") == []


def test_one_host_has_no_per_host_findings(kit: BlueprintKit) -> None:
    text = kit.text(stacks=_stacks("    tport: {}\n    tweb: {}\n"))
    for check in ("reach", "ports", "paths", "memory"):
        assert kit.findings(text, check) == [], check


def test_the_swarm_blueprint_plans_clean(tmp_path: Path) -> None:
    from lares.blueprint.load import load_file

    result = plan(load_file(DATA / "swarm" / "lares.yaml", env={}), target="swarm")
    assert [f.render() for f in result.findings if f.severity != "warning"] == []
    assert {f.id for f in result.findings} == {"swarm"}


def test_ports_of_an_app_are_on_the_address_of_its_host(kit: BlueprintKit) -> None:
    text = _text(kit, "    tport: {placement: {host: small}}\n    tport2: {}\n")
    ports = {s.name: [p.compose() for p in s.ports] for s in kit.plan(text).system.services}
    assert ports["tport"][0] == "192.168.50.3:8080:80/tcp"
    assert ports["tport2"][0].startswith("192.168.50.2:")


def test_plan_shows_each_host(lares: Lares) -> None:
    proc = lares("plan", "-f", str(DATA / "swarm" / "lares.yaml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line.rstrip() for line in proc.stdout.splitlines()]
    at = lines.index("Hosts")
    assert lines[at + 1].split() == [
        "host",
        "address",
        "for",
        "containers",
        "reserved",
        "limits",
        "apps",
    ]
    assert lines[at + 2].split() == [
        "lt-node1",
        "10.199.20.1",
        "1.2",
        "GB",
        "0.0",
        "GB",
        "0.1",
        "GB",
        "sw-web,",
        "sw-other",
    ]
    assert lines[at + 3].split() == [
        "lt-node2",
        "10.199.20.2",
        "1.2",
        "GB",
        "0.1",
        "GB",
        "0.2",
        "GB",
        "sw-db",
    ]
    assert "Memory of lt-node1" in lines
    data = lares("plan", "-f", str(DATA / "swarm" / "lares.yaml"), "--json").json
    assert [(h["name"], h["apps"]) for h in data["hosts"]] == [
        ("lt-node1", ["sw-web", "sw-other"]),
        ("lt-node2", ["sw-db"]),
    ]
    assert data["hosts"][1]["containers_reserved"] == 64 * 1024**2
    # one host: no hosts section, as before
    assert "hosts" not in lares("plan", "--json").json
