"""Stacks applied but no longer in the blueprint, and renames, from the state folder's records."""

from __future__ import annotations

from pathlib import Path

from lares.deploy import record
from lares.deploy.orphans import compose_file, find
from lares.deploy.stackplan import StackPlan
from lares.state import StateDir


def test_recorded_stacks_the_blueprint_lacks_are_orphans_and_a_stack_with_their_containers_heirs(
    tmp_path: Path,
) -> None:
    state = StateDir.open(tmp_path)
    record.save(state, "front", "r1", {"compose.yaml": "services: {}\n"}, {"web": {"image": "w"}})
    record.save(state, "old", "r2", {"compose.yaml": "services: {}\n"}, {"cron": {"image": "c"}})
    record.save(state, "kept", "r3", {"compose.yaml": "services: {}\n"}, {"db": {"image": "d"}})
    web = StackPlan("apps", {}, "r9", None, {"web": "w", "extra": "e"})
    found = find(state, ["kept", "apps"], [web])
    assert [(o.name, o.containers, o.recorded, o.renamed_to) for o in found] == [
        ("front", ("web",), True, "apps"),
        ("old", ("cron",), True, None),
    ]
    assert found[1].remedy == "`lares down old`, or `lares up --prune`"
    # the live folder has no file for them: down uses the applied revision's
    assert (
        compose_file(state, "old")
        == tmp_path / "applied" / "old" / "revisions" / "r2" / "compose.yaml"
    )
    assert compose_file(state, "nothing") is None
