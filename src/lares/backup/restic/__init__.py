"""The restic adapter: commands for one repository, how to run them, and how to read the answers.

A :class:`Repo` is one repository of the blueprint with the file that holds its password. The
password reaches restic only as ``RESTIC_PASSWORD_FILE`` (a 0600 file in the secrets folder);
it is never in argv, a log line or an error. The backend's own secrets (``secret_env``: an S3
secret key, a B2 application key) are lares secrets in the same folder: a command names them by
secret name only, and :class:`Restic` reads their values when it starts restic, into restic's
environment, and masks them in everything it logs or raises. ``options`` become ``-o key=value``
flags on every command of the repository. :class:`Restic` runs commands against a repository
through :mod:`lares.run`, turns failures into :class:`ResticError` (classified: wrong password,
repository missing, disk full, locked, interrupted), parses ``--json`` output, removes stale
locks (and only stale ones) and checks that a restore cannot write outside its target.

Long-running restic processes are started under ``setpriv --pdeathsig KILL`` when setpriv is
installed, so a lares that is killed takes its restic with it: a killed restic writes no
snapshot, while an orphaned one reading a dump from a closed pipe would save a truncated one.

The package follows the adapter's parts: :mod:`.repo` (a repository and its secrets),
:mod:`.commands` (the commands, pure), :mod:`.errors` (a failure classified), :mod:`.output`
(``--json`` answers parsed), :mod:`.locks` (stale locks), :mod:`.paths` (restore safety) and
:mod:`.adapter` (:class:`Restic`, which runs them). Every name is importable from here.
"""

from __future__ import annotations

from lares.backup.restic.adapter import (
    STOPPED,
    BackupResult,
    Feed,
    Restic,
    Source,
    guard,
    stop,
)
from lares.backup.restic.commands import (
    ABORT_GRACE,
    LONG,
    RESTIC,
    SHORT,
    Keep,
    backup_command,
    cat_lock_command,
    check_command,
    copy_command,
    dump_command,
    exists_command,
    forget_command,
    forget_ids_command,
    init_command,
    list_locks_command,
    ls_command,
    restore_command,
    snapshots_command,
    stats_command,
    tag_command,
    unlock_command,
)
from lares.backup.restic.errors import (
    ACCESS_DENIED,
    DISK_FULL,
    FAILED,
    INCOMPLETE,
    INTERRUPTED,
    LOCKED,
    REPOSITORY_MISSING,
    UNREACHABLE,
    WRONG_PASSWORD,
    ResticError,
    classify,
    error_text,
)
from lares.backup.restic.locks import (
    RESTIC_STALE_AFTER,
    STALE_AFTER,
    Lock,
    restic_would_remove,
    stale_reason,
)
from lares.backup.restic.output import (
    Event,
    ItemError,
    Snapshot,
    Status,
    Summary,
    Usage,
    disk_usage,
    parse_event,
    parse_forget,
    parse_prune,
    parse_snapshots,
    parse_stats,
    parse_time,
)
from lares.backup.restic.paths import (
    check_include,
    check_target,
    unsafe_node,
)
from lares.backup.restic.repo import (
    MissingSecrets,
    Repo,
    credentials,
    display_url,
    nonempty,
    option_flags,
    require_password,
)
from lares.run import close_pipes, drain, pid_alive, write_all

__all__ = [
    "ABORT_GRACE",
    "ACCESS_DENIED",
    "DISK_FULL",
    "FAILED",
    "INCOMPLETE",
    "INTERRUPTED",
    "LOCKED",
    "LONG",
    "REPOSITORY_MISSING",
    "RESTIC",
    "RESTIC_STALE_AFTER",
    "SHORT",
    "STALE_AFTER",
    "STOPPED",
    "UNREACHABLE",
    "WRONG_PASSWORD",
    "BackupResult",
    "Event",
    "Feed",
    "ItemError",
    "Keep",
    "Lock",
    "MissingSecrets",
    "Repo",
    "Restic",
    "ResticError",
    "Snapshot",
    "Source",
    "Status",
    "Summary",
    "Usage",
    "backup_command",
    "cat_lock_command",
    "check_command",
    "check_include",
    "check_target",
    "classify",
    "close_pipes",
    "copy_command",
    "credentials",
    "disk_usage",
    "display_url",
    "drain",
    "dump_command",
    "error_text",
    "exists_command",
    "forget_command",
    "forget_ids_command",
    "guard",
    "init_command",
    "list_locks_command",
    "ls_command",
    "nonempty",
    "option_flags",
    "parse_event",
    "parse_forget",
    "parse_prune",
    "parse_snapshots",
    "parse_stats",
    "parse_time",
    "pid_alive",
    "require_password",
    "restic_would_remove",
    "restore_command",
    "snapshots_command",
    "stale_reason",
    "stats_command",
    "stop",
    "tag_command",
    "unlock_command",
    "unsafe_node",
    "write_all",
]
