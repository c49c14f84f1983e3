"""Runbooks rendered from the blueprint: golden files for the reference homelab (mdadm RAID5
under btrfs) and a btrfs-native raid1 variant, and what each scenario must say.

Update the golden files after a deliberate change with::

    LARES_UPDATE_GOLDEN=1 python3 -m pytest tests/unit/test_recover_runbook.py -p no:cacheprovider
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from lares.blueprint.load import load_reference, load_text, reference_text
from lares.plan import make_context
from lares.recover import runbook

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "runbooks"
UPDATE = os.environ.get("LARES_UPDATE_GOLDEN") == "1"
WHERE = runbook.Where("/etc/lares/lares.yaml", "/var/lib/lares")
FACTS = runbook.Facts(
    drill_seconds=95.0,
    drill_when="2026-11-29T03:40:00+00:00",
    recover_seconds=41.5,
    recover_when="2026-11-20T10:02:11+00:00",
)

BTRFS_POOL = """\
    mainpool:
      engine: btrfs
      level: raid1
      filesystem: btrfs
      mount: /media/mainpool
      devices:
        - {path: /dev/sda, size: 12TB}
        - {path: /dev/sdb, size: 14TB}
"""


def _btrfs_raid1() -> str:
    text = reference_text()
    start = text.index("    mainpool:\n")
    end = text.index("\nnetwork:")
    return text[:start] + BTRFS_POOL + text[end:]


CASES = {
    "reference": lambda: load_reference(),
    "btrfs-raid1": lambda: load_text(_btrfs_raid1(), filename="lares.yaml"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_runbook_matches_its_golden_file(name: str) -> None:
    loaded = CASES[name]()
    text = runbook.render(make_context(loaded).system, WHERE, FACTS)
    path = GOLDEN / f"{name}.md"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()


def test_each_scenario_speaks_of_this_system() -> None:
    system = make_context(load_reference()).system
    one = {s: runbook.render(system, WHERE, FACTS, s) for s in runbook.SCENARIOS}
    assert "mdadm /dev/md/mainpool --add /dev/NEW" in one["drive"]
    assert "It survives 1 failed drive" in one["drive"]
    assert "lares recover --app vaultwarden --repo local -f /etc/lares/lares.yaml" in one["app"]
    assert "Time measured: the last restore drill 95 s" in one["machine"]
    assert "the last recovery 42 s" in one["machine"]
    assert "mdadm --assemble --scan" in one["os-disk"]
    # the restore order follows the stacks' dependencies
    order = re.findall(r"^\d+\. (\S+) \(stack (\S+)\)", one["machine"], re.M)
    stacks = [s for _, s in order]
    assert stacks == sorted(stacks, key=system.blueprint.stack_order().index)
    # no placeholder ever in a block that is typed as it is
    for text in one.values():
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            assert "NEW" not in block and "OLD" not in block and "..." not in block


def test_a_pool_without_redundancy_says_so() -> None:
    text = reference_text().replace("level: raid5", "level: raid0")
    system = make_context(load_text(text, filename="lares.yaml")).system
    drive = runbook.render(system, WHERE, runbook.Facts(), "drive")
    assert "**raid0 has no redundancy: one failed drive loses the pool.**" in drive
    machine = runbook.render(system, WHERE, runbook.Facts(), "machine")
    assert "the last restore drill not measured yet" in machine


def test_btrfs_replace_for_a_native_pool() -> None:
    system = make_context(CASES["btrfs-raid1"]()).system
    drive = runbook.render(system, WHERE, FACTS, "drive")
    assert "btrfs replace start ID /dev/NEW /media/mainpool" in drive
    assert "mount -o degraded /dev/sda /media/mainpool" in drive
    assert "With one drive fewer than 2, raid1 cannot keep its copies" in drive
