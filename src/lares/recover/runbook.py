"""Recovery runbooks, rendered from the blueprint: what to do, on this system, when it breaks.

Pure: a blueprint (resolved), where its file and state folder are, and the facts of the last
drill and recovery in, Markdown out. Commands are in ``sh`` fenced blocks, one per line, exactly
as they are to be typed (the suite runs those of the app and machine scenarios); what the person
must fill in (a new drive's name, a credential) is in ``text`` blocks, never in ``sh`` ones.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lares.backup.jobs import host_path
from lares.catalog.resolve import secret_id
from lares.plan.capacity import FAULT_TOLERANCE

SCENARIOS = {
    "app": "one app broken",
    "drive": "one drive failed",
    "os-disk": "the OS disk lost",
    "machine": "the whole machine lost",
    "offsite": "the offsite provider lost",
}
KIT_FILE = "lares-recovery-kit.txt"


@dataclass(frozen=True)
class Facts:
    """What the state folder knows: the last drill's and recovery's times (seconds)."""

    drill_seconds: float | None = None
    drill_when: str | None = None
    recover_seconds: float | None = None
    recover_when: str | None = None


def facts_from(drills: Mapping[str, Any], journal: Mapping[str, Any]) -> Facts:
    """Facts from ``backup/drills.json`` and ``recovery.json`` (either may be empty)."""
    seconds = 0.0
    when: str | None = None
    for per_app in drills.values():
        for result in (per_app or {}).values():
            seconds += float(result.get("duration") or 0.0)
            when = max(filter(None, [when, result.get("when")]), default=None)
    return Facts(
        drill_seconds=seconds or None,
        drill_when=when,
        recover_seconds=journal.get("seconds"),
        recover_when=journal.get("finished"),
    )


@dataclass(frozen=True)
class Where:
    blueprint: str  # the blueprint file, as lares commands take it (-f)
    state: str  # the state folder (--state-dir)

    def lares(self, *args: str, state: bool = True, blueprint: bool = True) -> str:
        argv = ["lares", *args]
        if blueprint:
            argv += ["-f", self.blueprint]
        if state:
            argv += ["--state-dir", self.state]
        return shlex.join(argv)


def render(system: Any, where: Where, facts: Facts, scenario: str | None = None) -> str:
    """The runbook of ``scenario`` (one of :data:`SCENARIOS`), or of all of them."""
    wanted = [scenario] if scenario else list(SCENARIOS)
    bp = system.blueprint
    parts = [f"# Recovery runbook for {bp.host.name}", ""]
    parts += [
        f"Rendered by lares from `{where.blueprint}`; lares's state is in `{where.state}`.",
        "Commands in `sh` blocks are typed as they are; `text` blocks are for you to fill in.",
        "",
    ]
    for name in wanted:
        parts += RENDER[name](system, where, facts)
    return "\n".join(parts).rstrip() + "\n"


def _sh(*lines: str) -> list[str]:
    return ["```sh", *lines, "```", ""]


def _text(*lines: str) -> list[str]:
    return ["```text", *lines, "```", ""]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not measured yet"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def _repos(bp: Any) -> tuple[list[str], list[str]]:
    """(on this machine, at a provider) repository names, by their location."""
    local: list[str] = []
    offsite: list[str] = []
    for name, r in bp.backup.repositories.items():
        (local if r.url.startswith("/") else offsite).append(name)
    return local, offsite


def _source_repo(bp: Any) -> str | None:
    configured = bp.backup.drill.repository
    if configured:
        return str(configured)
    return next((n for n, r in bp.backup.repositories.items() if r.copy_from is None), None)


def _credentials(bp: Any, names: list[str]) -> list[str]:
    return [
        f"{var}=...   (repository {name}; the lares secret {sid})"
        for name in names
        for var, sid in sorted(bp.backup.repositories[name].secret_env.items())
    ]


def _order(system: Any) -> list[str]:
    order = {n: i for i, n in enumerate(system.blueprint.stack_order())}
    apps = sorted(
        (a for a in system.apps if a.app.backup is not None),
        key=lambda a: order.get(a.stack, len(order)),
    )
    out: list[str] = []
    for a in apps:
        spec = a.app.backup
        dbs = ", ".join(f"{d.engine} {spec.key(d)}" for d in spec.databases)
        out.append(
            f"{len(out) + 1}. {a.id} (stack {a.stack}): "
            + ("files" if spec.paths else "")
            + (", then " if spec.paths and dbs else "")
            + (f"databases {dbs}" if dbs else "")
        )
    return out


# ── scenarios ─────────────────────────────────────────────────────────────────────────────


def _app(system: Any, where: Where, facts: Facts) -> list[str]:
    bp = system.blueprint
    repo = _source_repo(bp)
    out = ["## One app broken", ""]
    out += [
        "An app lost or damaged its data (a bad update, a deleted folder, a corrupted database).",
        "lares stops the app, moves its data folders aside (never deletes them), restores its "
        "files and databases from the newest snapshots (or those taken by a date: add "
        "`--at 2026-11-30T03:00`) and starts it again.",
        "",
    ]
    if repo is None:
        return [*out, "This blueprint has no backup repository: there is nothing to restore.", ""]
    out += ["Find the snapshot by date:", ""]
    out += _sh(where.lares("backup", "list", "--repo", repo))
    for view in (a for a in system.apps if a.app.backup is not None):
        spec = view.app.backup
        folders = [host_path(bp, view.id, p) for p in spec.paths]
        out += [f"### {view.id}", ""]
        if folders:
            out.append("Data folders: " + ", ".join(f"`{f}`" for f in folders) + ".")
        names = {s.key: s.name for s in view.services}
        for d in spec.databases:
            out.append(
                f"Database: {d.engine} `{spec.key(d)}` in container "
                f"`{names.get(d.container, d.container)}`."
            )
        secrets = sorted(view.app.secrets)
        if secrets:
            out.append(
                "Its secrets (kept in the state folder, not changed by a restore): "
                + ", ".join(f"`{secret_id(view.id, s)}`" for s in secrets)
                + "."
            )
        out.append("")
        out += _sh(where.lares("recover", "--app", view.id, "--repo", repo))
    return out


def _drive(system: Any, where: Where, facts: Facts) -> list[str]:
    bp = system.blueprint
    out = ["## One drive failed", ""]
    if not bp.storage.pools:
        return [*out, "The blueprint describes no storage pool.", ""]
    for name, pool in bp.storage.pools.items():
        survives = FAULT_TOLERANCE.get(pool.level, 0)
        if pool.engine == "mdadm" and pool.level == "raid1":
            survives = len(pool.devices) - 1
        devices = ", ".join(f"`{d.path}`" for d in pool.devices)
        out += [f"### Pool {name}: {pool.engine} {pool.level} on {devices}", ""]
        out.append(f"Mounted at `{pool.mount}` ({pool.filesystem}).")
        if survives <= 0:
            out += [
                "",
                f"**{pool.level} has no redundancy: one failed drive loses the pool.** Replace "
                "the drive, create the pool again (`lares render --target host` gives its "
                "setup), then restore every app's data as in *The whole machine lost*, data "
                "phase: `lares recover --only data` with this server's state folder.",
                "",
            ]
            continue
        out.append(
            f"It survives {survives} failed drive{'s' if survives > 1 else ''}; a second failure "
            "before the rebuild ends loses it, so check the backups first "
            "(`lares backup list`) and do not write more than needed until it is rebuilt."
        )
        out.append("")
        if pool.engine == "mdadm":
            array = f"/dev/md/{name}"
            out += ["What failed:", ""]
            out += _sh("cat /proc/mdstat", f"mdadm --detail {array}")
            out += ["Take the failed drive out, put the new one in (same size or larger):", ""]
            out += _text(
                f"mdadm {array} --fail /dev/OLD --remove /dev/OLD",
                f"mdadm {array} --add /dev/NEW",
            )
            out += ["Watch the rebuild (hours for large drives), then scrub:", ""]
            out += _sh(
                "watch -n 60 cat /proc/mdstat",
                f"btrfs scrub start -B {pool.mount}"
                if pool.filesystem == "btrfs"
                else f"mdadm --detail {array}",
            )
        else:
            out += ["What failed (each device has a `devid`):", ""]
            out += _sh(f"btrfs filesystem show {pool.mount}", f"btrfs device stats {pool.mount}")
            out += [
                "If the drive is gone and the pool no longer mounts, mount it degraded first; "
                "then replace the drive by its id with the new one:",
                "",
            ]
            out += _text(
                f"mount -o degraded {pool.devices[0].path} {pool.mount}",
                f"btrfs replace start ID /dev/NEW {pool.mount}",
            )
            out += ["Watch the replace, then scrub and check the profiles:", ""]
            out += _sh(
                f"btrfs replace status {pool.mount}",
                f"btrfs scrub start -B {pool.mount}",
                f"btrfs filesystem df {pool.mount}",
            )
            if len(pool.devices) - 1 < _min_devices(pool.level):
                out += [
                    f"With one drive fewer than {_min_devices(pool.level)}, {pool.level} cannot "
                    "keep its copies: do not `btrfs balance` to a weaker profile unless no "
                    "replacement comes soon.",
                    "",
                ]
        out.append("`lares watch` alerts on the pool's state until it is healthy again.")
        out.append("")
    return out


def _min_devices(level: str) -> int:
    return {"raid1": 2, "raid1c3": 3, "raid1c4": 4, "raid10": 4, "raid5": 2, "raid6": 3}.get(
        level, 1
    )


def _os_disk(system: Any, where: Where, facts: Facts) -> list[str]:
    bp = system.blueprint
    disk = bp.storage.os_disk.path if bp.storage.os_disk else "the OS disk"
    pools = ", ".join(f"`{p.mount}`" for p in bp.storage.pools.values()) or "the data folders"
    out = ["## The OS disk lost", ""]
    out += [
        f"`{disk}` died; the pool ({pools}) is intact. Install the OS on a new disk, then "
        "Docker, restic and lares. Assemble and mount the pool without creating anything:",
        "",
    ]
    for name, pool in bp.storage.pools.items():
        if pool.engine == "mdadm":
            out += _sh("mdadm --assemble --scan", f"mount /dev/md/{name} {pool.mount}")
        else:
            out += _sh("btrfs device scan", f"mount {pool.devices[0].path} {pool.mount}")
    out += [
        f"lares's state folder `{where.state}` was on the OS disk: get it back from the kit, "
        "without touching the data that is still on the pool:",
        "",
    ]
    out += _sh(
        f"lares recover --kit {KIT_FILE} --state-dir {shlex.quote(where.state)} --only state"
    )
    out += ["Then bring the stacks up on the data that is there:", ""]
    out += _sh(where.lares("up", "--yes"))
    return out


def _machine(system: Any, where: Where, facts: Facts) -> list[str]:
    bp = system.blueprint
    _, offsite = _repos(bp)
    out = ["## The whole machine lost", ""]
    out += [
        "Stolen, burnt, or every drive gone: only the offsite repositories are left. You need "
        f"the recovery kit (`lares recovery-kit`, here saved as `{KIT_FILE}`), a new machine with "
        "Docker, restic and lares, the storage set up again (pool and folders as in "
        f"`{where.blueprint}`, see *One drive failed*), and the credentials below.",
        "",
    ]
    creds = _credentials(bp, offsite)
    if creds:
        out += ["Set these in the shell you run lares from (from your provider's account):", ""]
        out += _text(*(f"export {c}" for c in creds))
    out += ["Restore order: lares's state (secrets, blueprint), then per app:", ""]
    out += _order(system) or ["(no app has a backup spec)"]
    out += ["", "then `lares up` and the restore drill. Dry run first, then the recovery:", ""]
    state = shlex.quote(where.state)
    out += _sh(
        f"lares recover --kit {KIT_FILE} --state-dir {state} --dry-run",
        f"lares recover --kit {KIT_FILE} --state-dir {state}",
    )
    out += [
        "Interrupted? Run the same command again: it continues where it stopped. It refuses "
        "data folders that are not empty (`--force` moves them aside).",
        "",
        f"Time measured: the last restore drill {_duration(facts.drill_seconds)}"
        + (f" ({facts.drill_when})" if facts.drill_when else "")
        + f", the last recovery {_duration(facts.recover_seconds)}"
        + (f" ({facts.recover_when})" if facts.recover_when else "")
        + ".",
        "",
    ]
    return out


def _offsite(system: Any, where: Where, facts: Facts) -> list[str]:
    bp = system.blueprint
    local, offsite = _repos(bp)
    out = ["## The offsite provider lost", ""]
    if not offsite:
        return [
            *out,
            "**This blueprint has no offsite repository**: a lost machine loses everything. "
            "Add one (`backup.repositories`, with `copy_from`).",
            "",
        ]
    out += [
        "The provider closed the account or lost the bucket. The server and its local "
        f"repositories ({', '.join(local) or 'none'}) still hold everything; until an offsite "
        "copy exists again, one more loss is final.",
        "",
        "Point the repository at a new provider in the blueprint (`url`, `env`, "
        "`secret_env`), store its credentials, then create it and fill it:",
        "",
    ]
    for name in offsite:
        r = bp.backup.repositories[name]
        if r.secret_env:
            out += _text(*(f"lares secret set {sid}" for sid in sorted(r.secret_env.values())))
        out += _sh(
            where.lares("backup", "init", "--repo", name),
            where.lares("backup", "run", "--repo", name),
        )
    out += [
        "Its password is new: make a new recovery kit and destroy the old one.",
        "",
    ]
    out += _sh(where.lares("recovery-kit", "--output", KIT_FILE))
    return out


RENDER: dict[str, Callable[[Any, Where, Facts], list[str]]] = {
    "app": _app,
    "drive": _drive,
    "os-disk": _os_disk,
    "machine": _machine,
    "offsite": _offsite,
}
