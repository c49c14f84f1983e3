"""The audit's actions, one per way it is called; each returns a :class:`Report`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lares.audit.engine import Report, check_containers, check_drift, check_host
from lares.audit.stacks import Stacks, by_ports
from lares.audit.targets import load_files, load_rendered, load_running


def audit_files(paths: Sequence[Path]) -> Report:
    """Compose files and project folders (anyone's), and host files among them."""
    loaded = load_files(paths)
    placed = by_ports(loaded.containers)
    findings = check_containers(placed, lines=loaded.lines) + check_host(loaded.host)
    return Report(tuple(findings), len(placed), tuple(loaded.targets), tuple(loaded.notes))


def audit_running(stacks: Stacks | None = None, api: Any = None) -> Report:
    """Every container on the engine; lares's own get their catalog exceptions and exposure."""
    running = load_running(api)
    if stacks is None:
        placed = by_ports(running)
        findings = check_containers(placed)
    else:
        placed = stacks.place(running)
        findings = check_containers(placed, accept=stacks.accept, fix_for=stacks.fix)
    return Report(tuple(findings), len(placed), ("engine",))


def audit_stacks(stacks: Stacks, source: str, *, drift: bool = True, api: Any = None) -> Report:
    """lares's render of the blueprint, its host files and, when the engine answers, drift."""
    loaded = load_rendered(stacks.system, source)
    placed = stacks.place(loaded.containers)
    findings = [
        stacks.locate(f)
        for f in check_containers(
            placed, accept=stacks.accept, lines=loaded.lines, fix_for=stacks.fix
        )
    ] + check_host(loaded.host)
    notes: list[str] = []
    if drift:
        from lares.dockerapi import EngineDown

        try:
            running = load_running(api)
        except EngineDown as exc:
            notes.append(f"drift not checked: {exc}")
        else:
            findings += check_drift(loaded.containers, running)
    return Report(tuple(findings), len(placed), tuple(loaded.targets), tuple(notes))
