"""`lares up`, `diff`, `down`, `ps` and `rollback`."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lares.cli import FileOpt, JsonOpt, StateOpt, _load, _out, _source, app

if TYPE_CHECKING:
    from lares.blueprint.source import Source
    from lares.deploy.apply import StackPlan
    from lares.deploy.orphans import Orphan
    from lares.deploy.outcome import Outcome
    from lares.output import Out
    from lares.plan import Plan
    from lares.render.bundle import Bundle
    from lares.state import StateDir

StacksArg = Annotated[list[str] | None, typer.Argument(help="Stacks (default: all).")]
COMPOSE_TIMEOUT = 900.0  # engine.compose_up's own limit per stack
LockOpt = Annotated[
    float, typer.Option("--lock-timeout", help="Seconds to wait for another lares to finish.")
]


def _prepare(
    file: Path | None, out: Out, state: StateDir | None = None
) -> tuple[Plan, Bundle, str]:
    """Plan and render; stop with the findings when the plan has errors.

    With ``state``, a secret the person must provide that is not set there is one of them.
    """
    from lares.plan import plan as run_plan
    from lares.plan import secrets_set_in
    from lares.render import render_all
    from lares.report import findings_report
    from lares.text import counted

    loaded = _load(file)
    result = run_plan(loaded, secrets_set=secrets_set_in(state.secrets) if state else None)
    if result.errors:
        if out.as_json:
            from lares.report import errors_json

            out.json(errors_json(result.errors))
        else:
            findings_report(out, result.errors)
        out.fail(
            f"{counted(len(result.errors), 'error')} in the plan; nothing was changed",
            hint="fix them (see `lares plan`)",
        )
        raise typer.Exit(1)
    source = _source(loaded)
    return result, render_all(result.system, source=source), source


def _state(path: Path | None) -> StateDir:
    from lares.state import StateDir

    return StateDir.open(path)


def _match(count: int) -> str:
    from lares.text import counted

    return f"{counted(count, 'stack')} {'matches' if count == 1 else 'match'} what is running"


class HealthView:
    """How `up` shows services coming up: on a terminal a live table per stack (each service's
    state, the seconds since the stack started); otherwise one line per change, so a log or CI
    run reads as a sequence ("  media/sonarr: starting", then "  media/sonarr: healthy")."""

    def __init__(self, out: Out) -> None:
        import sys

        self.out = out
        self.live_view = not out.as_json and sys.stdout.isatty()
        self.seen: dict[tuple[str, str], str] = {}
        self.states: dict[str, str] = {}
        self.live: Any = None
        self.stack = ""
        self.started = 0.0

    def __call__(self, stack: str, states: dict[str, str]) -> None:
        import time

        if stack != self.stack:
            self.close()
            self.stack, self.started = stack, time.monotonic()
        if not self.live_view:
            for service, st in states.items():
                if self.seen.get((stack, service)) != st:
                    self.out.line(f"  {stack}/{service}: {st}")
            self.seen.update({(stack, service): st for service, st in states.items()})
            return
        from rich.live import Live

        self.states = states
        if self.live is None:
            self.live = Live(
                console=self.out.console, refresh_per_second=2, get_renderable=self._table
            )
            self.live.start()
        self.live.refresh()

    def _table(self) -> Any:
        import time

        from lares.output import table

        colour = {"healthy": "green", "running": "green", "starting": "yellow"}
        waited = time.monotonic() - self.started
        t = table("service", "state", title=f"{self.stack}: {waited:.0f} s")
        for service, st in self.states.items():
            t.add_row(service, f"[{colour.get(st, 'red')}]{st}[/]")
        return t

    def close(self) -> None:
        """End the live table of the stack shown last (it stays on screen as it was)."""
        if self.live is not None:
            self.live.stop()
            self.live = None


def _deploying(state: StateDir, stacks: list[str]) -> AbstractContextManager[None]:
    """Tell the watcher that Compose is changing ``stacks`` (see :mod:`lares.deploying`)."""
    from lares.deploying import deploying

    return deploying(state.root, stacks, timeout=COMPOSE_TIMEOUT * len(stacks) + 60)


def _remember_blueprint(state: StateDir, source: Source | None) -> None:
    from lares.deploy import applied

    if source is not None:
        applied.remember(state, source)


def _show_plans(out: Out, plans: list[StackPlan], found: Sequence[Orphan] = ()) -> None:
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
        if p.interrupted_note:
            parts.append(p.interrupted_note)
        t.add_row(p.name, p.action, "; ".join(parts) or "—")
    for o in found:
        t.add_row(o.name, o.to_dict()["action"], f"{o.running} running; {o.hint}")
    out.table(t)


def _show_outcome(out: Out, done: Outcome) -> None:
    """Per app: up, waiting (for what) or failed (and why); then the details of what is not up."""
    from lares.deploy.apply import failed_hint
    from lares.deploy.outcome import summary
    from lares.output import table
    from lares.text import counted

    t = table("stack", "app", "status", "why")
    for a in done.apps:
        t.add_row(a.stack, a.app, a.status, a.why or "—")
    out.table(t)
    failed = [a for a in done.apps if a.status == "failed"]
    waiting = [a for a in done.apps if a.status == "waiting"]
    for line in summary(done):
        out.line(line)
    for a in waiting:
        out.warn(f"{a.app}: {a.why}; the next `lares up` after it answers finishes it")
    recorded = [s.stack for s in done.stacks if s.recorded]
    if failed:
        others = len(done.apps) - len(failed)
        rest = f"; the other {others} are " + ("up or waiting" if waiting else "up")
        out.fail(
            f"{counted(len(failed), 'app')} did not come up: {', '.join(a.app for a in failed)}"
            + (rest if others else ""),
            hint=failed_hint(done),
        )
    elif recorded:
        out.ok(f"applied {', '.join(recorded)}")


def _warn_orphans(out: Out, found: Sequence[Orphan]) -> None:
    from lares.text import counted

    for o in found:
        if not o.renamed_to:
            out.warn(
                f"stack {o.name} ({counted(o.running, 'container')} running) is not in the "
                "blueprint: "
                f"remove it with {o.remedy}"
            )


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
    fresh_secrets: Annotated[
        list[str] | None,
        typer.Option(
            "--fresh-secrets",
            metavar="APP",
            help="Generate new secrets for APP although its data folders hold data (repeat; "
            "'all' for every app). Its existing data may then be unusable.",
        ),
    ] = None,
    as_json: JsonOpt = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Also remove the applied stacks the blueprint no longer names."
        ),
    ] = False,
) -> None:
    """Deploy: check, render, show what changes, ask, then apply stack by stack.

    A secret that changed (`lares secret set`) recreates the containers that read it. An app
    whose data folders already hold data while lares has none of its secrets (a new or lost
    state folder) stops the run before anything changes; see --fresh-secrets.
    Stacks that were applied but are no longer in the blueprint are shown (removed with
    --prune; a stack lares did not apply from this state folder only with `lares down`); a stack
    renamed in the blueprint is moved: its old project is taken down first.
    """
    from lares.deploy import fastpath
    from lares.text import counted

    out = _out(as_json)
    state = _state(state_dir)
    source = fastpath.source_of(file)
    fp = fastpath.fingerprint(source, state) if source is not None and not stacks else None
    if fp is not None:
        with state.lock(timeout=lock_timeout, purpose="up", on_wait=out.warn):
            same = fastpath.unchanged(fp, state, fastpath.containers_now())
        if same is not None:
            _remember_blueprint(state, source)
            if as_json:
                out.json({"stacks": [{"stack": s, "action": "none"} for s in same], "applied": []})
            else:
                out.ok(f"nothing to do: {_match(len(same))}")
            return

    from lares.deploy import engine, orphans, record
    from lares.deploy.apply import apply_stacks, plan_stacks, refuse_lost_secrets
    from lares.deploy.files import store_for

    fresh = fresh_secrets or []
    result, bundle, _ = _prepare(file, out, state)
    unknown = sorted(set(fresh) - {a.id for a in result.system.apps} - {"all"})
    if unknown:
        from lares.errors import UsageError

        raise UsageError(
            f"--fresh-secrets: no app named {', '.join(unknown)} in the blueprint",
            hint="name an app of the blueprint, or 'all'",
        )
    with state.lock(timeout=lock_timeout, purpose="up", on_wait=out.warn):
        client = engine.client()
        plans = plan_stacks(result.system, bundle, state, stacks or (), client)
        refuse_lost_secrets(result.system, bundle, store_for(state.live, state.secrets), fresh)
        todo = [p for p in plans if p.action != "none"]
        found = orphans.find(state, result.system.blueprint.stacks, plans, client)
        moving = [o for o in found if o.renamed_to in {p.name for p in todo}]
        # only what this state folder applied: another lares's stacks may share the engine
        removing = [o for o in found if prune and o.recorded and not o.renamed_to]
        report: dict[str, Any] = {
            "stacks": [p.to_dict() for p in plans],
            "applied": [],
            "orphans": [o.to_dict() for o in found],
            "removed": [],
        }
        if not todo and not removing:
            if not stacks and not found:
                fastpath.remember(state, source, [p.name for p in plans])
            _remember_blueprint(state, source)
            if as_json:
                out.json(report)
            else:
                out.ok(f"nothing to do: {_match(len(plans))}")
                _warn_orphans(out, found)
            return
        if not as_json:
            _show_plans(out, plans, found)
        if dry_run:
            if as_json:
                out.json(report)
            else:
                out.line("dry run: nothing was changed")
            return
        question = f"Apply {counted(len(todo), 'stack')}"
        if removing:
            question += f" and remove {', '.join(o.name for o in removing)} (not in the blueprint)"
        if not yes and not typer.confirm(question + "?", default=False):
            out.fail("cancelled; nothing was changed")
            raise typer.Exit(1)
        touched = [p.name for p in todo] + [o.name for o in moving + removing]
        view = HealthView(out)
        try:
            with _deploying(state, touched):
                for o in moving:
                    out.line(f"{o.name}: renamed to {o.renamed_to}; taking the old project down")
                    orphans.take_down(state, o, progress=out.line)
                done = apply_stacks(
                    result.system,
                    bundle,
                    state,
                    plans,
                    client,
                    fresh=fresh,
                    progress=out.line,
                    on_states=view,
                )
                recorded = {s.stack for s in done.stacks if s.recorded}
                for o in moving:
                    # the old record goes once the new stack is up: until then it is the way back
                    if o.renamed_to in recorded:
                        record.forget(state, o.name)
                for o in removing:
                    orphans.remove(state, o, progress=out.line)
        finally:
            view.close()
        settled = done.ok and not any(a.status == "waiting" for a in done.apps)
        if not stacks and settled and len(moving) + len(removing) == len(found):
            fastpath.remember(state, source, [p.name for p in plans])
        _remember_blueprint(state, source)
        report["applied"] = [s.stack for s in done.stacks if s.recorded]
        report["removed"] = [o.name for o in moving + removing]
        report.update(done.to_dict())
        if as_json:
            out.json(report)
        else:
            _show_outcome(out, done)
            if report["removed"]:
                out.ok(f"removed {', '.join(report['removed'])}")
            _warn_orphans(out, [o for o in found if o not in moving + removing])
        if not done.ok:
            raise typer.Exit(1)


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
            if p.interrupted_note:
                out.line(p.interrupted_note, style="yellow")
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
        bool,
        typer.Option(
            "--volumes", help="Also remove named volumes (asks you to type 'delete volumes')."
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Stop without asking.")] = False,
    lock_timeout: LockOpt = 300.0,
) -> None:
    """Stop and remove the stacks' containers; data folders and volumes are kept.

    Asks first, as `up` does (--yes does not ask); --volumes always asks for a typed
    confirmation instead. Works from the applied revision while the blueprint does not load.
    """
    from lares.deploy import engine, record
    from lares.deploy.applied import load_or_applied
    from lares.deploy.apply import down as run_down
    from lares.deploy.status import stack_containers

    out = _out(False)
    state = _state(state_dir)
    loaded = load_or_applied(file, state, out.warn)
    order = loaded.blueprint.stack_order()
    running = {c.stack for c in stack_containers(engine.client())}
    known = sorted(set(order) | set(record.stacks(state)) | running)
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
    elif not yes and not typer.confirm(
        f"Stop and remove the containers of {', '.join(wanted)}?", default=False
    ):
        out.fail("cancelled; nothing was changed")
        raise typer.Exit(1)
    with (
        state.lock(timeout=lock_timeout, purpose="down", on_wait=out.warn),
        _deploying(state, wanted),
    ):
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
    """Re-apply a stack's last recorded good revision (after a failed `up`).

    A stack that already runs that revision is left alone, and the command says so (and what
    --previous would go back to).
    """
    from lares.deploy import engine, record
    from lares.deploy.apply import rollback as run_rollback
    from lares.deploy.apply import runs_recorded

    out = _out(False)
    state = _state(state_dir)
    wanted = stacks or record.stacks(state)
    with state.lock(timeout=lock_timeout, purpose="rollback", on_wait=out.warn):
        client = engine.client()
        for name in wanted:
            current = None if previous else runs_recorded(state, name, client)
            if current is not None:
                before = (
                    f"`lares rollback --previous {name}` goes back to {current.history[-1][:12]}"
                    if current.history
                    else "no earlier revision is kept"
                )
                out.ok(
                    f"{name}: nothing to roll back: it runs its last good revision "
                    f"{current.revision[:12]}, applied {record.when(current.applied_at)}; {before}"
                )
                continue
            with _deploying(state, [name]):
                rec = run_rollback(state, name, client, previous=previous, progress=out.line)
            out.ok(f"{name}: at revision {rec.revision[:12]} (rolled back)")
