"""The update journal: what a running ``lares update`` has done so far, in the state dir.

Written before each step that changes something (the pre-update backup done, the new version
pinned, the new version applied) and removed once the update is settled, either way. A journal
found at the start of ``lares update`` means an update was cut short (killed, power lost): the
old version and its data are put back before anything else, so an app never stays half
updated, and the report says so.

``LARES_TEST_PAUSE_AT=STEP`` makes lares stop right after writing STEP, saying so on stderr,
until it is killed: the integration tests kill it there. Nothing else reads it.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from lares.plain import Plain

if TYPE_CHECKING:
    from lares.state import StateDir

FILE = "update-journal.json"
Step = Literal["backed-up", "pinned", "applied"]


@dataclass(frozen=True)
class Entry(Plain):
    app: str
    current: str
    target: str
    step: Step
    before: dict[str, str | None]  # container key → its pin in lares.lock before the update
    snapshots: tuple[tuple[str, str, bool], ...]  # (repo, snapshot, is a database dump)


def write(state: StateDir, entry: Entry) -> None:
    state.write_json(FILE, entry.to_dict())
    if os.environ.get("LARES_TEST_PAUSE_AT") == entry.step:
        print(f"lares: paused at {entry.step}", file=sys.stderr, flush=True)
        while True:
            time.sleep(60)


def read(state: StateDir) -> Entry | None:
    data = state.read_json(FILE)
    if not isinstance(data, dict):
        return None
    return Entry(
        str(data["app"]),
        str(data["current"]),
        str(data["target"]),
        data["step"],
        {str(k): v for k, v in data["before"].items()},
        tuple((str(r), str(s), bool(d)) for r, s, d in data["snapshots"]),
    )


def clear(state: StateDir) -> None:
    (state.root / FILE).unlink(missing_ok=True)
