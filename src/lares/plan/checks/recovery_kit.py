"""A recovery kit exists for the repositories and passwords lares holds now.

Reads (never writes) the state folder lares would use (``LARES_STATE_DIR`` or the default): its
repository passwords and the record of the last kit (:mod:`lares.recover.kit`). Before the
first ``lares backup init`` there is nothing a kit could hold, and nothing is said.
"""

from __future__ import annotations

from collections.abc import Iterator

from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "recovery_kit"
DESCRIPTION = "a recovery kit holds the current repositories and passwords"


def check(ctx: PlanContext) -> Iterator[Finding]:
    if not ctx.blueprint.backup.repositories:
        return
    from lares.recover.kit import RECORD, staleness
    from lares.secrets import SecretStore
    from lares.state import StateDir, default_root

    state = StateDir(default_root())
    if not state.secrets.is_dir():
        return
    try:
        record = state.read_json(RECORD)
    except (OSError, ValueError):
        record = None
    why = staleness(ctx.blueprint, SecretStore(state.secrets), record)
    if why is not None:
        yield ctx.finding(
            ID,
            "warning",
            f"{why}: if this server is lost, its offsite backups cannot be opened",
            "backup",
            "repositories",
            hint="run `lares recovery-kit --output FILE` and keep the file away from the server",
        )
