"""The monitor's actions take typed inputs, return data and never print."""

from __future__ import annotations

from pathlib import Path

import pytest

from lares.errors import LaresError, UsageError
from lares.monitor import actions
from lares.monitor.config import AppTarget, WatchConfig

NOW = 1_800_000_000.0
CONFIG = WatchConfig(host="nas", apps=(AppTarget("sonarr", "media", ("sonarr",)),))


def test_silence_list_and_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    made = actions.silence(CONFIG, tmp_path, "sonarr", "2h", reason="upgrade", now=NOW)
    assert made.to_dict() == {"target": "sonarr", "until": NOW + 7200, "reason": "upgrade"}
    actions.silence(CONFIG, tmp_path, "disk-usage", 60.0, now=NOW)
    listed = actions.silences(tmp_path)
    assert {s.target for s in listed.silences} == {"sonarr", "disk-usage"}
    assert {"target": "sonarr", "until": NOW + 7200, "reason": "upgrade"} in (
        listed.to_dict()["silences"]
    )
    assert actions.unsilence(tmp_path, "sonarr").to_dict() == {"target": "sonarr", "cleared": True}
    assert actions.unsilence(tmp_path, "sonarr").cleared is False
    assert capsys.readouterr() == ("", "")


def test_a_silence_names_something_and_lasts(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="there is nothing called 'sonar' to silence"):
        actions.silence(CONFIG, tmp_path, "sonar", "2h")
    with pytest.raises(UsageError) as bad:
        actions.silence(CONFIG, tmp_path, "smart", "soon")
    assert bad.value.hint == "write --for 30m, 2h or 1d"
    with pytest.raises(UsageError, match="longer than 0 s"):
        actions.silence(CONFIG, tmp_path, "all", 0)
    assert actions.silences(tmp_path).silences == ()


def test_only_btrfs_and_smart_are_acknowledged(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot acknowledge 'raid'"):
        actions.ack(CONFIG, tmp_path, "raid")
    actions.acknowledgeable("smart")


def test_alerts_of_an_empty_store(tmp_path: Path) -> None:
    assert actions.alerts(tmp_path, now=NOW).to_dict() == {"alerts": [], "log": []}


def test_a_test_notification_needs_a_target(tmp_path: Path) -> None:
    with pytest.raises(LaresError, match="names no notification target"):
        actions.notify_test(CONFIG, tmp_path / "secrets")
