"""btrfs health: parse device error counters, scrub status and space usage.

Each parser takes the text a btrfs-progs command (or sysfs file) printed and returns a frozen
report; none raises, and every line it does not understand is kept in ``unparsed`` with its line
number.

* :func:`parse_device_stats`: ``btrfs device stats`` (``[/dev/sdb].write_io_errs   0``, padded
  or single-spaced) and the ``-T`` table form.
* :func:`parse_error_stats`: ``/sys/fs/btrfs/<UUID>/devinfo/<DEVID>/error_stats`` (kernel 5.14+).
* :func:`parse_scrub_status`: ``btrfs scrub status`` in the format of btrfs-progs 5.2+ (with
  ``-d`` per device and ``-R`` raw counters) and the 4.x format.
* :func:`parse_filesystem_usage`: ``btrfs filesystem usage``, with ``-b`` (bytes) or human units.
* :func:`parse_device_usage`: ``btrfs device usage``.

Sizes printed with units (``1.82TiB``) are rounded by btrfs-progs; they are returned as bytes but
are only as exact as the text was (``raw_bytes`` says whether every size was a plain byte count).

Health (:class:`~lares.monitor.parsers.health.Health`, worst wins in :func:`assess`):

* ``failing``: a scrub found uncorrectable errors.
* ``degraded``: a device is missing.
* ``warning``: any device error counter is above zero (they count since the last
  ``btrfs device stats -z``, so a rule that alerts once should compare with the last value), a
  scrub found errors it corrected, a scrub was aborted or interrupted, or the filesystem mixes
  profiles for one kind of chunk (an interrupted balance or convert).
* ``unknown``: no scrub has ever run (``no stats available``) or there is nothing to judge.
* ``ok``: otherwise.

The collectors :mod:`lares.monitor.collectors.btrfs` (counters, missing devices) and
:mod:`lares.monitor.collectors.scrub` (scrub status, allocation) read the sources and call these.
"""

from __future__ import annotations

from lares.monitor.parsers.btrfs.common import Assessment, combined, parse_size
from lares.monitor.parsers.btrfs.scrub import (
    ScrubErrors,
    ScrubReport,
    ScrubState,
    ScrubStatus,
    parse_scrub_status,
)
from lares.monitor.parsers.btrfs.stats import (
    DeviceErrors,
    DeviceStatsReport,
    parse_device_stats,
    parse_error_stats,
)
from lares.monitor.parsers.btrfs.usage import (
    DeviceAmount,
    DeviceUsage,
    DeviceUsageReport,
    FilesystemUsage,
    ProfileUsage,
    parse_device_usage,
    parse_filesystem_usage,
)
from lares.monitor.parsers.health import Health, Unparsed

__all__ = [
    "Assessment",
    "DeviceAmount",
    "DeviceErrors",
    "DeviceStatsReport",
    "DeviceUsage",
    "DeviceUsageReport",
    "FilesystemUsage",
    "Health",
    "ProfileUsage",
    "ScrubErrors",
    "ScrubReport",
    "ScrubState",
    "ScrubStatus",
    "Unparsed",
    "assess",
    "parse_device_stats",
    "parse_device_usage",
    "parse_error_stats",
    "parse_filesystem_usage",
    "parse_scrub_status",
    "parse_size",
]


def assess(
    *,
    stats: DeviceStatsReport | None = None,
    scrub: ScrubReport | None = None,
    usage: FilesystemUsage | None = None,
    device_usage: DeviceUsageReport | None = None,
) -> Assessment:
    """One verdict for a filesystem from whichever readings are at hand; worst wins.

    Readings left out do not count. With none at all, or when every one is ``unknown``, the
    answer is ``unknown``; an ``unknown`` reading (e.g. never scrubbed) beside ``ok`` ones gives
    ``unknown`` too, so "never checked" is not reported as healthy.
    """
    readings = (stats, scrub, usage, device_usage)
    return combined((r.assessment for r in readings if r is not None), Health.UNKNOWN)
