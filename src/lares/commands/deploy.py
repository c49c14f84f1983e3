"""`lares up`, `diff`, `down`, `ps` and `rollback`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lares.cli import FileOpt, JsonOpt, StateOpt, _load, _out, _source, app

if TYPE_CHECKING:
    from lares.deploy.apply import StackPlan
    from lares.output import Out
    from lares.plan import Plan
    from lares.render.bundle import Bundle
    from lares.state import StateDir

StacksArg = Annotated[list[str] | None, typer.Argument(help="Stacks (default: all).")]
LockOpt = Annotated[
    float, typer.Option("--lock-timeout", help="Seconds to wait for another lares to finish.")
]


def _prepare(file: Path | None, out: Out) -> tuple[Plan, Bundle, str]:
    """Plan and render; stop with the findings when the plan has errors."""
    from lares.plan import plan as run_plan
    from lares.render import render_all
    from lares.report import findings_report

    loaded = _load(file)
    result = run_plan(loaded)
    if result.errors:
        if out.as_json:
            from lares.report import errors_json

            out.json(errors_json(result.errors))
        else:
            findings_report(out, result.errors)
        out.fail(
            f"{len(result.errors)} error(s) in the plan; nothing was changed",
            hint="fix them (see `lares plan`)",
        )
        raise typer.Exit(1)
    source = _source(loaded)
    return result, render_all(result.system, source=source), source


def _state(path: Path | None) -> StateDir:
    from lares.state import StateDir

    return StateDir.open(path)


def _show_plans(out: Out, plans: list[StackPlan]) -> None:
    from lares.output import table

    t = table("stack", "action", "changes")
    for p in plans:
        parts = []
        if p.added:
            parts.append("+" + ", +".join(p.added))
        if p.modified:
            parts.append("~" + ", ~".join(p.modified))
        if p.removed:
            parts.append("-" + ", -".join(p.removed))
        parts += [str(d) for d in p.drift]
        t.add_row(p.name, p.action, "; ".join(parts) or "—")
    out.table(t)


@app.command()
def up(
    stacks: StacksArg = None,
    file: FileOpt = None,
    state_dir: StateOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change, then stop.")
    ] = False,
    lock_timeout: LockOpt = 300.0,
    as_json: JsonOpt = False,
) -> None:
    """Deploy: check, render, show what changes, ask, then apply stack by stack."""
    from lares.deploy import fastpath

    out = _out(as_json)
    state = _state(state_dir)
    source = fastpath.source_of(file)
    fp = fastpath.fingerprint(source, state) if source is not None and not stacks else None
    if fp is not None:
        with state.lock(timeout=lock_timeout, purpose="up", on_wait=out.warn):
            same = fastpath.unchanged(fp, state, fastpath.containers_now())
        if same is not None:
            if as_json:
                out.json({"stacks": [{"stack": s, "action": "none"} for s in same], "applied": []})
            else:
                out.ok(f"nothing to do: {len(same)} stacks match what is running")
            return

    from lares.deploy import engine
    from lares.deploy.apply import apply, plan_stacks

    result, bundle, _ = _prepare(file, out)
    with state.lock(timeout=lock_timeout, purpose="up", on_wait=out.warn):
        client = engine.client()
        plans = plan_stacks(result.system, bundle, state, stacks or (), client)
        todo = [p for p in plans if p.action != "none"]
        report: dict[str, Any] = {"stacks": [p.to_dict() for p in plans], "applied": []}
        if not todo:
            if not stacks:
                fastpath.remember(state, source, [p.name for p in plans])
            if as_json:
                out.json(report)
            else:
                out.ok(f"nothing to do: {len(plans)} stacks match what is running")
            return
        if not as_json:
            _show_plans(out, plans)
        if dry_run:
            if as_json:
                out.json(report)
            else:
                out.line("dry run: nothing was changed")
            return
        if not yes and not typer.confirm(f"Apply {len(todo)} stack(s)?", default=False):
            out.fail("cancelled; nothing was changed")
            raise typer.Exit(1)
        records = apply(result.system, bundle, state, plans, client, progress=out.line)
        if not stacks:
            fastpath.remember(state, source, [p.name for p in plans])
        report["applied"] = [r.stack for r in records]
        if as_json:
            out.json(report)
        else:
            out.ok(f"applied {', '.join(r.stack for r in records)}")


@app.command()
def diff(
    stacks: StacksArg = None,
    file: FileOpt = None,
    state_dir: StateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show rendered-vs-applied file differences and drift in the running containers.

    Exits 1 when anything differs, so scripts can tell.
    """
    from lares.deploy import engine
    from lares.deploy.apply import file_diff, plan_stacks

    out = _out(as_json)
    result, bundle, _ = _prepare(file, out)
    state = _state(state_dir)
    plans = plan_stacks(result.system, bundle, state, stacks or (), engine.client())
    if as_json:
        out.json([{**p.to_dict(), "diff": file_diff(state, p) if p.changed else ""} for p in plans])
    else:
        for p in plans:
            if p.action == "none":
                out.line(f"{p.name}: up to date", style="green")
                continue
            out.heading(f"{p.name}: {p.action}")
            if p.changed:
                out.line(file_diff(state, p).rstrip())
            for d in p.drift:
                out.line(f"drift: {d}", style="yellow")
    raise typer.Exit(1 if any(p.action != "none" for p in plans) else 0)


@app.command()
def down(
    stacks: StacksArg = None,
    file: FileOpt = None,
    state_dir: StateOpt = None,
    volumes: Annotated[
        bool, typer.Option("--volumes", help="Also remove named volumes (asks you to type yes).")
    ] = False,
    lock_timeout: LockOpt = 300.0,
) -> None:
    """Stop and remove the stacks' containers; data folders and volumes are kept."""
    from lares.deploy import record
    from lares.deploy.apply import down as run_down

    out = _out(False)
    loaded = _load(file)
    state = _state(state_dir)
    order = loaded.blueprint.stack_order()
    known = sorted(set(order) | set(record.stacks(state)))
    wanted = stacks or list(reversed(order))
    unknown = [s for s in wanted if s not in known]
    if unknown:
        from lares.errors import UsageError

        raise UsageError(f"no stack named {', '.join(unknown)}", hint="stacks: " + ", ".join(known))
    if volumes:
        typed = typer.prompt(
            f"This deletes the named volumes of {', '.join(wanted)} for good. Type 'delete volumes'"
        )
        if typed.strip() != "delete volumes":
            out.fail("not confirmed; nothing was changed")
            raise typer.Exit(1)
    with state.lock(timeout=lock_timeout, purpose="down", on_wait=out.warn):
        done = run_down(state, wanted, volumes=volumes)
    out.ok(f"stopped {', '.join(done)}" + (" and removed their volumes" if volumes else ""))


@app.command()
def ps(
    stacks: StacksArg = None,
    as_json: JsonOpt = False,
) -> None:
    """The containers lares manages: state, health, uptime, restarts, ports."""
    from lares.deploy import engine
    from lares.deploy.status import stack_containers
    from lares.report import containers_table

    out = _out(as_json)
    states = stack_containers(engine.client(), stacks)
    if as_json:
        out.json([s.to_dict() for s in states])
        return
    containers_table(out, states)


@app.command()
def rollback(
    stacks: StacksArg = None,
    state_dir: StateOpt = None,
    previous: Annotated[
        bool,
        typer.Option("--previous", help="Go back one more: the revision before the last good one."),
    ] = False,
    lock_timeout: LockOpt = 300.0,
) -> None:
    """Re-apply a stack's last recorded good revision (after a failed `up`)."""
    from lares.deploy import engine, record
    from lares.deploy.apply import rollback as run_rollback

    out = _out(False)
    state = _state(state_dir)
    wanted = stacks or record.stacks(state)
    with state.lock(timeout=lock_timeout, purpose="rollback", on_wait=out.warn):
        client = engine.client()
        for name in wanted:
            rec = run_rollback(state, name, client, previous=previous, progress=out.line)
            out.ok(f"{name}: at revision {rec.revision[:12]}")
