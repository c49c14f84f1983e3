"""Notifications through Apprise to a local receiver: content, grouping, repeat, resolution."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lares.cli import app
from lares.monitor.collectors import Context, Sample
from lares.monitor.config import NotifyTarget, WatchConfig
from lares.monitor.watch import Watcher
from lares.secrets import SecretStore

TESTS = Path(__file__).resolve().parents[1]
REPEAT = 4.0


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.fail_next = 0

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.server.fail_next:
            self.server.fail_next -= 1
            self.send_response(500)
        else:
            self.server.posts.append((self.path, json.loads(body)))
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class FakeDisks:
    """Stands in for the disks collector: reports whatever use the test sets."""

    ID = "disks"
    DEFAULT_INTERVAL = None

    def __init__(self) -> None:
        self.used: dict[str, float] = {}

    def collect(self, ctx: Context) -> list[Sample]:
        return [Sample("disks", path, "used_percent", value) for path, value in self.used.items()]


def test_grouping_repeat_silence_resolution_and_retry(receiver: Receiver, tmp_path: Path) -> None:
    state = tmp_path / "state"
    SecretStore(state / "secrets").set("alert-url", f"json://127.0.0.1:{receiver.port}/second")
    config = WatchConfig(
        host="lt-host",
        state_dir=str(state),
        # the repeat window outlasts a delivery (a child process that imports Apprise), which can
        # take over a second on a loaded machine
        thresholds={"repeat": REPEAT, "pending_samples": 2},
        notify=(
            NotifyTarget(url=f"json://127.0.0.1:{receiver.port}/first"),
            NotifyTarget(secret="alert-url"),
        ),
    )
    disks = FakeDisks()
    watcher = Watcher(config, collectors={"disks": disks})
    try:
        disks.used = {"/tank": 95.0, "/data": 85.0}
        assert watcher.cycle(only=["disks"]).message is None  # pending
        assert receiver.posts == []

        fired = watcher.cycle(only=["disks"])
        assert fired.sent is True
        assert sorted(path for path, _ in receiver.posts) == ["/first", "/second"]
        first = receiver.posts[0][1]
        assert receiver.posts[1][1] == first  # one grouped message, the same to every target
        assert first["title"] == "lares on lt-host: 1 critical, 1 warning"
        assert first["type"] == "failure"
        assert first["message"].splitlines() == [
            "CRITICAL: /tank is 95.0% full (critical at 90%)",
            "  → delete or move data, or grow the filesystem",
            "WARNING: /data is 85.0% full (warning at 80%)",
            "  → delete or move data, or grow the filesystem",
        ]

        receiver.posts.clear()
        assert watcher.cycle(only=["disks"]).message is None  # nothing changed, repeat not due
        time.sleep(REPEAT + 0.1)
        watcher.cycle(only=["disks"])
        assert [p["title"] for _, p in receiver.posts] == [
            "lares on lt-host: 1 critical, 1 warning"
        ] * 2
        assert receiver.posts[0][1]["message"].splitlines()[0] == (
            "still CRITICAL: /tank is 95.0% full (critical at 90%)"
        )

        # a silence mutes repeats; it does not stop the record, nor the resolution
        receiver.posts.clear()
        watcher.store.silence("disk-usage", time.time() + 3600, "moving data")
        time.sleep(REPEAT + 0.1)
        assert watcher.cycle(only=["disks"]).message is None
        assert receiver.posts == []
        assert watcher.alerts.alerts["disk-usage:/tank"].silenced
        disks.used = {"/tank": 50.0, "/data": 85.0}
        resolved = watcher.cycle(only=["disks"])
        assert resolved.sent is True
        payload = receiver.posts[0][1]
        assert payload["type"] == "success"
        assert payload["title"] == "lares on lt-host: 1 resolved"
        assert payload["message"].startswith(
            "RESOLVED: /tank is 95.0% full (critical at 90%) (lasted "
        )
        kinds = [(r["key"], r["kind"], r["notified"]) for r in watcher.store.alert_log()]
        assert ("disk-usage:/tank", "repeat", 0) not in kinds
        assert ("disk-usage:/tank", "resolved", 1) in kinds

        # the silence ends: /data is due for a repeat; that delivery fails and is sent again
        # with the next cycle, which has nothing new of its own
        watcher.store.unsilence("disk-usage")
        receiver.posts.clear()
        receiver.fail_next = 2
        failed = watcher.cycle(only=["disks"])
        assert failed.sent is False
        assert failed.error == "Apprise could not deliver to every target"
        assert receiver.posts == []
        retried = watcher.cycle(only=["disks"])
        assert retried.events == [] and retried.sent is True
        assert [p["title"] for _, p in receiver.posts] == ["lares on lt-host: 1 warning"] * 2
        assert receiver.posts[0][1]["message"].startswith("still WARNING: /data is 85.0% full")
    finally:
        watcher.ctx.close()
        watcher.store.close()


def test_lares_alerts_test_sends_to_the_blueprint_targets(
    receiver: Receiver, kit: Any, tmp_path: Path
) -> None:
    blueprint = tmp_path / "lares.yaml"
    blueprint.write_text(
        kit.text(
            catalog=f"[{TESTS / 'data' / 'catalog'}]",
            monitor=f"""
            notify: [{{url: "json://127.0.0.1:{receiver.port}/"}}]
            """,
        )
    )
    args = ["alerts", "test", "-f", str(blueprint), "--state-dir", str(tmp_path / "state")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "sent a test notification to 1 target" in result.output
    [(_, payload)] = receiver.posts
    assert payload["title"] == "lares on testhost: test notification"
    assert payload["type"] == "info"

    receiver.fail_next = 1
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["sent"] is False


def test_a_missing_notify_secret_is_reported(tmp_path: Path) -> None:
    config = WatchConfig(
        host="lt-host", state_dir=str(tmp_path), notify=(NotifyTarget(secret="alert-url"),)
    )
    watcher = Watcher(config, collectors={})
    try:
        from lares.monitor.alerts import Message

        sent, error = watcher.sender(Message("t", "b", "info"))
        assert sent is False
        assert error == f"secret alert-url does not exist in {tmp_path / 'secrets'}"
    finally:
        watcher.ctx.close()
        watcher.store.close()
