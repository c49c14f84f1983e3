"""The stage actions the dashboard calls: silence, acknowledge, back up, drill.

Every call into another stage is here, as a thin adapter, so the dashboard holds no logic of
its own and follows the stages when their action modules change. Each adapter takes the
dashboard's settings and plain values and returns a dict that can be shown as JSON; a
mistake a person can fix raises :class:`~lares.errors.LaresError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lares.errors import LaresError, UsageError
from lares.web.data import Settings

Progress = Callable[[str], None]

ACK_COLLECTORS = ("btrfs", "smart")


class NothingToAck(LaresError):
    code = "nothing-to-ack"


def silence(
    settings: Settings, rule: str, subject: str, duration: str, reason: str = ""
) -> dict[str, Any]:
    """Mute notifications about ``subject`` (else ``rule``) for ``duration`` (30m, 2h, 1d)."""
    from lares.monitor.store import Store
    from lares.units import parse_duration

    target = subject.strip() or rule.strip()
    if not target:
        raise UsageError("name the alert to silence", hint="send its rule and subject")
    try:
        seconds = parse_duration(duration.strip() or "2h")
    except ValueError as exc:
        raise UsageError(str(exc), hint="write 30m, 2h or 1d") from None
    if seconds <= 0:
        raise UsageError("a silence lasts longer than 0 s", hint="write 30m, 2h or 1d")
    until = time.time() + seconds
    with Store.open(settings.state_dir / "monitor") as store:
        store.silence(target, until, reason or "from the dashboard")
    return {"target": target, "until": until, "reason": reason or "from the dashboard"}


def ack(settings: Settings, rule: str, subject: str, source: str) -> dict[str, Any]:
    """Accept the counters of the alert's collector (btrfs or smart) as they are now."""
    from lares.monitor.rules import acknowledge
    from lares.monitor.status import check
    from lares.monitor.store import Store
    from lares.web.data import load_blueprint

    collector = source if source in ACK_COLLECTORS else rule.split("-", 1)[0]
    if collector not in ACK_COLLECTORS:
        raise NothingToAck(
            f"the alert {rule} of {subject} has no counters to acknowledge",
            hint="acknowledging is for btrfs error counters and SMART sector counts; "
            "silence this alert instead",
        )
    config = load_blueprint(settings).config
    result = check(config, only=[collector], record=False)
    failed = [r for r in result.runs if not r.ok]
    if failed:
        raise LaresError(f"could not read the {collector} counters: {failed[0].error}")
    values = acknowledge(result.samples, collector)
    if not values:
        raise NothingToAck(
            f"no {collector} counters were read",
            hint="is the pool mounted (btrfs) or smartctl installed (smart)?",
        )
    with Store.open(settings.state_dir / "monitor") as store:
        store.set_baselines(values, acknowledged=True)
    return {"acknowledged": collector, "counters": len(values)}


def _backup_context(settings: Settings) -> Any:
    from lares.backup import open_context
    from lares.deploy.applied import load_or_applied
    from lares.state import StateDir

    loaded = load_or_applied(settings.file, StateDir(settings.state_dir), lambda _: None)
    return open_context(loaded, settings.state_dir)


class _Progress:
    """The backup runner's progress, as lines for the job."""

    def __init__(self, emit: Progress) -> None:
        self.emit = emit
        self.shown: dict[str, int] = {}

    def begin(self, label: str) -> None:
        self.emit(f"{label}: started")

    def status(self, label: str, status: Any) -> None:
        done = getattr(status, "percent", None)
        if isinstance(done, int | float) and self.shown.get(label) != int(done * 100):
            self.shown[label] = int(done * 100)
            self.emit(f"{label}: {done * 100:.0f} %")

    def end(self, label: str, ok: bool) -> None:
        self.emit(f"{label}: {'done' if ok else 'failed'}")


def backup(settings: Settings, repository: str | None, progress: Progress) -> dict[str, Any]:
    """Back up now (every app with a backup spec, to ``repository`` or all)."""
    from lares.backup.runner import execute, plan_run
    from lares.text import counted

    ctx = _backup_context(settings)
    if repository and repository not in ctx.blueprint.backup.repositories:
        raise UsageError(f"there is no backup repository called {repository!r}")
    planned = plan_run(ctx, repo=repository or None, due=False)
    progress(f"{counted(len(planned.jobs), 'job')} to run")
    report = execute(ctx, planned, _Progress(progress))
    return dict(report.to_dict())


def drill(settings: Settings, repository: str | None, progress: Progress) -> dict[str, Any]:
    """Restore the newest snapshots somewhere temporary and compare them (a drill)."""
    from lares.backup.drill import drill as run_drill

    ctx = _backup_context(settings)
    if repository and repository not in ctx.blueprint.backup.repositories:
        raise UsageError(f"there is no backup repository called {repository!r}")
    progress("drilling")
    results = run_drill(ctx, repo=repository or None, progress=_Progress(progress), swept=progress)
    return {"ok": all(r.ok for r in results), "apps": [r.to_dict() for r in results]}
