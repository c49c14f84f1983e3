"""The rule list is derived: a collector's rules come from its own module, and only there."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import lares.monitor.collectors as collectors_package
from lares.monitor import rules
from lares.monitor.collectors import discover
from lares.monitor.config import WatchConfig
from lares.monitor.sample import Sample

PROBE = """
from lares.monitor.rules import Condition, rule
from lares.monitor.sample import Sample

ID = "probe"
DEFAULT_INTERVAL = None


def collect(ctx):
    return [Sample(ID, "thing", "broken", 1.0)]


@rule("probe-broken")
def broken(x):
    for sample in x.each(ID, "broken"):
        if sample.value:
            yield Condition(f"probe-broken:{sample.subject}", "probe-broken", "warning",
                            sample.subject, "the probe is broken", ID)


RULES = (broken,)
"""


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A collector file ``probe.py`` added to the collectors package, and nothing else."""
    (tmp_path / "probe.py").write_text(PROBE)
    monkeypatch.setattr(
        collectors_package, "__path__", [*collectors_package.__path__, str(tmp_path)]
    )
    importlib.invalidate_caches()
    rules.rules.cache_clear()
    yield
    sys.modules.pop("lares.monitor.collectors.probe", None)
    rules.rules.cache_clear()


def test_every_collector_brings_its_rules() -> None:
    owners = {i: m for m in discover().values() for r in getattr(m, "RULES", ()) for i in r.ids}
    assert {"raid", "smart-growth", "btrfs-scrub", "container-oom", "state-late"} <= set(owners)
    assert owners["raid"].ID == "mdstat"
    assert set(rules.rule_ids()) == {*owners, "collector-error", "docker-daemon", "unparsed"}
    assert rules.rule_ids() == rules.RULE_IDS


def test_rule_ids_are_unique_per_rule() -> None:
    ids = [i for r in rules.rules() for i in r.ids]
    assert len(ids) == len(set(ids))


@pytest.mark.usefixtures("probe")
def test_a_new_collector_file_adds_its_rule_and_id() -> None:
    assert "probe" in discover()
    assert "probe-broken" in rules.rule_ids()
    found = rules.evaluate([Sample("probe", "thing", "broken", 1.0)], WatchConfig(host="n"))
    assert [c.key for c in found] == ["probe-broken:thing"]


def test_the_counters_with_a_baseline_are_declared_by_their_collectors() -> None:
    assert rules.acknowledgeable() == ("btrfs", "smart")
    seen = [
        Sample("smart", "/dev/sda", "attr_5", 2.0),
        Sample("btrfs", "/p:/dev/a", "errors_read", 1.0),
    ]
    assert rules.first_sight(seen, {}) == {"smart:/dev/sda:attr_5": 2.0}
    assert rules.acknowledge(seen, "btrfs") == {"btrfs:/p:/dev/a:errors_read": 1.0}
    assert rules.acknowledge(seen, "mdstat") == {}
