"""`lares up`, `diff`, `down`, `ps` and `rollback`: flags, one call to
:mod:`lares.deploy.actions`, and the rendering of its result.

Exit codes that are results: `up` exits 1 when an app did not come up or the plan has errors
(shown as `lares plan` shows them), `diff` 1 when anything differs. Every other failure is a
:class:`~lares.errors.LaresError` the CLI renders.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lares.cli import app
from lares.commands.options import (
    DryRunOpt,
    EngineOpt,
    LockOpt,
    Shared,
    StacksArg,
    YesOpt,
    printer,
    uses,
)

if TYPE_CHECKING:
    from lares.deploy.actions import DiffResult, Preview, RolledBack, UpResult
    from lares.deploy.orphans import Orphan
    from lares.deploy.outcome import Outcome
    from lares.deploy.stackplan import StackPlan
    from lares.output import Out
    from lares.state import StateDir


def _state(path: Path | None) -> StateDir:
    from lares.state import StateDir

    return StateDir.open(path)


def _scope(shared: Shared, stacks: list[str] | None) -> tuple[StateDir, Path | None, Sequence[str]]:
    """What an action of `up`, `diff` and `down` works on, as the command line names it: the
    state folder, the blueprint, and the stacks (every stack when it names none)."""
    return _state(shared.state_dir), shared.file, stacks or ()


@contextmanager
def _plan_checked(out: Out) -> Iterator[None]:
    """Show a plan's errors as `lares plan` does, and exit 1 (nothing was changed)."""
    from lares.deploy.actions import PlanErrors

    try:
        yield
    except PlanErrors as exc:
        from lares.report import findings_report

        if out.as_json:
            out.json(exc.errors_dict())
        else:
            findings_report(out, exc.findings)
        out.fail(exc.message, hint=exc.hint)
        raise typer.Exit(1) from None


@contextmanager
def _applying(out: Out) -> Iterator[HealthView]:
    """While `up` applies: the services' states shown as they come up (the live table ended
    after), and a plan's errors shown as `lares plan` shows them (exit 1)."""
    view = HealthView(out)
    try:
        with _plan_checked(out):
            yield view
    finally:
        view.close()


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


def _show_up(out: Out, done: UpResult) -> None:
    if out.as_json:
        out.json(done.to_dict())
    elif done.unchanged is not None:
        out.ok(f"nothing to do: {_match(len(done.unchanged))}")
    elif done.dry_run:
        out.line("dry run: nothing was changed")
    elif done.outcome is None:
        out.ok(f"nothing to do: {_match(len(done.plans))}")
        _warn_orphans(out, done.left)
    else:
        _show_outcome(out, done.outcome)
        if done.removed:
            out.ok(f"removed {', '.join(done.removed)}")
        _warn_orphans(out, done.left)


@app.command()
@uses("file", "state_dir", "as_json")
def up(
    fresh_secrets: Annotated[
        list[str] | None,
        typer.Option(
            "--fresh-secrets",
            metavar="APP",
            help="Generate new secrets for APP although its data folders hold data (repeat; "
            "'all' for every app). Its existing data may then be unusable.",
        ),
    ] = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Also remove the applied stacks the blueprint no longer names."
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="swarm: deploy although the plan has errors.")
    ] = False,
    resolve_image: Annotated[
        str,
        typer.Option(
            "--resolve-image",
            help="swarm: ask the registry for each image's digest (always, changed, never).",
        ),
    ] = "always",
    plain_overlays: Annotated[
        bool,
        typer.Option(
            "--plain-overlays",
            help="swarm: overlay networks without IPsec encryption (for nodes whose kernel "
            "lacks it); their traffic crosses the LAN unencrypted.",
        ),
    ] = False,
    wait: Annotated[
        float, typer.Option("--wait", help="swarm: seconds to wait for the services to run.")
    ] = 300.0,
    stacks: StacksArg = None,
    engine: EngineOpt = "compose",
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    lock_timeout: LockOpt = 300.0,
    *,
    shared: Shared,
) -> None:
    """Deploy: check, render, show what changes, ask, then apply stack by stack.

    A secret that changed (`lares secret set`) recreates the containers that read it. An app
    whose data folders already hold data while lares has none of its secrets (a new or lost
    state folder) stops the run before anything changes; see --fresh-secrets.
    Stacks that were applied but are no longer in the blueprint are shown (removed with
    --prune; a stack lares did not apply from this state folder only with `lares down`); a stack
    renamed in the blueprint is moved: its old project is taken down first.
    """
    from lares.deploy import actions

    out = printer(shared.as_json)
    if engine == "swarm":
        from lares.deploy import swarmup

        _refuse_compose_only(dry_run=dry_run, prune=prune, fresh=bool(fresh_secrets))
        with _applying(out) as view:
            swarm_done = swarmup.up(
                *_scope(shared, stacks),
                force=force,
                resolve_image=resolve_image,
                plain_overlays=plain_overlays,
                timeout=wait,
                lock_timeout=lock_timeout,
                progress=out.line,
                on_states=view,
                warn=out.warn,
            )
        _show_swarm(out, swarm_done.to_dict())
        if not swarm_done.ok:
            out.fail(
                "not every service runs all its replicas"
                + (f" after {wait:.0f} s" if swarm_done.timed_out else ""),
                hint="`docker service ps --no-trunc <stack>_<service>` says why",
            )
            raise typer.Exit(1)
        return
    _engine_known(engine)

    def show(preview: Preview) -> None:
        if not shared.as_json:
            _show_plans(out, preview.plans, preview.orphans)

    with _applying(out) as view:
        done = actions.up(
            *_scope(shared, stacks),
            fresh=fresh_secrets or [],
            prune=prune,
            dry_run=dry_run,
            lock_timeout=lock_timeout,
            confirm=lambda q: yes or typer.confirm(q, default=False),
            show=show,
            progress=out.line,
            on_states=view,
            warn=out.warn,
        )
    _show_up(out, done)
    if not done.ok:
        raise typer.Exit(1)


def _engine_known(engine: str) -> None:
    if engine not in ("compose", "swarm"):
        from lares.errors import UsageError

        raise UsageError(
            f"--engine {engine!r} is not one lares drives", hint="use compose or swarm"
        )


def _refuse_compose_only(*, dry_run: bool, prune: bool, fresh: bool) -> None:
    given = [
        n
        for n, on in (("--dry-run", dry_run), ("--prune", prune), ("--fresh-secrets", fresh))
        if on
    ]
    if given:
        from lares.errors import UsageError

        raise UsageError(
            f"{', '.join(given)} applies to Compose stacks, not to --engine swarm",
            hint="leave it out (Swarm removes the services a stack file no longer has itself)",
        )


def _show_swarm(out: Out, report: dict[str, Any]) -> None:
    """Each service of each stack: its state, replicas, the nodes that run it and why a task
    does not run (as the swarm says it)."""
    if out.as_json:
        out.json(report)
        return
    from lares.output import table

    colour = {"running": "green", "starting": "yellow", "updating": "yellow"}
    t = table("stack", "service", "state", "replicas", "nodes")
    for entry in report["stacks"]:
        for s in entry["services"]:
            t.add_row(
                entry["stack"],
                s["service"],
                f"[{colour.get(s['state'], 'red')}]{s['state']}[/]",
                f"{s['running']}/{s['desired']}",
                ", ".join(s["nodes"]) or "-",
            )
            for e in s["errors"]:
                t.add_row("", "", "", "", f"[red]{e}[/]")
    out.console.print(t)


@app.command()
@uses("file", "state_dir", "as_json")
def diff(stacks: StacksArg = None, *, shared: Shared) -> None:
    """Show rendered-vs-applied file differences and drift in the running containers.

    Exits 1 when anything differs, so scripts can tell.
    """
    from lares.deploy import actions

    out = printer(shared.as_json)
    with _plan_checked(out):
        done = actions.diff(*_scope(shared, stacks))
    _show_diff(out, done)
    raise typer.Exit(1 if done.differs else 0)


def _show_diff(out: Out, done: DiffResult) -> None:
    if out.as_json:
        out.json(done.to_dict()["stacks"])
        return
    for p in done.plans:
        if p.action == "none":
            out.line(f"{p.name}: up to date", style="green")
            continue
        out.heading(f"{p.name}: {p.action}")
        if p.interrupted_note:
            out.line(p.interrupted_note, style="yellow")
        if p.changed:
            out.line(done.diffs[p.name].rstrip())
        for d in p.drift:
            out.line(f"drift: {d}", style="yellow")


@app.command()
@uses("file", "state_dir")
def down(
    volumes: Annotated[
        bool,
        typer.Option(
            "--volumes", help="Also remove named volumes (asks you to type 'delete volumes')."
        ),
    ] = False,
    stacks: StacksArg = None,
    yes: YesOpt = False,
    lock_timeout: LockOpt = 300.0,
    *,
    shared: Shared,
) -> None:
    """Stop and remove the stacks' containers; data folders and volumes are kept.

    Asks first, as `up` does (--yes does not ask); --volumes always asks for a typed
    confirmation instead. Works from the applied revision while the blueprint does not load.
    """
    from lares.deploy import actions

    def confirm(question: str) -> bool:
        if volumes:
            return bool(typer.prompt(question).strip() == "delete volumes")
        return yes or typer.confirm(question, default=False)

    out = printer(False)
    done = actions.down(
        *_scope(shared, stacks),
        volumes=volumes,
        lock_timeout=lock_timeout,
        confirm=confirm,
        warn=out.warn,
    )
    out.ok(f"stopped {', '.join(done.stacks)}" + (" and removed their volumes" if volumes else ""))


@app.command()
@uses("as_json")
def ps(stacks: StacksArg = None, engine: EngineOpt = "compose", *, shared: Shared) -> None:
    """The containers lares manages: state, health, uptime, restarts, ports (with --engine
    swarm: each service's state, replicas and nodes)."""
    from lares.deploy import actions
    from lares.report import containers_table

    out = printer(shared.as_json)
    _engine_known(engine)
    if engine == "swarm":
        from lares.deploy import swarmup

        _show_swarm(out, swarmup.ps(stacks or ()).to_dict())
        return
    done = actions.ps(stacks)
    if shared.as_json:
        out.json(done.to_dict()["containers"])
        return
    containers_table(out, done.containers)


def _show_rolled_back(out: Out, step: RolledBack) -> None:
    from lares.deploy import record

    rec, name = step.record, step.stack
    if step.rolled_back:
        out.ok(f"{name}: at revision {rec.revision[:12]} (rolled back)")
        return
    before = (
        f"`lares rollback --previous {name}` goes back to {rec.history[-1][:12]}"
        if rec.history
        else "no earlier revision is kept"
    )
    out.ok(
        f"{name}: nothing to roll back: it runs its last good revision "
        f"{rec.revision[:12]}, applied {record.when(rec.applied_at)}; {before}"
    )


@app.command()
@uses("state_dir")
def rollback(
    previous: Annotated[
        bool,
        typer.Option("--previous", help="Go back one more: the revision before the last good one."),
    ] = False,
    stacks: StacksArg = None,
    lock_timeout: LockOpt = 300.0,
    *,
    shared: Shared,
) -> None:
    """Re-apply a stack's last recorded good revision (after a failed `up`).

    A stack that already runs that revision is left alone, and the command says so (and what
    --previous would go back to).
    """
    from lares.deploy import actions

    out = printer(False)
    actions.rollback(
        _state(shared.state_dir),
        stacks or (),
        previous=previous,
        lock_timeout=lock_timeout,
        progress=out.line,
        on_stack=lambda step: _show_rolled_back(out, step),
        warn=out.warn,
    )
