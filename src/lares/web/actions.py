"""The stage actions the dashboard calls: silence, acknowledge, back up, drill.

Every call into another stage is here, as a thin adapter, so the dashboard holds no logic of
its own and follows the stages when their action modules change. Each adapter takes the
dashboard's settings and plain values and returns a dict that can be shown as JSON; a
mistake a person can fix raises :class:`~lares.errors.LaresError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from lares.errors import LaresError, UsageError
from lares.web.data import Settings

if TYPE_CHECKING:
    from lares.monitor.config import WatchConfig

Progress = Callable[[str], None]

ACK_COLLECTORS = ("btrfs", "smart")


class NothingToAck(LaresError):
    code = "nothing-to-ack"


def silence(
    settings: Settings,
    config: WatchConfig,
    alert: Mapping[str, Any],
    duration: str,
    reason: str = "",
) -> dict[str, Any]:
    """Mute notifications about an alert for ``duration`` (30m, 2h, 1d): its app's, else
    its subject's when that is an app, else its rule's (what ``lares silence`` can name): an
    alert whose app label names no deployed app (a container left from an earlier blueprint) is
    silenced by its rule rather than refused."""
    from lares.monitor import actions as monitor

    apps = {a.id for a in config.apps}
    named = (str(alert.get("app") or ""), str(alert.get("subject") or ""))
    target = next((n for n in named if n in apps), str(alert.get("rule") or ""))
    done = monitor.silence(
        config,
        settings.state_dir / "monitor",
        target,
        duration.strip() or "2h",
        reason=reason or "from the dashboard",
    )
    return dict(done.to_dict())


def ack(settings: Settings, config: WatchConfig, alert: Mapping[str, Any]) -> dict[str, Any]:
    """Accept the counters of the alert's collector (btrfs or smart) as they are now."""
    from lares.monitor import actions as monitor

    rule, subject = str(alert.get("rule") or ""), str(alert.get("subject") or "")
    source = str(alert.get("source") or "")
    collector = source if source in ACK_COLLECTORS else rule.split("-", 1)[0]
    if collector not in ACK_COLLECTORS:
        raise NothingToAck(
            f"the alert {rule} of {subject} has no counters to acknowledge",
            hint="acknowledging is for btrfs error counters and SMART sector counts; "
            "silence this alert instead",
        )
    done = monitor.ack(config, settings.state_dir / "monitor", collector)
    return {"acknowledged": collector, "counters": len(done.values)}


def _backup_context(settings: Settings) -> Any:
    from lares.backup import open_context
    from lares.deploy.applied import load_or_applied
    from lares.state import StateDir

    loaded = load_or_applied(settings.file, StateDir(settings.state_dir), lambda _: None)
    return open_context(loaded, settings.state_dir)


def backup(settings: Settings, repository: str | None, progress: Progress) -> dict[str, Any]:
    """Back up now (every app with a backup spec, to ``repository`` or all)."""
    from lares.backup import actions as backups
    from lares.text import counted

    ctx = _backup_context(settings)
    _known(ctx, repository)
    planned = backups.plan(ctx, repository or None)
    progress(f"{counted(len(planned.jobs), 'job')} to run")
    report = backups.run(ctx, planned=planned, progress=progress)
    return dict(report.to_dict())


def drill(settings: Settings, repository: str | None, progress: Progress) -> dict[str, Any]:
    """Restore the newest snapshots somewhere temporary and compare them (a drill)."""
    from lares.backup import actions as backups

    ctx = _backup_context(settings)
    _known(ctx, repository)
    progress("drilling")
    done = backups.drill(ctx, repository or None, progress=progress, swept=progress)
    return dict(done.to_dict())


def _known(ctx: Any, repository: str | None) -> None:
    if repository and repository not in ctx.blueprint.backup.repositories:
        raise UsageError(f"there is no backup repository called {repository!r}")
