"""Disk health from smartmontools: parse ``smartctl --json -a`` and ``smartctl --scan -j``.

:func:`command` says what to run for one device and :func:`parse` reads its JSON (ATA, NVMe and
SCSI) into a :class:`SmartReport`: identity, the decoded exit status, the overall self-assessment,
temperature, power-on hours, the ATA attributes that predict failure, NVMe and SCSI error counters,
failed self-tests, and a verdict on the one health scale
(:class:`~lares.monitor.parsers.health.Health`; a drive is never ``degraded``) with its reasons.

smartctl's exit status is a bitmask (:class:`ExitFlag`), not a pass/fail code: a healthy disk
with an old entry in its error log exits 64. The runner must not treat a non-zero exit as a failed
command; it passes the JSON (and, if the JSON lacks it, the exit code) to :func:`parse`. With
``-n standby`` a sleeping disk is not woken: smartctl exits 2 and prints only a message, which
:func:`parse` reports as health ``unknown`` with ``standby`` set.

Health rules (every rule that matches adds a reason; the worst level wins):

* ``failing``: the disk's own verdict is FAILED (``smart_status.passed`` false, exit bit 3),
  a pre-failure attribute is at or below its threshold now (exit bit 4, ``when_failed: now``),
  NVMe ``critical_warning`` has a bit other than temperature set, or NVMe available spare is below
  its threshold.
* ``warning``: a failure-predictor counter is above zero (5, 10, 184, 187, 188, 196, 197, 198),
  an attribute failed in the past or an old-age attribute fails now, the error log has entries,
  a self-test failed, NVMe ``media_errors`` > 0 or ``percentage_used`` >= 100 or a temperature
  warning, SCSI grown defects or uncorrected errors > 0.
* ``unknown``: no health data at all (standby, device open failed, not JSON ...).
* ``ok``: health data is present and none of the above matched.

The hourly ``smart`` collector (:mod:`lares.monitor.collectors.smart`) runs these commands and
calls these parsers.
"""

from __future__ import annotations

from lares.monitor.parsers.health import Health
from lares.monitor.parsers.smart.models import (
    CRITICAL_ATTRIBUTES,
    ExitFlag,
    NvmeLog,
    ScanDevice,
    ScsiCounters,
    SmartReport,
)
from lares.monitor.parsers.smart.parse import (
    command,
    decode_exit_status,
    parse,
    parse_scan,
    scan_command,
)

__all__ = [
    "CRITICAL_ATTRIBUTES",
    "ExitFlag",
    "Health",
    "NvmeLog",
    "ScanDevice",
    "ScsiCounters",
    "SmartReport",
    "command",
    "decode_exit_status",
    "parse",
    "parse_scan",
    "scan_command",
]
