"""Judging what `lares up` left running, app by app, from engine states (no engine here)."""

from __future__ import annotations

from dataclasses import replace

from lares.deploy.outcome import (
    Outcome,
    Seen,
    judge,
    stack_services,
    summary,
    waiting_on,
)
from lares.deploy.status import ContainerState

COMPOSE = {
    "services": {
        "web": {"labels": {"io.lares.app": "web"}},
        "newt": {"labels": {"io.lares.app": "newt", "io.lares.peer": "the Pangolin server"}},
        "qbittorrent": {
            "labels": {"io.lares.app": "qbittorrent"},
            "depends_on": {"qbittorrent-gluetun": {"condition": "service_healthy"}},
            "network_mode": "service:qbittorrent-gluetun",
        },
        "qbittorrent-gluetun": {
            "labels": {"io.lares.app": "qbittorrent", "io.lares.peer": "the VPN server"},
        },
        "app": {
            "labels": {"io.lares.app": "app"},
            "depends_on": {"app-db": {"condition": "service_healthy"}},
        },
        "app-db": {"labels": {"io.lares.app": "app"}},
    }
}


def state(service: str, status: str = "running", health: str = "healthy", **kw: object) -> Seen:
    base = ContainerState(
        stack="s",
        app="",
        service=service,
        name=service,
        image="i:1",
        state=status,
        health=health,
        started_at=None,
        restarts=0,
        oom_killed=False,
        exit_code=0,
        ports=(),
        config_hash="",
    )
    return Seen(replace(base, **kw), health=("exit 1: no",), logs=("boom",))  # type: ignore[arg-type]


def test_services_read_app_peer_and_dependencies() -> None:
    services = stack_services(COMPOSE)
    assert services["newt"].peer == "the Pangolin server"
    assert services["qbittorrent"].healthy_deps == ("qbittorrent-gluetun",)
    assert services["qbittorrent"].app == "qbittorrent"
    assert services["web"].peer is None
    list_form = stack_services({"services": {"a": {"depends_on": ["b"]}, "b": {}}})
    assert list_form["a"].started_deps == ("b",)
    assert list_form["a"].app == "a"


def test_what_waits_on_a_peer_includes_what_waits_for_it_to_be_healthy() -> None:
    assert waiting_on(stack_services(COMPOSE)) == {
        "newt": "the Pangolin server",
        "qbittorrent-gluetun": "the VPN server",
        "qbittorrent": "the VPN server",
    }


def test_each_app_is_judged_on_its_own() -> None:
    seen = {
        "web": state("web"),
        "newt": state("newt", health="unhealthy"),
        "qbittorrent-gluetun": state("qbittorrent-gluetun", health="starting"),
        "qbittorrent": state("qbittorrent", "created", ""),
        "app-db": state("app-db", "exited", "", exit_code=3),
        "app": state("app", "created", ""),
    }
    out = judge("s", stack_services(COMPOSE), seen)
    apps = {a.app: a for a in out.apps}
    assert {k: a.status for k, a in apps.items()} == {
        "web": "up",
        "newt": "waiting",
        "qbittorrent": "waiting",
        "app": "failed",
    }
    assert apps["newt"].why == "waiting for the Pangolin server"
    assert apps["qbittorrent"].why == (
        "qbittorrent: held back until qbittorrent-gluetun is healthy (waiting for the VPN server)"
    )
    db, main = sorted(apps["app"].services, key=lambda s: s.service, reverse=True)
    assert db.why == "the process exited with code 3"
    assert db.state == "exited (exit code 3)"
    assert main.why == "not started: app-db did not come up"
    assert [a.app for a in out.failed] == ["app"]
    assert [a.app for a in out.waiting] == ["newt", "qbittorrent"]


def test_a_crash_loop_is_a_failure_even_for_a_container_with_a_peer() -> None:
    services = stack_services(COMPOSE)
    seen = {"newt": state("newt", "running", "starting", restarts=4)}
    newt = judge("s", {"newt": services["newt"]}, seen).apps[0]
    assert newt.status == "failed"
    assert newt.why == "the process keeps exiting (4 restarts)"
    seen = {"web": state("web", "restarting", "unhealthy", restarts=2, exit_code=2)}
    web = judge("s", {"web": services["web"]}, seen).apps[0]
    assert web.why == "the process keeps exiting (last exit code 2)"
    assert web.services[0].state == "restarting (exit code 2), restarted 2 times"


def test_missing_container_and_out_of_memory_say_why() -> None:
    services = stack_services(COMPOSE)
    said = {"web": ("Error response from daemon: port is already allocated",)}
    out = judge("s", {"web": services["web"]}, {}, said)
    (web,) = out.apps[0].services
    assert (web.status, web.state) == ("failed", "not created")
    assert web.why == "Error response from daemon: port is already allocated"
    oom = state("web", "exited", "", oom_killed=True, exit_code=137)
    (web,) = judge("s", {"web": services["web"]}, {"web": oom}).apps[0].services
    assert web.why == "killed: out of memory (raise its memory limit)"
    assert web.state == "exited (exit code 137), out of memory"


def test_summary_details_only_failed_apps() -> None:
    seen = {
        "web": state("web", "running", "unhealthy"),
        "newt": state("newt", health="unhealthy"),
    }
    services = {k: v for k, v in stack_services(COMPOSE).items() if k in seen}
    done = Outcome([judge("s", services, seen)])
    assert not done.ok
    assert summary(done) == [
        "s/web: failed, its healthcheck fails",
        "  web: running, unhealthy",
        "    health: exit 1: no",
        "    | boom",
    ]
    data = done.to_dict()
    assert [a["status"] for a in data["apps"]] == ["failed", "waiting"]
    assert data["recorded"] == []
