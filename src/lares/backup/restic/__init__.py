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
:mod:`.adapter` (:class:`Restic`, which runs them). What the rest of lares uses is importable
from here; the parts' other names from their modules.
"""

from __future__ import annotations

from lares.backup.restic.adapter import Restic, Source, guard
from lares.backup.restic.commands import (
    Keep,
    backup_command,
    check_command,
    copy_command,
    dump_command,
    forget_command,
    init_command,
    restore_command,
    snapshots_command,
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
from lares.backup.restic.locks import Lock, restic_would_remove, stale_reason
from lares.backup.restic.output import (
    ItemError,
    Snapshot,
    Status,
    Summary,
    disk_usage,
    parse_event,
    parse_forget,
    parse_prune,
    parse_snapshots,
    parse_stats,
    parse_time,
)
from lares.backup.restic.paths import check_include, check_target, unsafe_node
from lares.backup.restic.repo import MissingSecrets, Repo, credentials, display_url

__all__ = [
    "ACCESS_DENIED",
    "DISK_FULL",
    "FAILED",
    "INCOMPLETE",
    "INTERRUPTED",
    "LOCKED",
    "REPOSITORY_MISSING",
    "UNREACHABLE",
    "WRONG_PASSWORD",
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
    "backup_command",
    "check_command",
    "check_include",
    "check_target",
    "classify",
    "copy_command",
    "credentials",
    "disk_usage",
    "display_url",
    "dump_command",
    "error_text",
    "forget_command",
    "guard",
    "init_command",
    "parse_event",
    "parse_forget",
    "parse_prune",
    "parse_snapshots",
    "parse_stats",
    "parse_time",
    "restic_would_remove",
    "restore_command",
    "snapshots_command",
    "stale_reason",
    "tag_command",
    "unlock_command",
    "unsafe_node",
]
