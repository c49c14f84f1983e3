"""Secret values: generated once with :mod:`secrets`, kept one per file (0600) in a 0700 folder.

An existing secret is never regenerated: changing a database password under a running database
locks its app out. Values are read only to place copies for containers and never logged.
"""

from __future__ import annotations

import secrets as pysecrets
import string
from pathlib import Path

from lares.catalog.model import SecretSpec
from lares.errors import LaresError
from lares.fsutil import atomic_write, private_dir

ALPHABETS = {
    "alnum": string.ascii_letters + string.digits,
    "hex": "0123456789abcdef",
    "urlsafe": string.ascii_letters + string.digits + "-_",
}


def generate(spec: SecretSpec) -> str:
    alphabet = ALPHABETS[spec.alphabet]
    return "".join(pysecrets.choice(alphabet) for _ in range(spec.length))


class SecretStore:
    """The folder of secret values: ``<root>/<id>``, one value per file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, secret_id: str) -> Path:
        return self.root / secret_id

    def exists(self, secret_id: str) -> bool:
        return self.path(secret_id).is_file()

    def read(self, secret_id: str) -> str:
        try:
            return self.path(secret_id).read_text(encoding="utf-8").rstrip("\n")
        except FileNotFoundError:
            raise LaresError(
                f"secret {secret_id} does not exist in {self.root}",
                hint="run `lares render` or `lares up` to generate missing secrets",
                code="secret-missing",
            ) from None

    def ensure(self, secret_id: str, spec: SecretSpec) -> bool:
        """Create the secret if it does not exist; return whether it was created."""
        private_dir(self.root)
        if self.exists(secret_id):
            return False
        atomic_write(self.path(secret_id), generate(spec), mode=0o600)
        return True

    def set(self, secret_id: str, value: str) -> None:
        """Store a value given by the person (e.g. a tunnel credential)."""
        private_dir(self.root)
        atomic_write(self.path(secret_id), value, mode=0o600)

    def values(self) -> list[str]:
        """Every stored value (for redacting output)."""
        if not self.root.is_dir():
            return []
        return [p.read_text(encoding="utf-8").strip() for p in self.root.iterdir() if p.is_file()]
