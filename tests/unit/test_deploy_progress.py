"""What `up` says while it works: service states as they change, an apply left unrecorded."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from lares.commands.deploy import HealthView
from lares.deploy import record
from lares.deploy.progress import label
from lares.deploy.status import container_from_list
from lares.output import Out
from lares.state import StateDir


def _listed(state: str, status: str, code: int = 0) -> dict[str, Any]:
    return {
        "Names": ["/web"],
        "Image": "img:1",
        "State": state,
        "Status": status,
        "Labels": {"io.lares.stack": "s", "com.docker.compose.service": "web"},
    }


@pytest.mark.parametrize(
    ("state", "status", "shown"),
    [
        ("created", "Created", "created"),
        ("running", "Up 1 second (health: starting)", "starting"),
        ("running", "Up 9 seconds (healthy)", "healthy"),
        ("running", "Up 2 minutes (unhealthy)", "unhealthy"),
        ("running", "Up 2 minutes", "running"),
        ("restarting", "Restarting (1) 3 seconds ago", "restarting"),
        ("exited", "Exited (137) 5 seconds ago", "exited (137)"),
    ],
)
def test_a_container_state_in_a_word(state: str, status: str, shown: str) -> None:
    assert label(container_from_list(_listed(state, status))) == shown


def test_piped_progress_is_a_line_per_change(capsys: pytest.CaptureFixture[str]) -> None:
    view = HealthView(Out())
    assert view.live_view is False  # pytest captures stdout: not a terminal
    view("media", {"db": "starting", "web": "created"})
    view("media", {"db": "starting", "web": "starting"})
    view("media", {"db": "healthy", "web": "healthy"})
    view("front", {"web": "running"})
    view.close()
    assert capsys.readouterr().out.splitlines() == [
        "  media/db: starting",
        "  media/web: created",
        "  media/web: starting",
        "  media/db: healthy",
        "  media/web: healthy",
        "  front/web: running",
    ]


def test_on_a_terminal_a_live_table_shows_the_current_states() -> None:
    from rich.console import Console

    out = Out()
    screen = io.StringIO()
    out._console = Console(file=screen, force_terminal=True, width=60, color_system=None)
    view = HealthView(out)
    view.live_view = True
    view("media", {"db": "starting", "web": "created"})
    view("media", {"db": "healthy", "web": "healthy"})
    view.close()
    frames = screen.getvalue().split("\x1b[2K")
    # each state is drawn over the last, in place
    assert (
        frames[0]
        == "\x1b[?25lmedia: 0 s       \nservice  state   \ndb       starting\nweb      created \r"
    )
    # and the table stays on screen as it was last drawn
    assert (
        frames[-1]
        == "media: 0 s      \nservice  state  \ndb       healthy\nweb      healthy\n\x1b[?25h"
    )


def test_an_apply_is_noted_until_it_is_recorded_or_the_stack_is_down(tmp_path: Path) -> None:
    state = StateDir.open(tmp_path / "state")
    record.begin(state, "s", "rev2")
    left = record.applying(state, "s")
    assert left is not None and left.revision == "rev2" and left.started.endswith(" UTC")
    assert not left.failed
    record.failed(state, "s")
    failed = record.applying(state, "s")
    assert failed is not None and failed.failed and failed.started_at == left.started_at
    record.save(state, "s", "rev2", {"compose.yaml": "services: {}\n"}, {})
    assert record.applying(state, "s") is None
    record.failed(state, "s")  # nothing in progress: nothing to mark
    assert record.applying(state, "s") is None
    record.begin(state, "s", "rev3")
    record.forget(state, "s")
    assert record.applying(state, "s") is None
