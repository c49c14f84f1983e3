"""Write a rendered bundle to a folder: every file atomically, secrets generated and placed.

Layout: ``<root>/<stack>/compose.yaml``, ``<root>/networks.yaml``, and ``<root>/secrets/`` (0700)
holding the secret values and, per container, the copies it mounts (0600, owned by the uid that
reads them; 0640 with the group of its other readers when the catalog names some).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from lares.catalog.resolve import System, secret_id
from lares.errors import LaresError
from lares.fsutil import atomic_write, private_dir, sync_dirs
from lares.render.bundle import SECRETS_DIR, Bundle
from lares.secrets import SecretStore
from lares.text import counted

SECRET_MARK = re.compile(r"\{secret:([a-z0-9_-]+)\}")


@dataclass(frozen=True)
class Written:
    files: list[str]
    created: list[str]  # ids of secrets generated now
    missing: list[str]  # ids of secrets the person must still provide


def missing_provided(bundle: Bundle, store: SecretStore) -> list[str]:
    """Secrets the person supplies (tunnel credentials, VPN keys) that are not set yet."""
    return sorted(
        sid for sid, spec in bundle.secrets.items() if spec.provided and not store.exists(sid)
    )


def require_provided(bundle: Bundle, store: SecretStore) -> None:
    """Raise when a secret the person must supply is missing (nothing is changed)."""
    missing = missing_provided(bundle, store)
    if missing:
        raise LaresError(
            f"{counted(len(missing), 'secret')} must be provided before deploying: "
            f"{', '.join(missing)}",
            hint="set each with `lares secret set NAME` (the value is read from stdin)",
            code="secret-missing",
        )


@dataclass(frozen=True)
class LostSecret:
    """An app whose secrets would be generated now although its data folders hold data."""

    app: str
    secrets: tuple[str, ...]
    folders: tuple[str, ...]


def _has_content(folder: Path) -> bool:
    try:
        return any(folder.iterdir())
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        return False
    except PermissionError:
        return True  # it exists and someone else (a database user) owns it: data


def lost_secrets(system: System, bundle: Bundle, store: SecretStore) -> list[LostSecret]:
    """Apps with a secret lares would generate now and an app-data folder that is not empty.

    Only folders under ``paths.appdata`` count: they are the app's own, where a shared media
    folder having content says nothing about the app's passwords.
    """
    appdata = Path(system.blueprint.paths.appdata)
    found = []
    for view in system.apps:
        new = sorted(
            sid
            for name in view.app.secrets
            if (sid := secret_id(view.id, name)) in bundle.secrets
            and not bundle.secrets[sid].provided
            and not store.exists(sid)
        )
        if not new:
            continue
        folders = []
        for service in view.services:
            for volume in service.volumes:
                host = Path(volume.split(":", 1)[0])
                if host.is_relative_to(appdata) and host != appdata and _has_content(host):
                    folders.append(str(host))
        if folders:
            found.append(LostSecret(view.id, tuple(new), tuple(sorted(set(folders)))))
    return found


def generate_secrets(bundle: Bundle, store: SecretStore) -> list[str]:
    """Generate the secrets lares makes that do not exist yet; return their ids."""
    return [
        sid
        for sid, spec in sorted(bundle.secrets.items())
        if not spec.provided and store.ensure(sid, spec)
    ]


def prepare_dirs(bundle: Bundle) -> list[str]:
    """Create missing app-data folders owned by the container that writes them."""
    made = []
    for d in bundle.dirs:
        path = Path(d.path)
        if path.exists():
            continue
        path.mkdir(parents=True, mode=0o750)
        if os.geteuid() == 0:
            os.chown(path, d.uid, d.gid)
        made.append(d.path)
    return made


def store_for(root: Path, secrets_dir: Path | None = None) -> SecretStore:
    return SecretStore(secrets_dir or root / SECRETS_DIR / "values")


def write_bundle(bundle: Bundle, root: Path, *, secrets_dir: Path | None = None) -> Written:
    """Write ``bundle`` under ``root``; generate missing secrets in ``secrets_dir``.

    Existing secret values are kept. Per-container copies and env files are made from the stored
    values each time, so they always match; files already as they should be are not touched.
    """
    root.mkdir(parents=True, exist_ok=True)
    touched: set[Path] = set()

    def put(
        path: Path, content: str, mode: int, uid: int | None = None, gid: int | None = None
    ) -> None:
        if atomic_write(path, content, mode=mode, uid=uid, gid=gid, sync_dir=False):
            touched.add(path.parent)

    store = store_for(root, secrets_dir)
    missing = missing_provided(bundle, store)
    created = generate_secrets(bundle, store)
    private_dir(root / SECRETS_DIR)
    for copy in bundle.copies:
        target = root / copy.path
        private_dir(target.parent)
        # a provided secret not set yet is placed empty, so the files stay valid for Compose
        value = "" if copy.secret in missing else store.read(copy.secret)
        put(target, value, copy.mode, copy.uid, copy.gid)
    for env in bundle.env_files:
        lines = []
        for var, template in sorted(env.variables.items()):
            value = SECRET_MARK.sub(
                lambda m: "" if m.group(1) in missing else store.read(m.group(1)), template
            )
            lines.append(f"{var}={value}")
        put(root / env.path, "\n".join(lines) + "\n", 0o600)
    for path, file in bundle.files.items():
        put(root / path, file.content, file.mode)
    sync_dirs(touched)
    return Written(sorted(bundle.files), created, missing)
