"""A bundle: every file a render produces, in memory, plus the secrets those files refer to.

Rendering never writes; :mod:`lares.deploy.files` writes a bundle atomically and generates the
secret values it names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lares.catalog.model import SecretSpec

SECRETS_DIR = "secrets"


@dataclass(frozen=True)
class File:
    path: str  # relative to the bundle root, "/"-separated
    content: str
    mode: int = 0o644


@dataclass(frozen=True)
class SecretCopy:
    """A secret value placed for one container: the file it reads, owned by the uid reading it
    (0600), or also readable by the group of the container's other readers (0640)."""

    secret: str  # secret id, e.g. nextcloud_db_password
    path: str  # relative to the bundle root, under secrets/
    uid: int
    gid: int | None = None

    @property
    def mode(self) -> int:
        return 0o600 if self.gid is None else 0o640


@dataclass(frozen=True)
class EnvFile:
    """A 0600 env file of secret values, for images that only read secrets from the environment."""

    path: str
    variables: Mapping[str, str]  # variable → value template with {secret:<id>} markers


@dataclass(frozen=True)
class Directory:
    """A host folder a container writes to, created owned by its uid before the first start.

    Docker would create a missing bind-mount source as root, which a non-root container cannot
    write; existing folders are never touched.
    """

    path: str  # absolute host path
    uid: int
    gid: int


@dataclass(frozen=True)
class Bundle:
    files: Mapping[str, File] = field(default_factory=dict)
    secrets: Mapping[str, SecretSpec] = field(default_factory=dict)  # id → how to generate
    copies: tuple[SecretCopy, ...] = ()
    env_files: tuple[EnvFile, ...] = ()
    dirs: tuple[Directory, ...] = ()

    def merge(self, other: Bundle) -> Bundle:
        clash = set(self.files) & set(other.files)
        if clash:
            raise ValueError(f"two renderers produced {sorted(clash)}")
        return Bundle(
            {**self.files, **other.files},
            {**self.secrets, **other.secrets},
            self.copies + other.copies,
            self.env_files + other.env_files,
            self.dirs + other.dirs,
        )

    def under(self, prefix: str) -> dict[str, File]:
        """The files whose path starts with ``prefix/``."""
        return {p: f for p, f in self.files.items() if p.startswith(prefix.rstrip("/") + "/")}

    def digest(self, paths: Iterable[str] | None = None) -> str:
        """A stable hash of the given files (all by default): what changed, changed the hash."""
        h = hashlib.sha256()
        for path in sorted(self.files if paths is None else paths):
            h.update(path.encode())
            h.update(b"\0")
            h.update(self.files[path].content.encode())
            h.update(b"\0")
        return h.hexdigest()
