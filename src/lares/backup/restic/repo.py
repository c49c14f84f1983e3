"""A restic repository of the blueprint and its secrets.

A :class:`Repo` is one repository with the file that holds its password. The password reaches
restic only as ``RESTIC_PASSWORD_FILE`` (a 0600 file in the secrets folder); it is never in
argv, a log line or an error. The backend's own secrets (``secret_env``: an S3 secret key, a B2
application key) are lares secrets in the same folder, read only when restic starts, into its
environment. ``options`` become ``-o key=value`` flags on every command of the repository.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lares.errors import LaresError
from lares.secrets import SecretStore


@dataclass(frozen=True)
class Repo:
    """One repository: its blueprint name, restic URL, password file and backend settings.

    ``env`` is the backend's non-secret environment, ``secret_env`` maps each secret variable
    to the name of the lares secret holding its value (a file beside the password file), and
    ``options`` are restic's extended options (``-o``).
    """

    name: str
    url: str
    password_file: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cache_dir: Path | None = None
    secret_env: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def local_path(self) -> Path | None:
        """The folder of a local repository (URL is a path), else None."""
        return Path(self.url) if self.url.startswith("/") else None

    @property
    def shown_url(self) -> str:
        return display_url(self.url)

    @property
    def secrets_dir(self) -> Path:
        """The secrets folder: the password file's, and that of the backend's secrets."""
        return self.password_file.parent

    def environment(self) -> dict[str, str]:
        """What restic needs in its environment for this repository (no secret values)."""
        env = {
            **self.env,
            "RESTIC_REPOSITORY": self.url,
            "RESTIC_PASSWORD_FILE": str(self.password_file),
            # Inherited values would take precedence over the file or clash with it.
            "RESTIC_PASSWORD": "",
            "RESTIC_PASSWORD_COMMAND": "",
            "RESTIC_PROGRESS_FPS": "2",
        }
        if self.cache_dir is not None:
            env["RESTIC_CACHE_DIR"] = str(self.cache_dir)
        return env

    def option_flags(self) -> list[str]:
        """``-o key=value`` for each extended option, in a stable order."""
        return option_flags(self.options)

    def secrets(self) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """The backend's secret environment, read now (each ``secret_env`` variable with the
        value of its secret), and (variable, secret name) of each secret that is not set."""
        store = SecretStore(self.secrets_dir)
        values: dict[str, str] = {}
        missing: list[tuple[str, str]] = []
        for var, sid in sorted(self.secret_env.items()):
            value = _read(store, sid)
            if value is None:
                missing.append((var, sid))
            else:
                values[var] = value
        return values, missing

    def password(self) -> str:
        """The password, read only so that it can be masked in what lares prints."""
        try:
            return self.password_file.read_text(encoding="utf-8").strip()
        except OSError:
            return ""


def option_flags(options: Mapping[str, str]) -> list[str]:
    """restic's ``-o key=value`` flags for ``options``, in a stable order."""
    return [arg for key in sorted(options) for arg in ("-o", f"{key}={options[key]}")]


def _read(store: SecretStore, secret_id: str) -> str | None:
    """The secret's value, or None when it is not set (an empty file counts as not set)."""
    try:
        value = store.read(secret_id) if store.exists(secret_id) else ""
    except (OSError, LaresError):
        return None
    return value if value.strip() else None


class MissingSecrets(LaresError):
    """A repository's backend needs secrets that are not set; nothing was run."""

    code = "backup-secret"

    def __init__(self, missing: Sequence[tuple[str, str, str]]) -> None:
        by_repo: dict[str, list[str]] = {}
        for repo, var, sid in missing:
            by_repo.setdefault(repo, []).append(f"{sid} ({var})")
        parts = [
            f"repository {repo} needs the secret{'s' if len(items) > 1 else ''} " + ", ".join(items)
            for repo, items in by_repo.items()
        ]
        ids = list(dict.fromkeys(sid for _, _, sid in missing))
        verb = "is" if len(ids) == 1 else "are"
        super().__init__(
            "; ".join(parts) + f", which {verb} not set",
            hint="store "
            + ("it" if len(ids) == 1 else "each")
            + " with "
            + ", ".join(f"`lares secret set {sid}`" for sid in ids),
        )
        self.missing = tuple(missing)


def credentials(repos: Sequence[Repo]) -> dict[str, str]:
    """The secret environment restic gets for a command that opens ``repos`` (one, or the two
    of a copy), read now. Every missing secret of every repository is named at once."""
    out: dict[str, str] = {}
    missing: list[tuple[str, str, str]] = []
    for repo in repos:
        values, absent = repo.secrets()
        out.update(values)
        missing += [(repo.name, var, sid) for var, sid in absent]
    if missing:
        raise MissingSecrets(missing)
    return out


def nonempty(*values: str) -> tuple[str, ...]:
    return tuple(v for v in dict.fromkeys(values) if v)


def require_password(repo: Repo) -> None:
    """Raise a clear error when the repository's password file does not exist."""
    if not repo.password_file.is_file():
        raise LaresError(
            f"repository {repo.name} has no password yet ({repo.password_file} is missing)",
            hint="run `lares backup init` to generate it (and create the repository), or "
            "put the existing repository's password in that file",
            code="backup-password",
        )


def display_url(url: str) -> str:
    """``url`` with any password in it (``rest:https://user:pw@host/``) masked."""
    return re.sub(r"(://[^/:@]+):[^/@]*@", r"\1:***@", url)
