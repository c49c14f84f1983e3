"""The references check: every app, container, pool folder and network named must exist."""

from __future__ import annotations

from conftest import BlueprintKit

ID = "references"


def test_minimal_blueprint_has_no_dangling_reference(kit: BlueprintKit) -> None:
    assert kit.findings(kit.text(), ID) == []


def test_unknown_app_suggests_the_closest_id(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            twebb: {}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "there is no app 'twebb' in the catalog"
    assert finding.hint == "did you mean 'tweb'?"
    assert kit.at(finding) == kit.pos(text, "    twebb:")
    assert finding.subject == "stacks.main.apps.twebb"


def test_unknown_app_without_a_close_match_says_how_to_add_one(kit: BlueprintKit) -> None:
    text = kit.text(stacks="\nmain:\n  apps: [zzzzzz]\n")
    [finding] = kit.findings(text, ID)
    assert finding.message == "there is no app 'zzzzzz' in the catalog"
    assert finding.hint == "add its definition to a folder listed under `catalog:`"
    # the list shorthand has no position per item: the finding points at `apps:`
    assert kit.at(finding) == kit.pos(text, "  apps: [zzzzzz]")


def test_override_of_an_unknown_container(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tdb:
              containers:
                dbb: {pids: 64}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "app tdb has no container 'dbb'"
    assert finding.hint == "did you mean 'db'?"
    assert kit.at(finding) == kit.pos(text, "dbb: {pids: 64}")


def test_disabled_app_is_not_resolved(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb: {}
            tfolder: {enabled: false}
        """
    )
    assert kit.findings(text, ID) == []


def test_missing_pool_folder(kit: BlueprintKit) -> None:
    text = kit.text(stacks="\nmain:\n  network: apps\n  apps: [tfolder]\n")
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == (
        "app tfolder needs the pool folder 'scratch' (container tfolder, volumes), "
        "which paths.folders does not define"
    )
    assert finding.hint == "add `scratch: <folder inside the pool>` under paths.folders"
    # paths.folders is absent, so the finding points at its parent `paths:`
    assert kit.at(finding) == kit.pos(text, "\npaths:")


def test_pool_folder_defined_resolves(kit: BlueprintKit) -> None:
    text = kit.text(
        paths="""
        appdata: /srv/appdata
        pool: /srv/pool
        folders: {scratch: scratch}
        """,
        stacks="\nmain:\n  network: apps\n  apps: [tfolder]\n",
    )
    assert kit.findings(text, ID) == []
    system = kit.plan(text).system
    [service] = system.services
    assert service.volumes == ("/srv/pool/scratch:/data",)


def test_database_role_without_a_database_network(kit: BlueprintKit) -> None:
    text = kit.text(
        network="""
        lan: 192.168.50.0/24
        host_address: 192.168.50.2
        statics: {server: 192.168.50.2}
        docker:
          apps: {subnet: 172.30.0.0/16}
        """,
        stacks="\nmain:\n  network: apps\n  apps: [tdb]\n",
    )
    found = kit.findings(text, ID)
    assert [(f.severity, f.message) for f in found] == [
        ("error", "tdb belongs on a database network, and network.docker has none"),
        ("error", "tdb-db belongs on a database network, and network.docker has none"),
    ]
    assert {kit.at(f) for f in found} == {kit.pos(text, "  docker:")}
    assert found[0].hint == "add an internal network with `purpose: database`"


def test_two_containers_with_one_name(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tdup: {}
            tdup-x: {}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "two containers are both named 'tdup-x' (apps tdup and tdup-x)"
    assert finding.hint == "container names are global on a Docker host: rename one app"
    assert kit.at(finding) == kit.pos(text, "    tdup-x: {}")


def test_two_apps_with_one_subdomain(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb: {}
            tadmin: {subdomain: tweb}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "apps tweb and tadmin both use the subdomain 'tweb'"
    assert finding.hint == "set `subdomain:` on one of them"
    assert kit.at(finding) == kit.pos(text, "    tadmin:")


def test_one_subdomain_is_fine_when_one_app_is_not_exposed(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb: {}
            tadmin: {subdomain: tweb, exposure: none}
        """
    )
    assert kit.findings(text, ID) == []


# ── the check registry ───────────────────────────────────────────────────────────────────────


def test_every_check_is_found_with_its_module_name_as_id() -> None:
    import importlib

    from lares.plan.checks import discover

    checks = discover()
    assert {
        "references",
        "memory",
        "ports",
        "subnets",
        "isolation",
        "hardening",
        "storage",
        "ipplan",
        "exposure",
    } <= set(checks)
    for check_id, module in checks.items():
        assert module is importlib.import_module(f"lares.plan.checks.{check_id}")
        assert check_id == module.ID
        assert module.DESCRIPTION and "\n" not in module.DESCRIPTION
        assert callable(module.check)


def test_checks_are_independent_and_pure(kit: BlueprintKit) -> None:
    from lares.plan.checks import discover

    text = kit.text(stacks="\nmain:\n  network: apps\n  apps: [tloose, tdbopen, tport, tport2]\n")
    together = kit.plan(text).findings
    one_by_one = [f for check_id in discover() for f in kit.plan(text, only=[check_id]).findings]
    assert sorted(together, key=repr) == sorted(one_by_one, key=repr)
    assert kit.plan(text).findings == together


def test_drill_queries_name_a_database_of_an_enabled_app(kit: BlueprintKit) -> None:
    def drill(queries: str) -> str:
        stacks = "\nmain:\n  network: apps\n  apps: [tdb, tweb]\n"
        return kit.text(stacks=stacks, backup=f"\ndrill:\n  queries:\n{queries}")

    ok = drill("    tdb: [{sql: SELECT 1, expect: ['1']}]\n")
    assert kit.findings(ok, ID) == []

    no_db = drill("    tweb: [{sql: SELECT 1, expect: ['1']}]\n")
    [finding] = kit.findings(no_db, ID)
    assert finding.message == (
        "drill queries for 'tweb', which is not an enabled app with a database to back up"
    )
    assert finding.hint == "apps with databases: tdb"
    assert kit.at(finding) == kit.pos(no_db, "tweb: [{sql")

    wrong = drill("    tdb:\n      - {db: dbx, sql: SELECT 1, expect: ['1']}\n")
    [finding] = kit.findings(wrong, ID)
    assert finding.message == "tdb backs up no database 'dbx'"
    assert finding.hint == "its databases: db"
    assert kit.at(finding) == kit.pos(wrong, "db: dbx")


def test_an_update_exclusion_that_names_no_app_is_an_error_where_it_is_written(
    kit: BlueprintKit,
) -> None:
    text = kit.text(updates="\nlevel: patch\nexclude:\n  - tweb\n  - twebb\n")
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message.startswith("updates.exclude names 'twebb', which is no enabled app")
    assert finding.hint == "did you mean 'tweb'?"
    assert kit.at(finding) == kit.pos(text, "twebb")
    assert kit.findings(kit.text(updates="\nexclude: [tweb]\n"), ID) == []
