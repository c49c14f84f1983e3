"""A deploy mutes the stacks it changes: the record, its expiry, and what the watcher holds back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from lares.deploy.status import ContainerState
from lares.deploying import RECORD, deploying, muted_stacks
from lares.monitor.alerts import Alerts
from lares.monitor.collectors import docker
from lares.monitor.config import AppTarget, WatchConfig
from lares.monitor.rules import Condition


def test_the_record_lasts_for_the_block_only(tmp_path: Path) -> None:
    with deploying(tmp_path, ["front", "data"], timeout=60):
        assert muted_stacks(tmp_path) == {"front", "data"}
        assert (tmp_path / RECORD).stat().st_mode & 0o777 == 0o600
    assert muted_stacks(tmp_path) == frozenset()
    assert not (tmp_path / RECORD).exists()


def test_the_record_of_a_dead_lares_or_past_its_time_does_not_count(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    path = tmp_path / RECORD
    path.parent.mkdir(parents=True)
    now = time.time()
    path.write_text(json.dumps({"pid": int(dead.stdout), "stacks": ["a"], "until": now + 600}))
    assert muted_stacks(tmp_path) == frozenset()
    path.write_text(json.dumps({"pid": os.getpid(), "stacks": ["a"], "until": now - 1}))
    assert muted_stacks(tmp_path) == frozenset()
    path.write_text(json.dumps({"pid": os.getpid(), "stacks": ["a"], "until": now + 600}))
    assert muted_stacks(tmp_path) == {"a"}
    path.write_text("{not json")
    assert muted_stacks(tmp_path) == frozenset()


def test_held_conditions_start_no_alert_and_keep_the_ones_there_are() -> None:
    book = Alerts(pending_samples=1)
    old = Condition(
        "container-down:db", "container-down", "critical", "db", "db is exited", "docker"
    )
    book.update([old], {"docker"}, 0.0)
    assert book.alerts["container-down:db"].state == "firing"
    new = Condition("container-down:web", "container-down", "critical", "web", "web", "docker")
    events = book.update([old, new], {"docker"}, 10.0, held=lambda c: True)
    assert events == []
    assert (
        list(book.alerts) == ["container-down:db"] and book.alerts["container-down:db"].count == 1
    )


def _state(name: str, service: str, state: str = "exited") -> ContainerState:
    return ContainerState(
        "front", "web", service, name, "busybox:1", state, "", None, 0, False, 0, (), ""
    )


def test_the_container_compose_is_replacing_is_not_reported() -> None:
    config = WatchConfig(host="h", apps=(AppTarget("web", "front", ("web",)),))
    found = docker.samples(
        [_state("0123456789ab_web", "web"), _state("web", "web", "running")], config
    )
    assert {s.subject for s in found if s.metric == "state"} == {"web"}
    # a container that merely looks like one is still watched
    other = docker.samples([_state("0123456789ab_other", "web")], config)
    assert "0123456789ab_other" in {s.subject for s in other}


def test_status_during_a_deploy_says_so_instead_of_a_problem(tmp_path: Path) -> None:
    from lares.monitor.status import check

    class Docker:
        ID = "docker"
        DEFAULT_INTERVAL = None

        @staticmethod
        def collect(ctx: object) -> list:  # type: ignore[type-arg]
            return docker.samples([_state("web", "web")], config)

    config = WatchConfig(
        host="h", state_dir=str(tmp_path), apps=(AppTarget("web", "front", ("web",)),)
    )
    quiet = {"docker": Docker()}
    assert [c.key for c in check(config, collectors=quiet).problems] == ["container-down:web"]
    with deploying(tmp_path, ["front"], timeout=60):
        during = check(config, collectors=quiet)
    assert during.problems == []
    assert [c.message for c in during.notes] == [
        "web is exited (exit code 0) (lares is deploying front)"
    ]
