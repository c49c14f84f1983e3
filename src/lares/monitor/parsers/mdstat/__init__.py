"""Linux software RAID: parse ``/proc/mdstat`` and ``/sys/block/mdX/md/*``.

:func:`parse` turns the text of ``/proc/mdstat`` into an :class:`MdstatReport`: one
:class:`MdArray` per array with its members, geometry, ``[n/m] [UU_]`` status, sync progress and
bitmap, plus a :class:`MdHealth` verdict and the reasons for it. Lines the parser does not
understand are returned in ``MdstatReport.unparsed`` with their line numbers; nothing raises.

:func:`parse_sysfs` reads the optional per-array sysfs attributes (``array_state``, ``degraded``,
``sync_action``, ``mismatch_cnt`` ...) and :func:`refine` folds them into an array, which then
re-decides its health with the kernel's own counters.

Health rules, first match wins:

* ``inactive``: the array is not started (``inactive`` in mdstat, or sysfs ``array_state`` is
  ``inactive``/``clear``). Never ``ok``, even when it prints ``[4/4] [UUUU]``.
* ``failed``: more members are missing than the level survives (raid0/linear: any failed member;
  raid1: none working; raid4/5: two; raid6: three; raid10: a whole mirror set), or sysfs says
  ``broken``.
* ``rebuilding``: degraded and a recovery runs; or not degraded and a resync or reshape runs or
  waits (``resync=DELAYED``/``PENDING``): redundancy is not yet where it should be.
* ``degraded``: a member is marked ``(F)``, the map shows ``_``, fewer members work than expected,
  or sysfs ``degraded`` is above zero.
* ``checking``: a ``check`` or ``repair`` pass runs on a complete array.
* ``ok``: none of the above.

The ``mdstat`` collector (:mod:`lares.monitor.collectors.mdstat`) reads the sources and calls these.
"""

from __future__ import annotations

from lares.monitor.parsers.health import Unparsed
from lares.monitor.parsers.mdstat.models import (
    Bitmap,
    DeviceRole,
    MdArray,
    MdHealth,
    MdstatReport,
    SyncAction,
    SyncProgress,
)
from lares.monitor.parsers.mdstat.parse import parse, parse_sysfs, refine

__all__ = [
    "Bitmap",
    "DeviceRole",
    "MdArray",
    "MdHealth",
    "MdstatReport",
    "SyncAction",
    "SyncProgress",
    "Unparsed",
    "parse",
    "parse_sysfs",
    "refine",
]
