"""The isolation check: databases on internal networks, reachable from their own app only, and no
container joining another stack's network without a declared reason."""

from __future__ import annotations

from conftest import BlueprintKit

ID = "isolation"

TWO_STACK_NETWORKS = """
lan: 192.168.50.0/24
host_address: 192.168.50.2
docker:
  apps: {subnet: 172.30.0.0/16}
  other: {subnet: 172.29.0.0/16}
  db: {subnet: 172.31.0.0/16, internal: true, purpose: database}
"""


def test_database_on_the_internal_network_passes(kit: BlueprintKit) -> None:
    text = kit.text(stacks="\nmain:\n  network: apps\n  apps: [tweb, tdb]\n")
    assert kit.findings(text, ID) == []
    nets = {s.name: s.networks for s in kit.plan(text).system.services}
    assert nets["tdb"] == ("apps", "db")
    assert nets["tdb-db"] == ("db",)


def test_database_on_a_routed_network_that_publishes_a_port(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tdbopen: {}
        """
    )
    found = kit.findings(text, ID)
    assert [(f.severity, f.message) for f in found] == [
        ("error", "database tdbopen-db is on apps, which is not internal"),
        ("error", "database tdbopen-db publishes a port on the host"),
    ]
    # the db container has no override in the blueprint: the location is its app's key
    assert {kit.at(f) for f in found} == {kit.pos(text, "    tdbopen: {}")}
    assert found[0].subject == "stacks.main.apps.tdbopen.containers.db"
    assert found[0].hint == "databases belong only on an internal network (`purpose: database`)"
    assert found[1].hint == "apps reach their database by name over the internal network"


def test_database_on_the_stacks_own_default_network(kit: BlueprintKit) -> None:
    text = kit.text(stacks="\nmain:\n  apps:\n    tdbopen: {}\n")
    messages = [f.message for f in kit.findings(text, ID)]
    assert "database tdbopen-db is on default, which is not internal" in messages


def test_database_the_app_cannot_reach(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb: {}
            tdbapart:
              containers:
                db: {pids: 64}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert (
        finding.message == "no container of tdbapart shares a network with its database tdbapart-db"
    )
    assert finding.hint == "put the app on the database network too"
    # here the db container is overridden, so the location is its own key
    assert kit.at(finding) == kit.pos(text, "db: {pids: 64}")


def test_undeclared_bridge_between_stacks(kit: BlueprintKit) -> None:
    text = kit.text(
        network=TWO_STACK_NETWORKS,
        stacks="""
        main:
          network: apps
          apps:
            tbridge: {}
        other:
          network: other
          apps:
            tweb: {}
        """,
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == (
        "tbridge joins the networks of other stacks (other) without a declared reason"
    )
    assert finding.hint == (
        "declare exceptions.bridges_stacks in the app definition, or move the app into that stack"
    )
    assert kit.at(finding) == kit.pos(text, "    tbridge: {}")


def test_declared_bridge_between_stacks_passes(kit: BlueprintKit) -> None:
    text = kit.text(
        network=TWO_STACK_NETWORKS,
        stacks="""
        main:
          network: apps
          apps: [tproxy]
        other:
          network: other
          apps: [tweb]
        """,
    )
    assert kit.findings(text, ID) == []
    [proxy] = [s for s in kit.plan(text).system.services if s.name == "tproxy"]
    assert proxy.networks == ("apps", "other")
