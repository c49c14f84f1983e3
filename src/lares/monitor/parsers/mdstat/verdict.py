"""The health of one array, first match wins (see :mod:`lares.monitor.parsers.mdstat`)."""

from __future__ import annotations

from dataclasses import replace

from lares.monitor.parsers.mdstat.models import MdArray, MdHealth, SyncAction, SyncProgress


def assessed(array: MdArray) -> MdArray:
    health, reasons = _assess(array)
    return replace(array, health=health, reasons=reasons)


def _assess(array: MdArray) -> tuple[MdHealth, tuple[str, ...]]:
    sysfs = array.sysfs
    reasons: list[str] = []

    failed = array.failed_devices
    if failed:
        names = ", ".join(d.name for d in failed)
        reasons.append(f"failed member(s) still listed: {names} (F)")
    map_missing = array.member_map.count("_") if array.member_map is not None else None
    missing = array.missing
    if array.member_map and map_missing:
        reasons.append(f"member map [{array.member_map}] shows {map_missing} missing")
    if missing:
        reasons.append(f"[{array.expected}/{array.working}]: {missing} of {array.expected} missing")
    if missing is not None and map_missing is not None and missing != map_missing:
        reasons.append(
            f"[{array.expected}/{array.working}] and [{array.member_map}] disagree on how many "
            "members are missing"
        )
    sysfs_degraded = sysfs.degraded if sysfs is not None else None
    if sysfs_degraded:
        reasons.append(f"sysfs degraded={sysfs_degraded}")
    sync = array.sync
    if sync is not None:
        reasons.append(_describe_sync(sync))
    sysfs_action = sysfs.sync_action if sysfs is not None else None
    if sysfs_action and sysfs_action not in ("idle", "frozen") and sync is None:
        reasons.append(f"sysfs sync_action={sysfs_action}")
    state = sysfs.array_state if sysfs is not None else None

    if not array.active or state in ("inactive", "clear"):
        why = "array is inactive: not started, its data is not available"
        if array.is_container:
            why = (
                f"array is an inactive {array.metadata} metadata container (normal for "
                "containers): check the member arrays it holds"
            )
        elif state in ("inactive", "clear") and array.active:
            why = f"sysfs array_state={state}: the array is stopped"
        return MdHealth.INACTIVE, (why, *reasons)

    if state == "broken":
        return MdHealth.FAILED, ("sysfs array_state=broken: a member the level needs is gone",)
    if lost := _unsurvivable(array, missing, sysfs_degraded):
        return MdHealth.FAILED, (lost, *reasons)

    degraded = bool(failed or map_missing or missing or sysfs_degraded)
    action = sync.action if sync is not None else None
    if sysfs_action in ("recover", "resync", "reshape", "check", "repair"):
        action = SyncAction.RECOVERY if sysfs_action == "recover" else SyncAction(sysfs_action)
    if degraded:
        if action is SyncAction.RECOVERY and (sync is None or sync.running):
            return MdHealth.REBUILDING, tuple(reasons)
        return MdHealth.DEGRADED, tuple(reasons)
    if action in (SyncAction.RESYNC, SyncAction.RESHAPE, SyncAction.RECOVERY):
        return MdHealth.REBUILDING, tuple(reasons)
    if action in (SyncAction.CHECK, SyncAction.REPAIR):
        return MdHealth.CHECKING, tuple(reasons)
    return MdHealth.OK, ()


def _describe_sync(sync: SyncProgress) -> str:
    if sync.delayed:
        return f"{sync.action} delayed: waits for another array on the same disks"
    if sync.pending:
        return f"{sync.action} pending: starts on the first write (array is read-only until then)"
    text = f"{sync.action} {sync.percent}%"
    if sync.finish_minutes is not None:
        text += f", about {sync.finish_minutes} min left"
    return text


def _unsurvivable(array: MdArray, missing: int | None, sysfs_degraded: int | None) -> str | None:
    """Why the array cannot serve its data any more, or None when it still can."""
    level = array.personality
    lost = max(missing or 0, sysfs_degraded or 0)
    if level in ("raid0", "linear"):
        if array.failed_devices:
            return f"{level} has no redundancy and a member failed"
        return None
    if array.expected is None:
        return None
    if level in ("raid1", "multipath") and array.expected > 0 and lost >= array.expected:
        return f"{level}: no member is working"
    if level in ("raid4", "raid5") and lost >= 2:
        return f"{level} survives one missing member; {lost} are missing"
    if level == "raid6" and lost >= 3:
        return f"raid6 survives two missing members; {lost} are missing"
    if level == "raid10":
        return _raid10_lost(array, lost)
    return None


def _raid10_lost(array: MdArray, lost: int) -> str | None:
    copies = array.copies or 2
    slots = array.member_map
    if not slots or len(slots) < copies:
        if array.expected is not None and array.expected > 0 and lost >= array.expected:
            return "raid10: no member is working"
        return None
    size = len(slots)
    if array.layout in (None, "near") and size % copies == 0:
        starts = range(0, size, copies)
    else:
        starts = range(size)
    for start in starts:
        window = [slots[(start + k) % size] for k in range(copies)]
        if all(slot == "_" for slot in window):
            return f"raid10: every copy of one mirror set is missing (slots {start}..)"
    return None
