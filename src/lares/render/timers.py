"""Backup and update schedules as systemd timers, and the same schedules as crontab files.

Per repository, ``lares-backup-<repo>.timer`` fires at the repository's ``schedule`` and starts
``lares-backup-<repo>.service``, which runs ``lares backup run --due --repo <repo>`` and then
applies retention (``lares backup forget``). ``Persistent=true`` catches up on a run missed while
the machine was off, and ``--due`` keeps a catch-up from repeating a run that already happened.
The check and the restore drill get a timer each, and ``updates.schedule`` one that runs
``lares update --scheduled``. ``cron.d/lares-backup`` and ``cron.d/lares-update`` say the same
for machines without systemd (cron drops the seconds and cannot catch up).

The blueprint reaches lares as ``LARES_FILE`` when it was rendered from an absolute path;
otherwise the units run in ``/etc/lares``, where lares finds ``lares.yaml`` by itself (or set
``LARES_FILE`` in a drop-in).
"""

from __future__ import annotations

import shlex

from lares.catalog.resolve import System
from lares.errors import ConfigError, Location
from lares.oncalendar import Calendar, parse
from lares.render.bundle import Bundle, File

TARGET = "host"
LARES = ("/usr/bin/env", "lares")
WORKDIR = "/etc/lares"
STATE = "/var/lib/lares"
HEADER = (
    "# Rendered by lares from {source}. Edit lares.yaml and run `lares render --target host`;\n"
    "# changes made here are replaced on the next render.\n"
)


def _calendar(expr: str, *path: str) -> Calendar:
    try:
        return parse(expr)
    except ValueError as exc:
        raise ConfigError(
            str(exc), location=Location(path=".".join(path)), code="schedule"
        ) from None


def _lares(*args: str) -> str:
    return shlex.join([*LARES, *args])


def _environment(source: str) -> list[tuple[str, str]]:
    env = [("LARES_STATE_DIR", STATE)]
    if source.startswith("/"):
        env.append(("LARES_FILE", source))
    return env


def _header(source: str) -> str:
    return HEADER.format(source=source).rstrip("\n")


def _unit(description: str, source: str, *lines: str) -> str:
    """A unit file: the header, ``[Unit]`` with ``description``, then ``lines``."""
    return "\n".join([_header(source), "[Unit]", f"Description={description}", *lines, ""])


def _service(description: str, commands: list[str], source: str) -> str:
    return _unit(
        description,
        source,
        "Wants=network-online.target",
        "After=network-online.target docker.service",
        "",
        "[Service]",
        "Type=oneshot",
        f"WorkingDirectory={WORKDIR}",
        *(f"Environment={k}={v}" for k, v in _environment(source)),
        *(f"ExecStart={c}" for c in commands),
        "Nice=10",
        "IOSchedulingClass=idle",
    )


def _timer(description: str, calendar: Calendar, source: str) -> str:
    return _unit(
        description,
        source,
        "",
        "[Timer]",
        f"OnCalendar={calendar.expr}",
        "Persistent=true",
        "",
        "[Install]",
        "WantedBy=timers.target",
    )


def render(system: System, source: str = "lares.yaml") -> Bundle:
    """The timers, services and crontab for the blueprint's backup schedules."""
    backup = system.blueprint.backup
    Job = tuple[str, str, Calendar, list[str]]
    jobs: list[Job] = []
    for name, repo in backup.repositories.items():
        calendar = _calendar(repo.schedule, "backup", "repositories", name, "schedule")
        commands = [
            _lares("backup", "run", "--due", "--repo", name),
            _lares("backup", "forget", "--repo", name),
        ]
        what = f"copy to {name} from {repo.copy_from}" if repo.copy_from else f"back up to {name}"
        jobs.append((f"lares-backup-{name}", f"lares: {what}", calendar, commands))
    if backup.repositories:
        for task, schedule, what in (
            ("check", backup.check.schedule, "check the backup repositories"),
            ("drill", backup.drill.schedule, "restore drill of every app"),
        ):
            calendar = _calendar(schedule, "backup", task, "schedule")
            jobs.append(
                (f"lares-backup-{task}", f"lares: {what}", calendar, [_lares("backup", task)])
            )
    files: dict[str, File] = {}
    groups: list[tuple[str, list[Job]]] = [("lares-backup", jobs)]
    updates = system.blueprint.updates
    if updates is not None:
        calendar = _calendar(updates.schedule, "updates", "schedule")
        what = f"lares: update the apps ({updates.level} steps), back them up first"
        groups.append(
            ("lares-update", [("lares-update", what, calendar, [_lares("update", "--scheduled")])])
        )
    for crontab, group in groups:
        cron: list[str] = [
            _header(source),
            "SHELL=/bin/sh",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            *(f"{k}={v}" for k, v in _environment(source)),
        ]
        for unit, description, calendar, commands in group:
            files[f"systemd/{unit}.service"] = File(
                f"systemd/{unit}.service", _service(description, commands, source)
            )
            files[f"systemd/{unit}.timer"] = File(
                f"systemd/{unit}.timer", _timer(description, calendar, source)
            )
            try:
                fields = calendar.cron()
            except ValueError as exc:
                raise ConfigError(str(exc), location=Location(path=unit), code="schedule") from None
            cron.append(f"# {description} ({calendar.expr})")
            cron.append(f"{fields} root cd {WORKDIR} && " + " && ".join(commands))
        if group:
            files[f"cron.d/{crontab}"] = File(f"cron.d/{crontab}", "\n".join(cron) + "\n")
    return Bundle(files)
