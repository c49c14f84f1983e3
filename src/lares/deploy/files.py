"""Write a rendered bundle to a folder: every file atomically, secrets generated and placed.

Layout: ``<root>/<stack>/compose.yaml``, ``<root>/networks.yaml``, and ``<root>/secrets/`` (0700)
holding the secret values and, per container, the copies it mounts (0600, owned by the uid that
reads them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lares.deploy.secrets import SecretStore
from lares.fsutil import atomic_write, private_dir
from lares.render.bundle import SECRETS_DIR, Bundle


@dataclass(frozen=True)
class Written:
    files: list[str]
    created: list[str]  # ids of secrets generated now


def store_for(root: Path, secrets_dir: Path | None = None) -> SecretStore:
    return SecretStore(secrets_dir or root / SECRETS_DIR / "values")


def write_bundle(bundle: Bundle, root: Path, *, secrets_dir: Path | None = None) -> Written:
    """Write ``bundle`` under ``root``; generate missing secrets in ``secrets_dir``.

    Existing secret values are kept. Per-container copies and env files are rewritten from the
    stored values each time, so they always match.
    """
    root.mkdir(parents=True, exist_ok=True)
    store = store_for(root, secrets_dir)
    created = [sid for sid, spec in sorted(bundle.secrets.items()) if store.ensure(sid, spec)]
    private_dir(root / SECRETS_DIR)
    for copy in bundle.copies:
        target = root / copy.path
        private_dir(target.parent)
        atomic_write(target, store.read(copy.secret), mode=0o600, uid=copy.uid)
    for env in bundle.env_files:
        lines = []
        for var, sid in sorted(env.variables.items()):
            value = store.read(sid)
            lines.append(f"{var}={value}")
        atomic_write(root / env.path, "\n".join(lines) + "\n", mode=0o600)
    for path, file in bundle.files.items():
        atomic_write(root / path, file.content, mode=file.mode)
    return Written(sorted(bundle.files), created)
