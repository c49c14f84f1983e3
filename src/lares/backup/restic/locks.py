"""restic's repository locks, and lares's rule for a stale one (left by a process that is gone)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lares import run
from lares.backup.restic.output import parse_time

#: Live restic refreshes its lock every 5 minutes; restic itself calls a lock stale after 30.
RESTIC_STALE_AFTER = timedelta(minutes=30)
#: A lock not refreshed for this long belongs to no running restic on any host.
STALE_AFTER = timedelta(hours=2)


@dataclass(frozen=True)
class Lock:
    id: str
    time: datetime
    exclusive: bool
    hostname: str
    username: str
    pid: int

    @classmethod
    def from_json(cls, lock_id: str, data: Mapping[str, Any]) -> Lock:
        return cls(
            id=lock_id,
            time=parse_time(str(data["time"])),
            exclusive=bool(data.get("exclusive", False)),
            hostname=str(data.get("hostname", "")),
            username=str(data.get("username", "")),
            pid=int(data.get("pid") or 0),
        )

    def describe(self) -> str:
        kind = "exclusive lock" if self.exclusive else "lock"
        when = self.time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        return f"{kind} {self.id[:8]} of PID {self.pid} on {self.hostname} ({when} UTC)"


def stale_reason(
    lock: Lock,
    *,
    hostname: str,
    now: datetime,
    max_age: timedelta = STALE_AFTER,
    alive: Callable[[int], bool] = run.pid_alive,
) -> str | None:
    """Why ``lock`` is stale (its process on this host is gone, or it is older than any run
    could last without refreshing it), or None when it may belong to a running restic."""
    if lock.hostname == hostname and not alive(lock.pid):
        return f"PID {lock.pid} no longer runs on {hostname}"
    age = now - lock.time
    if age > max_age:
        return f"not refreshed for {int(age.total_seconds() // 60)} minutes"
    return None


def restic_would_remove(
    lock: Lock, *, hostname: str, now: datetime, alive: Callable[[int], bool]
) -> bool:
    """What ``restic unlock`` (without --remove-all) removes: restic's own stale rule."""
    if now - lock.time > RESTIC_STALE_AFTER:
        return True
    return lock.hostname == hostname and not alive(lock.pid)
