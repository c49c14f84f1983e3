"""Which secret values each container reads, as a keyed digest in a Compose label.

Compose recreates a container when its configuration changes, but a secret reaches the container
as a file whose content Compose never looks at: after `lares secret set` the container would keep
the old value until something else restarted it. So before `up` and `diff` compare anything,
every service that reads secrets gets the label ``io.lares.secrets``: an HMAC-SHA256 of the
values it reads. A changed value changes that one label, the stack's revision and the diff, and
Compose recreates exactly the containers that read it.

The HMAC key is random, made once per installation and kept beside the secrets (``secrets.key``,
0600). A plain hash of a short value (a PIN, a 6-letter password) would be found by trying them
all; without the key the label says nothing about the value, only whether it changed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets as pysecrets
from typing import Any

from lares.deploy.files import SECRET_MARK, store_for
from lares.fsutil import atomic_write, private_dir
from lares.render.bundle import Bundle, File
from lares.render.compose import LABEL as LABEL_PREFIX
from lares.secrets import SecretStore
from lares.state import StateDir
from lares.yamlio import dump_yaml, safe_load

LABEL = f"{LABEL_PREFIX}.secrets"
KEY_FILE = "secrets.key"
_HEADER = re.compile(r"\A(?:#[^\n]*\n)*")


def installation_key(state: StateDir) -> bytes:
    """The per-installation HMAC key, created (32 random bytes, 0600) on first use."""
    path = state.root / KEY_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="utf-8").strip())
    except FileNotFoundError:
        pass
    except ValueError:
        pass  # a damaged key only means every reader is recreated once
    private_dir(state.root)
    key = pysecrets.token_bytes(32)
    atomic_write(path, key.hex() + "\n", mode=0o600)
    return key


def digest(key: bytes, store: SecretStore, secret_ids: set[str]) -> str:
    """The keyed digest of the values of ``secret_ids`` (a missing one counts as missing)."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for sid in sorted(secret_ids):
        mac.update(sid.encode() + b"\0")
        mac.update(b"=" + store.read(sid).encode() if store.exists(sid) else b"!")
        mac.update(b"\0")
    return mac.hexdigest()[:32]


def readers(bundle: Bundle, compose: dict[str, Any]) -> dict[str, set[str]]:
    """Service → the ids of the secrets it reads (as files or through its env file)."""
    copies = {c.path: c.secret for c in bundle.copies}
    env_files = {
        e.path: {m.group(1) for t in e.variables.values() for m in SECRET_MARK.finditer(t)}
        for e in bundle.env_files
    }
    top = compose.get("secrets") or {}
    out: dict[str, set[str]] = {}
    for name, spec in (compose.get("services") or {}).items():
        ids: set[str] = set()
        for ref in spec.get("secrets") or ():
            source = ref.get("source") if isinstance(ref, dict) else ref
            file = str((top.get(source) or {}).get("file", ""))
            if file.removeprefix("../") in copies:
                ids.add(copies[file.removeprefix("../")])
        for env_file in spec.get("env_file") or ():
            ids |= env_files.get(str(env_file).removeprefix("../"), set())
        if ids:
            out[name] = ids
    return out


def stamp(bundle: Bundle, state: StateDir) -> Bundle:
    """``bundle`` with every secret-reading service of every stack labelled with its digest.

    Pure apart from reading the secret values and the key; files without such services are
    returned unchanged.
    """
    store = store_for(state.live, state.secrets)
    key: bytes | None = None
    files = dict(bundle.files)
    for path, file in bundle.files.items():
        if not path.endswith("/compose.yaml"):
            continue
        doc = safe_load(file.content) or {}
        reads = readers(bundle, doc)
        if not reads:
            continue
        key = key or installation_key(state)
        for service, ids in reads.items():
            labels = doc["services"][service].setdefault("labels", {})
            labels[LABEL] = digest(key, store, ids)
        header = _HEADER.match(file.content)
        text = (header.group(0) if header else "") + dump_yaml(doc)
        files[path] = File(file.path, text, file.mode)
    return Bundle(files, bundle.secrets, bundle.copies, bundle.env_files, bundle.dirs)
