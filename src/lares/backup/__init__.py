"""Backups that prove themselves: restic, driven the way borgmatic drives borg.

The flow of ``lares backup run``, in one sentence: for each repository and each app with a
backup spec, freeze the app's data (``hooks/btrfs.py``), stream each database dump from its
container into ``restic backup --stdin`` (``hooks/<engine>.py``), back up the frozen files, release
the freeze, then fill copy repositories with ``restic copy``, record what is good
(``records.py``) and tell people what failed (``notify.py``). ``runner.py`` is that sentence;
``restic.py`` is the only code that speaks restic; ``drill.py`` restores and compares;
``features.py`` is the one table of restic version gates.

:class:`BackupContext` is what every backup command works with: the blueprint resolved against
the catalog, the state folder, the secrets and the detected restic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from lares.backup.features import Features, detect
from lares.backup.records import Records
from lares.backup.restic import Repo, Restic, credentials
from lares.blueprint.load import Loaded
from lares.blueprint.model import Blueprint
from lares.catalog.resolve import AppView, System
from lares.errors import Location, UsageError
from lares.secrets import SecretStore
from lares.state import StateDir


def password_secret(repo: str) -> str:
    """The id of the secret holding repository ``repo``'s password."""
    return f"restic_{repo}"


@dataclass(frozen=True)
class BackupContext:
    loaded: Loaded
    system: System
    state: StateDir
    store: SecretStore
    features: Features
    records: Records
    host: str  # restic --host: the blueprint's host name
    tz: tzinfo

    @property
    def blueprint(self) -> Blueprint:
        return self.loaded.blueprint

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def repo(self, name: str) -> Repo:
        spec = self.blueprint.backup.repositories[name]
        return Repo(
            name=name,
            url=spec.url,
            password_file=self.store.path(password_secret(name)),
            env=dict(spec.env),
            cache_dir=self.state.backup / "cache",
            secret_env=dict(spec.secret_env),
            options=dict(spec.options),
        )

    def require_secrets(self, names: Iterable[str]) -> None:
        """Raise :class:`~lares.backup.restic.MissingSecrets` naming every backend secret of
        the repositories ``names`` that is not set (before anything runs)."""
        credentials([self.repo(name) for name in dict.fromkeys(names)])

    def restic(self, name: str) -> Restic:
        return Restic(self.repo(name), self.features)

    def repo_names(self, only: str | None = None) -> list[str]:
        """Repositories in order (sources before the repositories copying from them);
        ``only`` picks one and raises UsageError for an unknown name."""
        repos = self.blueprint.backup.repositories
        if not repos:
            raise UsageError(
                "the blueprint defines no backup repository",
                location=self.loaded.locate("backup"),
                hint="add one under backup.repositories (e.g. local: {url: /srv/restic})",
            )
        if only is not None:
            if only not in repos:
                raise UsageError(
                    f"there is no repository {only!r} in the blueprint",
                    location=self.loaded.locate("backup", "repositories"),
                    hint="repositories: " + ", ".join(repos),
                )
            return [only]

        def depth(name: str) -> int:
            seen = 0
            while repos[name].copy_from is not None and seen < len(repos):
                name = repos[name].copy_from or name
                seen += 1
            return seen

        return sorted(repos, key=lambda n: (depth(n), list(repos).index(n)))

    def apps(self) -> list[AppView]:
        """The enabled apps that have a backup spec, in blueprint order."""
        return [a for a in self.system.apps if a.app.backup is not None]

    def location(self, *path: str) -> Location:
        return self.loaded.locate(*path)

    def secret_values(self) -> list[str]:
        return self.store.values()


def open_context(
    loaded: Loaded, state_root: Path | None = None, *, features: Features | None = None
) -> BackupContext:
    """The context for backup commands on ``loaded``; detects restic unless ``features`` given."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from lares.plan import make_context

    plan_ctx = make_context(loaded)
    state = StateDir.open(state_root)
    try:
        tz: tzinfo = ZoneInfo(loaded.blueprint.host.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    return BackupContext(
        loaded=loaded,
        system=plan_ctx.system,
        state=state,
        store=SecretStore(state.secrets),
        features=features or detect(),
        records=Records(state),
        host=loaded.blueprint.host.name,
        tz=tz,
    )
