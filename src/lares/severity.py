"""One severity scale for everything lares reports, and one way to write a finding.

Plan findings say ``error``, ``warning`` or ``info``; doctor findings ``error``, ``warning``,
``unknown`` or ``ok``; monitor alerts ``critical``, ``warning`` or ``info``. They are words of
one scale, worst first (:data:`SCALE`); the audit's CIS words are :data:`ALIASES` of it.
:func:`rank` orders any of them, :func:`render_finding` writes any finding (an error too) as
a compiler does::

    lares.yaml:14:9: error [port-conflict] apps.nextcloud: host port 8080 is also used by …
      hint: drop the port and reach it through the proxy, or choose another port
"""

from __future__ import annotations

from typing import Literal

Severity = Literal["critical", "error", "warning", "unknown", "info", "ok"]
#: The words of the scale a plan finding uses.
PlanSeverity = Literal["error", "warning", "info"]
#: The words of the scale a doctor finding uses.
DoctorStatus = Literal["ok", "warning", "error", "unknown"]

#: Every severity, worst first.
SCALE: tuple[Severity, ...] = ("critical", "error", "warning", "unknown", "info", "ok")

#: Other words for a severity of :data:`SCALE` (the audit's, after CIS and SARIF levels).
ALIASES: dict[str, Severity] = {"high": "error", "medium": "warning", "low": "info"}

#: How a terminal shows each severity (the styles of :class:`lares.output.Out`).
STYLE: dict[str, str] = {
    "critical": "red bold",
    "error": "red",
    "warning": "yellow",
    "unknown": "cyan",
    "info": "cyan",
    "ok": "green",
}

_RANK = {name: i for i, name in enumerate(SCALE)}


def canonical(severity: str) -> Severity:
    """The :data:`SCALE` word for ``severity`` (an alias is translated).

    Raises :class:`ValueError` for a word that is on neither list (a bug in the caller).
    """
    name = ALIASES.get(severity, severity)
    if name not in _RANK:
        raise ValueError(f"unknown severity {severity!r}")
    return SCALE[_RANK[name]]


def rank(severity: str) -> int:
    """Where ``severity`` is on the scale: 0 for the worst (``critical``), more for milder."""
    return _RANK[canonical(severity)]


def render_finding(
    severity: str,
    code: str,
    message: str,
    *,
    location: object | None = None,
    hint: str | None = None,
) -> str:
    """A finding as a person reads it: ``location: severity [code] message``, then the hint
    on its own line (``  hint: …``). ``location`` is anything whose ``str()`` says where."""
    head = f"{location}: " if location else ""
    text = f"{head}{severity} [{code}] {message}"
    if hint:
        text += f"\n  hint: {hint}"
    return text
