"""`lares audit`: the rule table on compose files, on the running engine, and on lares's own
stacks (with drift)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lares.cli import app
from lares.commands.options import Shared, load_blueprint, printer, uses
from lares.errors import UsageError

if TYPE_CHECKING:
    from lares.audit.engine import AuditFinding, Report
    from lares.audit.stacks import Stacks
    from lares.blueprint.load import Loaded
    from lares.output import Out

SEVERITY_NAMES = ("info", "low", "medium", "high", "critical")
_STYLE = {"critical": "red bold", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def _severity(value: str | None, option: str) -> str | None:
    if value is not None and value not in SEVERITY_NAMES:
        raise UsageError(
            f"{option} {value!r} is not a severity",
            hint="use one of: " + ", ".join(SEVERITY_NAMES),
        )
    return value


@app.command("audit")
@uses("file", "as_json")
def audit_cmd(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Compose files or project folders (anyone's), or host files (daemon.json, "
            "sshd_config, ufw.sh). Default: lares's own stacks from the blueprint, and drift.",
            show_default=False,
        ),
    ] = None,
    running: Annotated[
        bool, typer.Option("--running", help="Audit every container on the Docker engine.")
    ] = False,
    fmt: Annotated[
        str, typer.Option("--format", help="table, json or sarif (SARIF 2.1.0).")
    ] = "table",
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a finding not accepted is at this severity or above "
            "(info, low, medium, high, critical).",
        ),
    ] = None,
    show: Annotated[
        str, typer.Option("--show", help="The table lists findings at this severity or above.")
    ] = "low",
    no_drift: Annotated[
        bool, typer.Option("--no-drift", help="Do not compare lares's stacks with the engine.")
    ] = False,
    rules: Annotated[bool, typer.Option("--rules", help="List the rule table and exit.")] = False,
    *,
    shared: Shared,
) -> None:
    """Check containers against one rule table (CIS Docker Benchmark §5, compose-lint's rules,
    the daemon and host files): compose files, the running engine, or lares's own stacks and
    what drifted from them. Accepted exceptions are listed apart, each with its reason."""
    from lares.audit.rules import rank

    _severity(fail_on, "--fail-on")
    _severity(show, "--show")
    if fmt not in ("table", "json", "sarif"):
        raise UsageError(f"--format {fmt!r} is unknown", hint="table, json or sarif")
    if shared.as_json:
        fmt = "json"
    out = printer(fmt != "table")
    if rules:
        _rule_table(out, fmt)
        return
    report = _audit(paths or [], running, shared.file, drift=not no_drift)
    if fmt == "sarif":
        from lares.audit.sarif import to_sarif

        out.json(to_sarif(report))
    elif fmt == "json":
        out.json(report.to_dict())
    else:
        _table(out, report, rank(show))
    raise typer.Exit(1 if fail_on and report.failing(fail_on) else 0)


def _audit(paths: list[Path], running: bool, file: Path | None, *, drift: bool) -> Report:
    from lares.audit.actions import audit_files, audit_running, audit_stacks

    if paths and running:
        raise UsageError("give files or --running, not both", hint="run lares audit twice")
    if paths:
        return audit_files(paths)
    if running:
        # the blueprint, when there is one, says which of the engine's containers are lares's
        known = file is not None or Path("lares.yaml").is_file()
        return audit_running(_stacks(load_blueprint(file)) if known else None)
    loaded = load_blueprint(file)
    return audit_stacks(_stacks(loaded), loaded.source_name, drift=drift)


def _stacks(loaded: Loaded) -> Stacks:
    from lares.audit.stacks import Stacks
    from lares.plan import make_context

    # the system the plan resolves, without the plan's checks: the audit reads none of them
    return Stacks(make_context(loaded).system, loaded)


def _rule_table(out: Out, fmt: str) -> None:
    from lares.audit.rules import discover

    table = discover()
    if fmt != "table":
        out.json([r.to_dict() for r in table.values()])
        return
    out.rows(
        ("RULE", "SEVERITY", "CIS", "COMPOSE-LINT", "TITLE"),
        [
            (r.id, r.severity, r.cis or "", ",".join(r.compose_lint), r.title)
            for r in table.values()
        ],
    )


def _where(f: AuditFinding) -> str:
    """The container, when its name says more than the app's (not Compose's own name)."""
    if not f.container or f.container in (f.app, f"{f.project}-{f.app}-1"):
        return ""
    return f"{f.container}: "


def _table(out: Out, report: Report, shown: int) -> None:
    from lares.audit.engine import group
    from lares.audit.rules import rank

    c = out.console
    c.print(
        f"[bold]lares audit[/]: {', '.join(report.targets) or 'nothing'} — "
        f"{report.containers} containers",
        markup=True,
        highlight=False,
    )
    for note in report.notes:
        out.warn(note)
    visible = [f for f in report.open if rank(f.severity) >= shown]
    for app_name, findings in group(visible).items():
        c.print()
        c.print(f"[bold]{app_name}[/]")
        for f in findings:
            c.print(f"  [{_STYLE[f.severity]}]{f.severity:<8}[/] ", end="")
            where = _where(f)
            raised = f" (raised: {', '.join(f.raised)})" if f.raised else ""
            c.print(f"{f.rule:<26} {where}{f.message}{raised}", markup=False, highlight=False)
            c.print(f"           fix: {f.fix}", style="dim", markup=False, highlight=False)
    if report.accepted:
        c.print()
        c.print(f"[bold]accepted[/] ({len(report.accepted)}), each with its reason:")
        for app_name, findings in group(report.accepted).items():
            for f in findings:
                where = _where(f)
                c.print(
                    f"  {app_name:<14} {f.rule:<26} {where}{f.message}",
                    markup=False,
                    highlight=False,
                )
                c.print(
                    f"                 {f.accepted_by}: {f.accepted}",
                    style="dim",
                    markup=False,
                    highlight=False,
                )
    counts = report.counts()
    hidden = len(report.open) - len(visible)
    c.print()
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    c.print(
        f"{summary}; {len(report.accepted)} accepted"
        + (f" ({hidden} below --show {SEVERITY_NAMES[shown]} not listed)" if hidden else ""),
        style="red bold" if counts["critical"] or counts["high"] else "bold",
        markup=False,
        highlight=False,
    )
