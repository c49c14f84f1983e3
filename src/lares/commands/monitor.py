"""`lares status`, `watch`, `alerts`, `silence` and `ack`: watching the homelab."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lares.cli import app
from lares.commands.options import Shared, group, print_and_exit, printer, uses

if TYPE_CHECKING:
    from lares.monitor.actions import StatusReport
    from lares.monitor.config import WatchConfig
    from lares.notify import Delivery
    from lares.output import Out
    from lares.state import StateDir


alerts = group(
    "alerts", "Alert notifications: send a test, list the alerts that are pending or firing."
)
app.add_typer(alerts, name="alerts")


def _config(shared: Shared) -> tuple[WatchConfig, StateDir]:
    """The watch configuration of the blueprint, for the stacks that were deployed (from the
    blueprint as last applied while the file has errors)."""
    from lares.deploy import record
    from lares.deploy.applied import load_or_applied
    from lares.monitor.config import build
    from lares.plan import make_context
    from lares.state import StateDir

    state = StateDir.open(shared.state_dir)
    loaded = load_or_applied(shared.file, state, printer(False).warn)
    # as `lares up` resolves it, with the versions lares.lock pins
    system = make_context(loaded).system
    config = build(system, state_dir=str(state.root), deployed=record.stacks(state))
    return config, state


def _local_time(seconds: float) -> str:
    """A moment as alerts and silences show it: local date, hours and minutes."""
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


@app.command()
@uses("file", "state_dir", "as_json")
def status(
    containers: Annotated[
        bool, typer.Option("--containers", help="Also list every container, per stack.")
    ] = False,
    *,
    shared: Shared,
) -> None:
    """Check everything once: what is wrong first, then host, storage, drives, apps, backups.

    Exits 1 when anything is wrong (a warning or worse).
    """
    from lares.monitor import actions

    out = printer(shared.as_json)
    config, _ = _config(shared)
    if not config.apps and not shared.as_json:
        out.warn("no stack is deployed yet: containers and endpoints are not watched")
    result = actions.status(config, containers=containers)
    print_and_exit(out, result, _status_text)


def _status_text(out: Out, result: StatusReport) -> None:
    from lares.monitor.report import status_report

    status_report(out, result.status)
    if result.containers is not None:
        from lares.report import containers_table

        out.heading("Containers per stack")
        containers_table(out, result.containers)


@app.command()
@uses("file", "state_dir", "as_json")
def watch(
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", help="Serve Prometheus metrics on this port.", min=0),
    ] = None,
    metrics_address: Annotated[
        str, typer.Option("--metrics-address", help="Address the metrics port listens on.")
    ] = "127.0.0.1",
    once: Annotated[
        bool,
        typer.Option("--once", help="Run every collector once as the watcher would, then stop."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every step.")] = False,
    *,
    shared: Shared,
) -> None:
    """Watch the homelab: collect on every interval, alert on changes, keep the history.

    Runs until stopped (SIGTERM or Ctrl-C); run it as a service. The blueprint is read once at
    start: restart the watcher after changing it.
    """
    from lares.monitor.watch import exec_watch, run_once, write_config
    from lares.text import counted

    config, state = _config(shared)
    path = write_config(config, state.monitor)
    if not once:
        exec_watch(
            path, metrics_port=metrics_port, metrics_address=metrics_address, verbose=verbose
        )
    out = printer(shared.as_json)
    cycle = run_once(config, metrics_port=metrics_port, metrics_address=metrics_address)
    if shared.as_json:
        out.json(cycle.to_dict())
        return
    samples = sum(len(r.samples) for r in cycle.runs)
    out.ok(
        f"one cycle: {counted(len(cycle.runs), 'collector')}, {counted(samples, 'sample')} recorded"
    )
    for r in cycle.runs:
        if not r.ok:
            out.warn(f"{r.collector}: {r.error}")
    for e in cycle.events:
        out.line(f"  {e.kind}: {e.alert.message}")
    if cycle.sent is False:
        out.fail(f"the notification was not sent: {cycle.error}")


@alerts.command("test")
@uses("file", "state_dir", "as_json")
def alerts_test(*, shared: Shared) -> None:
    """Send a test notification to every target in monitor.notify."""
    from lares.monitor.actions import notify_test

    out = printer(shared.as_json)
    config, state = _config(shared)
    print_and_exit(out, notify_test(config, state.secrets), _test_sent)


def _test_sent(out: Out, result: Delivery) -> None:
    from lares.text import counted

    if result.ok:
        out.ok(f"sent a test notification to {counted(result.targets, 'target')}")
    else:
        out.fail(
            f"the test notification was not sent: {result.error}",
            hint="check the Apprise URL (https://github.com/caronc/apprise/wiki) and the network",
        )


@alerts.command("list")
@uses("file", "state_dir", "as_json")
def alerts_list(*, shared: Shared) -> None:
    """The alerts lares watch has pending or firing, and the last transitions."""
    from lares.monitor.actions import alerts as current_alerts
    from lares.output import table
    from lares.state import StateDir

    out = printer(shared.as_json)
    result = current_alerts(StateDir.open(shared.state_dir).monitor)
    if shared.as_json:
        out.json(result.to_dict())
        return
    if not result.alerts:
        out.ok("no alert is pending or firing")
        return
    t = table("state", "severity", "alert", "since")
    for a in sorted(result.alerts, key=lambda a: (a.state != "firing", a.severity, a.key)):
        muted = " (held back)" if a.suppressed_by else " (silenced)" if a.silenced else ""
        t.add_row(
            a.state + muted,
            a.severity,
            a.message,
            _local_time(a.since),
        )
    out.table(t)


@app.command()
@uses("file", "state_dir", "as_json")
def silence(
    target: Annotated[
        str | None,
        typer.Argument(help="An app, a rule (disk-usage), a collector (smart), or `all`."),
    ] = None,
    for_: Annotated[str, typer.Option("--for", help="How long: 30m, 2h, 1d.")] = "2h",
    reason: Annotated[str, typer.Option("--reason", help="Why (shown in lares status).")] = "",
    clear: Annotated[bool, typer.Option("--clear", help="End the silence of TARGET now.")] = False,
    *,
    shared: Shared,
) -> None:
    """Mute notifications for TARGET during maintenance; alerts are still recorded.

    Without TARGET, lists the silences in force.
    """
    from lares.monitor import actions

    out = printer(shared.as_json)
    config, state = _config(shared)
    if target is None:
        current = actions.silences(state.monitor).silences
        if shared.as_json:
            out.json([s.to_dict() for s in current])
        elif not current:
            out.line("no silence is in force")
        for s in [] if shared.as_json else current:
            ends = _local_time(s.until)
            out.line(f"{s.target}: until {ends}" + (f" ({s.reason})" if s.reason else ""))
        return
    if clear:
        cleared = actions.unsilence(state.monitor, target)
        if shared.as_json:
            out.json(cleared.to_dict())
        elif cleared.cleared:
            out.ok(f"{target} is no longer silenced")
        else:
            out.line(f"{target} was not silenced")
        return
    made = actions.silence(config, state.monitor, target, for_, reason=reason)
    if shared.as_json:
        out.json(made.to_dict())
    else:
        when = _local_time(made.until)
        out.ok(f"{target} is silenced until {when}: alerts are recorded, not sent")


@app.command()
@uses("file", "state_dir", "as_json")
def ack(
    what: Annotated[str, typer.Argument(help="btrfs (error counters) or smart (sector counts).")],
    *,
    shared: Shared,
) -> None:
    """Accept the counters as they are now: alerts fire again only when they rise further.

    Run it after dealing with the cause (a scrub repaired the damage, a cable was replaced).
    """
    from lares.monitor import actions

    actions.acknowledgeable(what)  # before reading the blueprint: a typo needs no config
    out = printer(shared.as_json)
    config, state = _config(shared)
    result = actions.ack(config, state.monitor, what)
    if shared.as_json:
        out.json(result.to_dict())
        return
    out.ok(f"acknowledged {len(result.values)} {what} counters as the new baseline")
    for key, value in sorted(result.values.items()):
        if value:
            out.line(f"  {key.split(':', 1)[1]} = {value:g}")
