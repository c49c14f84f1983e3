"""``lares update``: back an app up, move it to a newer version, prove it healthy, or put it back.

For each app asked for, in the blueprint's order (a stack after the stacks it depends on):

1. choose the version: ``--to`` or the newest tag the registry has in the same scheme and
   variant, a patch or minor step unless ``--major`` allows a major one;
2. back the app up now, files and databases, through the backup every night runs; a failed
   backup stops here, nothing changed;
3. pin the new version in ``lares.lock``, render and apply the app's stack, wait for its
   health as ``lares up`` does, then run the app's own check: every drill query the blueprint
   asks of its databases (``backup.drill.queries``), against the live database now;
4. when it does not come up, or its check does not answer as expected: pin the old version
   again, apply it (the old image runs), and load each database back from the dump taken in
   step 2, since a migration the new version ran is one-way; report what happened and why.

The containers of the app that carry the main container's version (Immich's server and machine
learning) move together; its database and cache keep theirs, which the catalog pins apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from lares.errors import LaresError, UsageError
from lares.plain import Plain
from lares.update import journal
from lares.update.lock import Lock
from lares.update.registry import Reference, Registry, RegistryError
from lares.update.versions import Level, allowed, newer, parse, release_notes

if TYPE_CHECKING:
    from lares.blueprint.load import Loaded
    from lares.catalog.resolve import AppView, Service, System
    from lares.state import StateDir

Result = Literal["updated", "rolled-back", "up-to-date", "refused", "failed"]
PRE_UPDATE = "pre-update"


@dataclass(frozen=True)
class AppUpdate(Plain):
    app: str
    current: str
    target: str | None = None
    level: Level | None = None
    result: Result = "up-to-date"
    why: str = ""
    containers: tuple[str, ...] = ()  # the containers that moved (or would have)
    snapshots: tuple[str, ...] = ()  # the pre-update snapshots
    restored: tuple[str, ...] = ()  # the databases loaded back from them
    release_notes: str | None = None  # the upstream page of the target version


@dataclass(frozen=True)
class UpdateReport:
    apps: tuple[AppUpdate, ...]

    @property
    def ok(self) -> bool:
        return all(a.result in ("updated", "up-to-date") for a in self.apps)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "apps": [a.to_dict() for a in self.apps]}


def choose(
    current: str,
    tags: Iterable[str],
    *,
    to: str | None,
    major: bool,
    level: Level = "minor",
    one_major: bool = False,
) -> tuple[str | None, Level | None, str]:
    """The version to move to, its step, and why none when there is none (or it is refused).

    Without ``to``, the newest tag of the biggest step allowed: ``level`` (patch or minor), or
    any with ``major``; with ``one_major`` (an app whose upstream upgrades through every major
    in turn) a major step goes to the next major only.
    """
    pin = parse(current)
    tags = list(tags)
    if one_major and pin is not None:
        wanted = parse(to) if to is not None else None
        if wanted is not None and wanted.core[0] > pin.core[0] + 1:
            return (
                None,
                "major",
                (
                    f"{current} → {to} skips a major version, and this app upgrades one major at a "
                    f"time: update to a {pin.core[0] + 1}.x version first"
                ),
            )
        # later majors wait until the next one runs
        tags = [t for t in tags if (v := parse(t)) is None or v.core[0] <= pin.core[0] + 1]
    if to is not None:
        if to not in tags:
            return None, None, f"the registry has no tag {to}"
        wanted = parse(to)
        if pin is None or wanted is None or wanted.shape != pin.shape:
            return None, None, f"{to} is not a version of the same kind as {current}"
        if (wanted.core, wanted.rebuild) <= (pin.core, pin.rebuild):
            return None, None, f"{to} is not newer than {current}"
        level = pin.level_to(wanted)
        if level == "major" and not major:
            return None, level, f"{current} → {to} is a major update: pass --major"
        return to, level, ""
    found = newer(current, tags)
    if found is None:
        return None, None, f"{current} is not a version tag lares can compare"
    steps: tuple[Level, ...] = ("major", "minor", "patch") if major else ("minor", "patch")
    for step in steps:
        tag = found.at(step)
        if tag and (major or allowed(step, level)):
            return tag, step, ""
    if found.major:
        return None, "major", f"only a major update ({found.major}) is newer: pass --major"
    if found.minor:
        return None, "minor", f"only a minor update ({found.minor}) is newer than {level} steps"
    return None, None, "up to date"


def update(
    loaded: Loaded,
    state: StateDir,
    apps: Iterable[str],
    *,
    to: str | None = None,
    major: bool = False,
    level: Level = "minor",
    exclude: Iterable[str] = (),
    scheduled: bool = False,
    registry: Registry | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> UpdateReport:
    """Update ``apps`` (every app when none is named) but ``exclude`` (see the module
    docstring); one app's failure never stops the next. ``scheduled``: as the blueprint's
    ``updates:`` section says, its level and its exclusions too, and never a major step.

    Raises UsageError, before anything changes, for a name that is no app of the blueprint.
    """
    from lares.plan import make_context

    system = make_context(loaded).system
    known = [a.id for a in system.apps]
    exclude = tuple(exclude)
    if scheduled:
        level, listed = _schedule(loaded, known)
        exclude, major = (*listed, *exclude), False
    unknown = [a for a in dict.fromkeys([*apps, *exclude]) if a not in known]
    if unknown:
        raise UsageError(
            f"no app named {', '.join(unknown)} in {loaded.filename}",
            hint=_name_apps(unknown[0], known),
        )
    wanted = set(apps) or set(known)
    order = [a for a in known if a in wanted and a not in exclude]
    if to is not None and len(order) != 1:
        raise UsageError("--to names one version: update one app with it")
    results: list[AppUpdate] = []
    interrupted = journal.read(state)
    if interrupted is not None:
        results.append(_recover(loaded, state, interrupted, progress))
    with registry or Registry() as reg:
        for app_id in order:
            results.append(_one(loaded, state, app_id, to, major, level, reg, progress))
    return UpdateReport(tuple(results))


def _schedule(loaded: Loaded, known: list[str]) -> tuple[Level, tuple[str, ...]]:
    """The level and exclusions of the blueprint's ``updates:`` section, each exclusion an app."""
    updates = loaded.blueprint.updates
    if updates is None:
        raise UsageError(
            "--scheduled: the blueprint has no updates: section",
            location=loaded.locate(),
            hint="add `updates: {schedule: 'Sun *-*-* 03:30:00', level: patch}`",
        )
    for i, name in enumerate(updates.exclude):
        if name not in known:
            raise UsageError(
                f"updates.exclude names {name!r}, which is no app of the blueprint; "
                "nothing was updated",
                location=loaded.locate("updates", "exclude", i),
                hint=_name_apps(name, known),
            )
    return updates.level, updates.exclude


def _name_apps(name: str, known: list[str]) -> str:
    from lares.catalog.resolve import suggest

    return suggest(name, known) or "name apps as `lares plan` lists them"


def _system(loaded: Loaded) -> System:
    from lares.plan import make_context

    return make_context(loaded).system


def _one(
    loaded: Loaded,
    state: StateDir,
    app_id: str,
    to: str | None,
    major: bool,
    level: Level,
    reg: Registry,
    progress: Callable[[str], None],
) -> AppUpdate:
    system = _system(loaded)
    view = system.app(app_id)
    assert view is not None
    main = next(s for s in view.services if s.key == app_id)
    current = main.version
    if view.settings.version or view.settings.image:
        return AppUpdate(
            app_id,
            current,
            result="refused",
            why=f"lares.yaml pins {app_id} at {view.settings.version or view.settings.image}: "
            "change the version there, or remove it to let lares update it",
        )
    ref = Reference.parse(main.image)
    try:
        tags = reg.tags(ref)
    except RegistryError as exc:
        return AppUpdate(app_id, current, result="failed", why=exc.message)
    one_major = view.app.majors == "one-at-a-time"
    target, step, why = choose(current, tags, to=to, major=major, level=level, one_major=one_major)
    if target is None:
        result: Result = "up-to-date" if why == "up to date" or to is None else "refused"
        return AppUpdate(app_id, current, level=step, result=result, why=why)
    moving = tuple(
        s.key
        for s in view.services
        if s.version == current and (s.key == app_id or _has(reg, s, target))
    )
    notes = release_notes(view.app.release_notes, target)
    base = AppUpdate(app_id, current, target, step, containers=moving, release_notes=notes)
    progress(
        f"{app_id}: {current} → {target} ({step})" + (f", release notes: {notes}" if notes else "")
    )

    try:
        snapshots = _back_up(loaded, state, view, progress)
    except LaresError as exc:
        return _with(
            base, "failed", f"the pre-update backup failed, nothing changed: {exc.message}"
        )
    lock = Lock.beside(loaded.base_dir)
    before = {key: lock.pins.get(f"{app_id}/{key}") for key in moving}
    taken = tuple((s.repo, s.snapshot, s.database) for s in snapshots)
    entry = journal.Entry(app_id, current, target, "backed-up", before, taken)
    journal.write(state, entry)
    for key in moving:
        lock.pin(app_id, key, target)
    lock.save()
    journal.write(state, replace(entry, step="pinned"))
    outcome = _apply(loaded, state, view.stack, progress)
    journal.write(state, replace(entry, step="applied"))
    if outcome is None:
        outcome = _app_check(loaded, state, view, progress)
    if outcome is None:  # `up` recorded the new image's digest in lares.lock
        journal.clear(state)
        return _with(base, "updated", "", snapshots=tuple(s.snapshot for s in snapshots))

    progress(f"{app_id}: {target} did not come up ({outcome}); putting {current} back")
    lock = Lock.beside(loaded.base_dir)
    for key, pin in before.items():
        lock.pin(app_id, key, pin)
    lock.save()
    again = _apply(loaded, state, view.stack, progress)
    restored = _restore(loaded, state, snapshots, progress)
    why = f"{target} did not come up: {outcome}"
    if again is not None:
        why += f"; {current} is back but not healthy yet: {again}"
    journal.clear(state)
    return _with(base, "rolled-back", why, tuple(s.snapshot for s in snapshots), restored)


def _recover(
    loaded: Loaded, state: StateDir, entry: journal.Entry, progress: Callable[[str], None]
) -> AppUpdate:
    """Put back the old version (and, once the new one may have run, its data) of an update
    that was cut short; it never proved healthy, so the old version is the one to keep."""
    progress(
        f"{entry.app}: the update to {entry.target} was cut short ({entry.step}); putting "
        f"{entry.current} back"
    )
    lock = Lock.beside(loaded.base_dir)
    for key, pin in entry.before.items():
        lock.pin(entry.app, key, pin)
    lock.save()
    view = _system(loaded).app(entry.app)
    again = _apply(loaded, state, view.stack, progress) if view is not None else None
    snapshots = [PreUpdate(r, s, d) for r, s, d in entry.snapshots]
    restored = _restore(loaded, state, snapshots, progress) if entry.step != "backed-up" else ()
    why = f"an update to {entry.target} was cut short ({entry.step}): {entry.current} is back"
    if again is not None:
        why += f" but not healthy yet: {again}"
    journal.clear(state)
    return AppUpdate(
        entry.app,
        entry.current,
        entry.target,
        result="rolled-back",
        why=why,
        snapshots=tuple(s for _, s, _ in entry.snapshots),
        restored=restored,
    )


def _with(
    base: AppUpdate,
    result: Result,
    why: str,
    snapshots: tuple[str, ...] = (),
    restored: tuple[str, ...] = (),
) -> AppUpdate:
    from dataclasses import replace

    return replace(base, result=result, why=why, snapshots=snapshots, restored=restored)


def _has(reg: Registry, service: Service, tag: str) -> bool:
    try:
        return tag in reg.tags(Reference.parse(service.image))
    except RegistryError:
        return False


@dataclass(frozen=True)
class PreUpdate:
    """One snapshot taken before an update, as tagged ``pre-update``."""

    repo: str
    snapshot: str  # its id once tagged (a tag gives a restic snapshot a new id)
    database: bool


def _back_up(
    loaded: Loaded, state: StateDir, view: AppView, progress: Callable[[str], None]
) -> list[PreUpdate]:
    """Back ``view`` up now in every repository that backs it up, and tag what it took."""
    from lares.backup import actions, open_context
    from lares.backup.jobs import AppJob, RunPlan
    from lares.backup.restic import tag_command

    if view.app.backup is None:
        return []
    ctx = open_context(loaded, state.root)
    planned = actions.plan(ctx)
    jobs = tuple(j for j in planned.jobs if isinstance(j, AppJob) and j.app == view.id)
    if not jobs:
        raise LaresError(
            f"no backup repository backs {view.id} up",
            hint="add one under backup.repositories; lares updates only what it can put back",
        )
    progress(f"{view.id}: backing up before the update")
    report = actions.run(ctx, planned=RunPlan(jobs, (), planned.now), progress=progress)
    if not report.ok:
        failed = report.failed[0]
        raise LaresError(f"{failed.item}: {failed.error}")
    found: list[PreUpdate] = []
    for repo in dict.fromkeys(i.repo for i in report.items if i.snapshot):
        made = {i.snapshot: i.item for i in report.items if i.repo == repo and i.snapshot}
        restic = ctx.restic(repo)
        restic.run(tag_command(ctx.repo(repo), list(made), PRE_UPDATE))
        # a tag rewrites a snapshot under a new id; the one it replaced is its `original`
        for snap in restic.snapshots(host=ctx.host, tags=[PRE_UPDATE, f"app:{view.id}"]):
            item = next((v for k, v in made.items() if (snap.original or "").startswith(k)), None)
            if item is not None:
                found.append(PreUpdate(repo, snap.id, item.startswith("db:")))
    return found


def _apply(
    loaded: Loaded, state: StateDir, stack: str, progress: Callable[[str], None]
) -> str | None:
    """Apply ``stack`` as ``lares up STACK`` does (the watcher muted meanwhile); None when its
    apps came up, else why not."""
    from pathlib import Path

    from lares.blueprint.load import REFERENCE_NAME
    from lares.deploy import actions

    file = None if loaded.filename == REFERENCE_NAME else Path(loaded.filename)
    try:
        result = actions.up(state, file, [stack], progress=progress, warn=progress, updating=True)
    except LaresError as exc:
        return exc.message
    failed = [a for a in (result.outcome.apps if result.outcome else []) if a.status == "failed"]
    return "; ".join(f"{a.app}: {a.why}" for a in failed) or None


def _app_check(
    loaded: Loaded, state: StateDir, view: AppView, progress: Callable[[str], None]
) -> str | None:
    """Ask the app's running databases the drill queries the blueprint sets for it; None when
    each answers exactly as expected, else what did not."""
    from lares import run
    from lares.backup import hooks, open_context
    from lares.backup.command import environment
    from lares.catalog.resolve import secret_id

    queries = loaded.blueprint.backup.drill.queries.get(view.id) or []
    spec = view.app.backup
    if not queries or spec is None or not spec.databases:
        return None
    store = open_context(loaded, state.root).store
    progress(f"{view.id}: asking its databases the drill queries ({len(queries)})")
    for db in spec.databases:
        key = spec.key(db)
        service = next(s for s in view.services if s.key == db.container)
        password = secret_id(view.id, db.password_secret) if db.password_secret else None
        for query in (q for q in queries if q.db in (None, key)):
            hook = hooks.database(db.engine)
            at = hooks.Instance(db, service.name, service.image, password, service.volumes)
            cmd = hook.live_query(at, query.database, query.sql)
            env, secrets = environment(cmd, store.read)
            result = run.run(cmd.argv, env=env, secrets=secrets, check=False, timeout=120)
            got = result.stdout.splitlines() if result.ok else None
            if got != list(query.expect):
                answer = f"error: {run.tail(result.stderr, 3)}" if got is None else got
                return (
                    f"its check on {key} failed: {query.sql!r} returned {answer!r}, "
                    f"expected {list(query.expect)!r}"
                )
    return None


def _restore(
    loaded: Loaded,
    state: StateDir,
    snapshots: list[PreUpdate],
    progress: Callable[[str], None],
) -> tuple[str, ...]:
    """Load every database of the app back from its pre-update dump; the keys loaded."""
    from lares.backup import open_context
    from lares.backup.intodb import find, load

    dumps = [s for s in snapshots if s.database]
    if not dumps:
        return ()
    ctx = open_context(loaded, state.root)
    done: list[str] = []
    # one repository is enough to put a database back: the first that took its dump
    for pre in {(s.repo, s.snapshot): s for s in dumps if s.repo == dumps[0].repo}.values():
        target = find(ctx, pre.repo, pre.snapshot)
        progress(f"{target.app.id}: loading {target.key} back from {pre.snapshot[:8]}")
        load(ctx, target, progress=progress)
        done.append(target.key)
    return tuple(done)
