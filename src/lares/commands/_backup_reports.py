"""The text reports of ``lares backup run`` and ``lares backup drill``: the progress bars, the
dry run's commands, the run's table and the drill's findings (``--json`` prints the data)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lares.backup import BackupContext
    from lares.backup.restic import Status
    from lares.output import Out


def _size(n: int | None) -> str:
    from lares.units import format_size

    return "" if n is None else format_size(n)


class RichProgress:
    """A progress bar per item from restic's status lines (only on a terminal)."""

    def __init__(self, out: Out) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TaskID,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=out.err,
            transient=True,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def begin(self, label: str) -> None:
        self.tasks[label] = self.bar.add_task(label, total=None, detail="")

    def status(self, label: str, status: Status) -> None:
        task = self.tasks.get(label)
        if task is None:
            return
        detail = f"{status.files_done}/{status.total_files} files" if status.total_files else ""
        detail += f"  {_size(status.bytes_done)}"
        self.bar.update(
            task, total=status.total_bytes or None, completed=status.bytes_done, detail=detail
        )

    def end(self, label: str, ok: bool) -> None:
        task = self.tasks.pop(label, None)
        if task is not None:
            self.bar.remove_task(task)


def dry_run_report(out: Out, ctx: BackupContext, planned: Any) -> None:
    from lares.backup.jobs import CopyJob

    shown_env: set[str] = set()
    for job in planned.jobs:
        if job.repo not in shown_env:
            shown_env.add(job.repo)
            repo = ctx.repo(job.repo)
            env = [f"{k}={v!r}" for k, v in sorted(repo.environment().items())]
            env += [f"{k}=<secret {v}>" for k, v in sorted(repo.secret_env.items())]
            out.heading(f"repository {job.repo}")
            out.line("  restic runs with " + " ".join(env))
            if repo.options:
                out.line("  and options " + " ".join(repo.option_flags()))
        what = f"copy from {job.source}" if isinstance(job, CopyJob) else job.app
        out.heading(f"{job.repo} · {what}")
        for warning in getattr(job, "warnings", ()):
            out.line(f"  ! {warning}")
        for error in getattr(job, "errors", ()):
            out.line(f"  ✗ {error}")
        for cmd in job.commands():
            out.line(f"  {cmd.shown(env=cmd.argv[0] != 'restic')}")
    from lares.backup.restic import backup_command
    from lares.recover.snapshot import FILENAME, state_tags

    for name in dict.fromkeys(job.repo for job in planned.jobs):
        out.heading(f"{name} · lares state (blueprint, secrets, revisions, records)")
        cmd = backup_command(
            ctx.repo(name), host=ctx.host, tags=state_tags(ctx.host), stdin_filename=FILENAME
        )
        out.line(f"  {cmd.shown(env=False)}")
    for skip in planned.skipped:
        out.line(f"skip {skip.repo} · {skip.app or '-'}: {skip.why}")


def run_report(out: Out, report: Any) -> None:
    from lares.output import table
    from lares.text import counted
    from lares.units import format_duration

    for note in report.notes:
        out.line(note)
    for skip in report.skipped:
        out.line(f"skipped {skip.repo} · {skip.app or '-'}: {skip.why}")
    if report.items:
        t = table(
            "Repository",
            "App",
            "Item",
            "Result",
            "New",
            "Changed",
            "Added",
            "Time",
            "Snapshot",
            right=("New", "Changed", "Added", "Time"),
        )
        for item in [*report.items, *report.state]:
            s = item.summary
            t.add_row(
                item.repo,
                item.app or ("lares" if item in report.state else "-"),
                item.item,
                "ok" if item.ok else "FAILED",
                str(s.files_new) if s else "",
                str(s.files_changed) if s else "",
                _size(s.data_added) if s else "",
                format_duration(item.duration) if item.duration >= 1 else f"{item.duration:.1f}s",
                (item.snapshot or "")[:8],
            )
        out.table(t)
    for item in [*report.items, *report.state]:
        for warning in item.warnings:
            out.warn(f"{item.repo} · {item.app or 'lares'}: {warning}")
    for item in report.failed:
        out.fail(f"{item.repo} · {item.app or '-'} · {item.item}: {item.error}", item.hint)
    for line in report.notified:
        out.line(f"notification {line}")
    if report.items and report.ok:
        out.ok(f"{counted(len(report.items), 'item')} backed up")
    elif not report.items:
        out.line("nothing to do")


def drill_report(out: Out, results: list[Any]) -> None:
    from lares.output import table
    from lares.text import counted

    t = table("Repository", "App", "Files", "Databases", "Result")
    for r in results:
        files = (
            f"{r.files.compared} compared with {r.files.source}"
            + (
                f", {len(r.files.differ) + len(r.files.not_restored)} differ"
                if not r.files.ok
                else ""
            )
            if r.files
            else "-"
        )
        dbs = (
            ", ".join(
                f"{d.item}: {counted(sum(t.found or 0 for t in d.tables), 'row')}, "
                f"{counted(len(d.tables), 'table')}"
                + (f", {counted(len(d.queries), 'query', 'queries')}" if d.queries else "")
                for d in r.databases
            )
            or "-"
        )
        t.add_row(r.repo, r.app, files, dbs, "ok" if r.ok else "FAILED")
    out.table(t)
    for r in results:
        if r.error:
            out.fail(f"{r.app}: {r.error}")
        if r.files and not r.files.ok:
            for line in (r.files.differ + r.files.not_restored)[:10]:
                out.fail(f"{r.app}: {line}")
        for d in r.databases:
            if d.error:
                out.fail(f"{r.app} · {d.item}: {d.error}")
            if d.sha256_ok is False:
                out.fail(f"{r.app} · {d.item}: the dump's SHA-256 differs from the one recorded")
            for tc in d.tables:
                if not tc.ok:
                    rows = "no count" if tc.found is None else counted(tc.found, "row")
                    found = f"{tc.table} has {rows}, expected {tc.expected}"
                    out.fail(f"{r.app} · {d.item}: {found}")
            for qc in d.queries:
                if not qc.ok:
                    got = " / ".join(qc.got) or "no rows"
                    want = " / ".join(qc.query.expected) or "no rows"
                    out.fail(f"{r.app} · {d.item}: {qc.query.sql} gave {got}, expected {want}")
    if not results:
        out.line("no app has a backup spec")
