"""The deploy actions without an engine: a plan with errors stops `up` before anything, with the
findings as data; what `up` asks and reports, as data."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import solo_blueprint_text
from lares.deploy import actions
from lares.deploy.orphans import Orphan
from lares.deploy.stackplan import StackPlan
from lares.state import StateDir


def test_a_plan_with_errors_stops_up_with_its_findings(tmp_path: Path) -> None:
    blueprint = tmp_path / "lares.yaml"
    blueprint.write_text(solo_blueprint_text("newt"))
    state = StateDir.open(tmp_path / "state")
    with pytest.raises(actions.PlanErrors) as err:
        actions.up(state, blueprint, confirm=lambda _: pytest.fail("asked"))
    assert err.value.message == "2 errors in the plan; nothing was changed"
    assert {f.id for f in err.value.findings} == {"prerequisites"}
    assert err.value.errors_dict()["errors"][0]["id"] == "prerequisites"
    assert not (state.root / "live").exists()


def test_an_unsettled_update_stops_up_before_anything(tmp_path: Path) -> None:
    from lares.update import journal

    blueprint = tmp_path / "lares.yaml"
    blueprint.write_text(solo_blueprint_text("newt"))  # a plan with errors
    state = StateDir.open(tmp_path / "state")
    journal.write(state, journal.Entry("nextcloud", "30.0.1", "30.0.2", "pinned", {}, ()))
    with pytest.raises(actions.UpdateUnsettled) as err:
        actions.up(state, blueprint, confirm=lambda _: pytest.fail("asked"))
    assert err.value.message.startswith("an update of nextcloud from 30.0.1 to 30.0.2 is under")
    assert "after the step 'pinned'" in err.value.message
    assert not (state.root / "live").exists()
    journal.clear(state)  # settled: up goes on, here to the plan's own errors
    with pytest.raises(actions.PlanErrors):
        actions.up(state, blueprint, confirm=lambda _: pytest.fail("asked"))


def test_what_up_asks_and_what_it_reports() -> None:
    new = StackPlan("apps", {}, "r1" * 10, None, {"web": "w"})
    old = Orphan("front", ("web",), 1, True)
    preview = actions.Preview([new], [old], [new], [], [old])
    assert preview.question == "Apply 1 stack and remove front (not in the blueprint)?"
    assert preview.to_dict()["apply"] == ["apps"]
    assert actions.UpResult(unchanged=["apps"]).to_dict() == {
        "stacks": [{"stack": "apps", "action": "none"}],
        "applied": [],
    }
    nothing = actions.UpResult([new], [old], left=[old])
    assert nothing.ok and nothing.applied == []
    assert nothing.to_dict()["orphans"][0]["stack"] == "front"
    assert actions.down_question(["a", "b"], volumes=False) == (
        "Stop and remove the containers of a, b?"
    )
