"""``lares recover``: a bare machine with Docker becomes the server again, from the kit alone.

The phases, in order (``--only`` stops after one):

1. **state**: open the kit's repositories (offsite first) with the kit's passwords and the
   backend credentials from the environment, find the newest state snapshot of the kit's host
   (:mod:`lares.recover.snapshot`), unpack it beside the state folder and move ``secrets/``,
   ``applied/``, ``backup/``, ``recover/`` and the blueprint (``blueprint/lares.yaml`` and its
   catalog folders) into place; then load that blueprint and check it: same host, the kit's
   repository, every generated secret present (plan errors are reported: they stop only `up`);
2. **data**: per app in stack order, its files (each backed-up path restored through a staging
   folder beside the live one, then renamed into place), then its databases: SQLite files
   written back where the app keeps them; PostgreSQL and MariaDB dumps loaded into the app's
   own database container, started alone (``docker compose up --no-deps``) before the app
   itself, as ``lares backup restore --into-db`` loads them (:mod:`lares.recover.data`);
3. **up**: ``lares up --yes`` on the recovered blueprint and state, then the restore drill
   against what came back.

Nothing is overwritten: a live folder that is not empty stops the data phase unless ``force``
(the old content is then moved aside to ``<folder>.before-recover-<time>``, never deleted).
Progress is kept in ``recovery.json`` in the state folder, written after every step, so
a run that is interrupted (even by SIGKILL) continues where it stopped when run again.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from lares import run
from lares.backup.features import Features, detect
from lares.errors import UsageError
from lares.recover.data import (
    busy_paths,
    load_database,
    plan_data,
    reset_database,
    restore_files,
    start_databases,
    tree_size,
)
from lares.recover.kit import Kit
from lares.recover.model import (
    BLUEPRINT_DIR,
    PHASES,
    Journal,
    RecoverError,
    Report,
    Step,
    now,
    occupied,
    size_text,
)
from lares.recover.state import Found, check_state, find_state, kit_secrets, restore_state
from lares.state import StateDir

# ── the whole recovery ────────────────────────────────────────────────────────────────────


def recover(
    kit: Kit,
    *,
    state_root: Path,
    only: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    repo: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
    features: Features | None = None,
    env: Mapping[str, str] | None = None,
) -> Report:
    """Recover the kit's host into ``state_root`` (see the module docstring); ``only`` stops
    after that phase; ``dry_run`` finds the state snapshot and says what would happen.

    Raises RecoverError (or UsageError) with nothing written for a kit that opens no
    repository, a repository without a state snapshot, or a kit of another host.
    """
    if only is not None and only not in PHASES:
        raise UsageError(f"--only takes one of {', '.join(PHASES)}, not {only!r}")
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    features = features or detect()
    report = Report(kit.host)
    last = PHASES.index(only) if only else len(PHASES) - 1
    with kit_secrets(kit, env) as secrets:
        found = find_state(kit, secrets, features, only_repo=repo, env=env, notes=report.warnings)
        report.repo = found.repo.name
        report.snapshot = found.snapshot.short_id
        report.state_time = found.snapshot.time.isoformat(timespec="seconds")
        progress(
            f"found lares's state of {kit.host} from {report.state_time} in {found.repo.name} "
            f"(snapshot {found.snapshot.short_id})"
        )
        if dry_run:
            report.planned = _dry_plan(kit, found, state_root)
            report.seconds = time.monotonic() - started
            return report
        state = StateDir.open(state_root)
        journal = Journal(state)
        journal.begin(found.repo.name, found.snapshot.id)
        if journal.has("phase:state") and occupied(state.secrets):
            report.steps.append(Step("state", "state folder", skipped="done before"))
        else:
            t0 = time.monotonic()
            restore_state(found, state, kit, force=force, stamp=stamp)
            journal.mark("phase:state")
            report.steps.append(
                Step(
                    "state",
                    "state folder",
                    size=tree_size(state.root),
                    seconds=time.monotonic() - t0,
                )
            )
            progress(f"state: restored into {state.root} ({time.monotonic() - t0:.1f} s)")
    loaded, repo_name, warnings = check_state(state, kit, found.repo)
    report.repo = repo_name
    report.blueprint = str(state.root / BLUEPRINT_DIR / "lares.yaml")
    report.warnings += warnings
    report.done = ("state",)
    if last == 0:
        report.seconds = time.monotonic() - started
        return report

    from lares.backup import open_context

    ctx = open_context(loaded, state.root, features=features)
    restic = ctx.restic(repo_name)
    # the listing that found the state: the repository is the same, and no run writes to it
    snapshots = [s for s in found.snapshots if "lares" in s.tags and s.hostname == ctx.host]
    plans = plan_data(ctx, snapshots, repo_name)
    for p in plans:
        report.warnings += list(p.missing)
    busy = busy_paths(plans, journal)
    if busy and not force:
        raise RecoverError(
            "these data folders are not empty: " + ", ".join(busy),
            hint="recover onto empty folders, or pass --force to move what is there aside "
            "(nothing is deleted)",
        )
    for p in plans:
        if p.files is not None and not journal.has(f"files:{p.app}"):
            t0 = time.monotonic()
            _, size = restore_files(restic, p.files, journal, stamp=stamp)
            journal.mark(f"files:{p.app}")
            step = Step("data", "files", p.app, size, time.monotonic() - t0)
            report.steps.append(step)
            progress(f"data: {p.app} files, {size_text(size)} in {step.seconds:.1f} s")
        elif p.files is not None:
            report.steps.append(Step("data", "files", p.app, skipped="done before"))
    pending = [d for p in plans for d in p.databases if not journal.has(f"db:{d.app}:{d.key}")]
    for d in pending:
        if d.engine != "sqlite" and journal.has(f"loading:{d.app}:{d.key}"):
            # an interrupted load left part of the dump in: the server starts over, empty
            report.warnings += reset_database(ctx, d, stamp)
    start_databases(ctx, [p for p in plans if any(d in pending for d in p.databases)], progress)
    for d in (d for p in plans for d in p.databases):
        if d not in pending:
            report.steps.append(Step("data", f"database {d.key}", d.app, skipped="done before"))
            continue
        t0 = time.monotonic()
        journal.mark(f"loading:{d.app}:{d.key}")
        size = load_database(ctx, restic, d)
        journal.mark(f"db:{d.app}:{d.key}")
        step = Step("data", f"database {d.key}", d.app, size, time.monotonic() - t0)
        report.steps.append(step)
        progress(f"data: {d.app} database {d.key}, {size_text(size)} in {step.seconds:.1f} s")
    journal.mark("phase:data")
    report.done = ("state", "data")
    if last == 1:
        report.seconds = time.monotonic() - started
        return report

    t0 = time.monotonic()
    up = run.run(
        [
            sys.executable,
            "-m",
            "lares",
            "up",
            "--yes",
            "-f",
            report.blueprint,
            "--state-dir",
            str(state.root),
        ],
        check=False,
        timeout=1800,
        what="bring the stacks up",
    )
    if not up.ok:
        raise RecoverError(
            "the data is back, but the stacks did not come up:\n"
            + run.tail(up.stdout + up.stderr, 12),
            hint=f"fix it, then `lares up -f {report.blueprint} --state-dir {state.root}`",
        )
    report.steps.append(Step("up", "stacks", seconds=time.monotonic() - t0))
    progress(f"up: stacks running ({time.monotonic() - t0:.1f} s)")
    journal.mark("phase:up")
    from lares.backup.drill import drill

    t0 = time.monotonic()
    results = drill(ctx, repo=repo_name)
    report.drill = [r.to_dict() for r in results]
    report.steps.append(Step("up", "drill", seconds=time.monotonic() - t0))
    report.done = PHASES
    report.seconds = time.monotonic() - started
    journal.data["finished"] = now()
    journal.data["seconds"] = round(report.seconds, 1)
    journal.save()
    return report


def _dry_plan(kit: Kit, found: Found, state_root: Path) -> list[str]:
    return [
        f"restore lares's state (snapshot {found.snapshot.short_id} of {found.repo.name}) into "
        f"{state_root}: secrets, applied revisions, backup records, the blueprint",
        f"check the blueprint {state_root / BLUEPRINT_DIR / 'lares.yaml'} against the kit "
        f"(host {kit.host})",
        "restore each app's files into its data folders (refusing folders that are not empty)",
        "start each database container alone and load its dump; write SQLite files back",
        "lares up --yes, then the restore drill against what came back",
    ]
