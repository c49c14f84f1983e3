"""`lares plan`: check the blueprint and show what it would run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lares.cli import app
from lares.commands.options import CheckOpt, Shared, TargetOpt, load_blueprint, printer, uses
from lares.errors import Failed

if TYPE_CHECKING:
    from lares.blueprint.load import Loaded
    from lares.output import Out


@app.command()
@uses("file", "state_dir", "as_json")
def plan(check: CheckOpt = None, target: TargetOpt = "home", *, shared: Shared) -> None:
    """Check the blueprint and show what it would run: findings, memory, storage, public URLs.

    Also names the stacks `lares up` applied that the blueprint no longer has.

    Secrets you must provide are looked up by name in the state folder (never read).

    With --target swarm, also what Docker Swarm does not apply of each app.
    """
    loaded = load_blueprint(shared.file)
    from lares.plan import plan as run_plan
    from lares.plan import secrets_set_in
    from lares.render import known_target
    from lares.report import plan_report
    from lares.state import default_root

    have = secrets_set_in((shared.state_dir or default_root()) / "secrets")
    known_target(target)
    result = run_plan(loaded, only=check or (), secrets_set=have, target=target)
    out = printer(shared.as_json)
    plan_report(out, result, loaded.source_name)
    if not shared.as_json:
        _applied_elsewhere(out, loaded, shared.state_dir)
    if result.errors:
        raise Failed()  # the findings say why


def _applied_elsewhere(out: Out, loaded: Loaded, state_dir: Path | None) -> None:
    """Warn about the stacks the state folder records as applied and the blueprint lacks
    (read only: plan never creates the state folder)."""
    from lares.deploy import record
    from lares.state import StateDir, default_root

    state = StateDir(state_dir or default_root())
    if not state.applied.is_dir():
        return
    for name in record.stacks(state):
        if name not in loaded.blueprint.stacks:
            out.warn(
                f"stack {name} is applied but not in the blueprint: `lares up` shows it, "
                f"`lares down {name}` or `lares up --prune` removes it"
            )
