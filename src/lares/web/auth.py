"""Who may see the dashboard: the admin password, signed session cookies, CSRF, API tokens.

Everything lives in ``<state>/web/`` (folder 0700, files 0600):

* ``admin.scrypt``: ``scrypt$n$r$p$<salt>$<hash>`` (base64) of the admin password, checked
  with the setting it names;
* ``session.key``: 32 random bytes (hex) that sign session cookies and derive CSRF tokens;
* ``tokens``: one SHA-256 (hex) of an API token per line; the token itself is shown once;
* ``initial-password``: the password generated on first start, until one is set (so that a
  dashboard started as a service does not write it into the journal).

A session cookie is ``<session id>.<issued>.<signature>``, signed with HMAC-SHA256 over a key
made of ``session.key`` and the password hash, so setting a new password ends every session.
The CSRF token of a session is an HMAC of its id; the login form's is an HMAC of a random value
kept in a cookie of its own (``lares_login``), so a page of another site cannot log a browser
in either. Nothing here logs or returns a secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from lares.fsutil import atomic_write, private_dir

USER = "admin"
SESSION_COOKIE = "lares_session"
LOGIN_COOKIE = "lares_login"
SESSION_SECONDS = 7 * 86400
PASSWORD_FILE = "admin.scrypt"  # noqa: S105 (a file name)
KEY_FILE = "session.key"
TOKENS_FILE = "tokens"
INITIAL_FILE = "initial-password"
TOKEN_PREFIX = "lares_"  # noqa: S105 (what every token starts with)

# OWASP's scrypt setting for 8 MiB (N=2^13, r=8, p=10): as strong as N=2^17 with p=1, while a
# login raises the server's memory by 8 MiB, not 128. The line stored names its own setting.
_N, _R, _P = 2**13, 8, 10
MAX_FAILURES = 5
FAILURE_WINDOW = 300.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_ONE_AT_A_TIME = threading.Lock()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    # One hash at a time in this process: the C library keeps the memory a hash used for the
    # next one, per thread, so concurrent logins in many threads would each keep their own.
    with _ONE_AT_A_TIME:
        return hashlib.scrypt(
            password.encode(), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=256 * 1024 * 1024
        )


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """The scrypt line stored in ``admin.scrypt`` for ``password``."""
    salt = salt or os.urandom(16)
    digest = _scrypt(password, salt, _N, _R, _P, 32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches the scrypt line ``stored`` (False for a malformed line)."""
    try:
        kind, n, r, p, salt, digest = stored.strip().split("$")
        if kind != "scrypt":
            return False
        want = _unb64(digest)
        got = _scrypt(password, _unb64(salt), int(n), int(r), int(p), len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Auth:
    """The credentials of one state directory's dashboard (``<state>/web``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._key: bytes | None = None
        self._tokens: tuple[float, frozenset[str]] | None = None
        self._revoked: set[str] = set()

    # ── files ──────────────────────────────────────────────────────────────────────────────

    def _write(self, name: str, text: str) -> None:
        private_dir(self.folder)
        atomic_write(self.folder / name, text, mode=0o600)

    def _read(self, name: str) -> str | None:
        try:
            return (self.folder / name).read_text()
        except FileNotFoundError:
            return None

    def password_set(self) -> bool:
        return (self.folder / PASSWORD_FILE).is_file()

    def set_password(self, password: str) -> None:
        """Store the hash of ``password``; every session signed before ends."""
        self._write(PASSWORD_FILE, hash_password(password) + "\n")
        self._key = None
        self.initial_file.unlink(missing_ok=True)

    @property
    def initial_file(self) -> Path:
        """Where a generated password waits (0600) until the admin sets one."""
        return self.folder / INITIAL_FILE

    def generate_password(self) -> str:
        """Set a new random password, keep it in :attr:`initial_file` and return it."""
        password = secrets.token_urlsafe(15)
        self.set_password(password)
        self._write(INITIAL_FILE, password + "\n")
        return password

    def check(self, user: str, password: str) -> bool:
        """Whether ``user`` and ``password`` are the admin's (the hash is computed either way)."""
        stored = self._read(PASSWORD_FILE) or hash_password(secrets.token_hex(8))
        ok = verify_password(stored, password)
        return hmac.compare_digest(user.encode(), USER.encode()) and ok

    def key(self) -> bytes:
        """The signing key: ``session.key`` (created on first use) bound to the password hash."""
        if self._key is None:
            text = self._read(KEY_FILE)
            if not text or len(text.strip()) < 64:
                text = secrets.token_hex(32)
                self._write(KEY_FILE, text + "\n")
            stored = self._read(PASSWORD_FILE) or ""
            self._key = hashlib.sha256(bytes.fromhex(text.strip()) + stored.encode()).digest()
        return self._key

    def _sign(self, text: str) -> str:
        return _b64(hmac.new(self.key(), text.encode(), hashlib.sha256).digest())

    # ── sessions ───────────────────────────────────────────────────────────────────────────

    def new_session(self, now: float | None = None) -> str:
        """A signed cookie value for a new session."""
        sid = secrets.token_urlsafe(18)
        body = f"{sid}.{int(now if now is not None else time.time())}"
        return f"{body}.{self._sign('session:' + body)}"

    def session(self, cookie: str | None, now: float | None = None) -> str | None:
        """The session id of a valid, unexpired, not logged-out cookie, else None."""
        if not cookie or cookie.count(".") != 2:
            return None
        sid, issued, signature = cookie.split(".")
        body = f"{sid}.{issued}"
        if not hmac.compare_digest(signature, self._sign("session:" + body)):
            return None
        now = time.time() if now is None else now
        if not issued.isdigit() or now - int(issued) > SESSION_SECONDS or sid in self._revoked:
            return None
        return sid

    def end_session(self, cookie: str | None) -> None:
        sid = self.session(cookie)
        if sid:
            self._revoked.add(sid)

    def csrf(self, sid: str) -> str:
        """The CSRF token of session ``sid``."""
        return self._sign("csrf:" + sid)

    def login_csrf(self, nonce: str) -> str:
        """The login form's CSRF token for the ``lares_login`` cookie value ``nonce``."""
        return self._sign("login:" + nonce)

    def csrf_ok(self, expected: str, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())

    # ── API tokens ─────────────────────────────────────────────────────────────────────────

    def new_token(self) -> str:
        """Add an API token and return it (only its hash is kept)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        lines = [line for line in (self._read(TOKENS_FILE) or "").splitlines() if line.strip()]
        self._write(TOKENS_FILE, "\n".join([*lines, token_hash(token)]) + "\n")
        self._tokens = None
        return token

    def token_ok(self, token: str | None) -> bool:
        if not token:
            return False
        path = self.folder / TOKENS_FILE
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return False
        if self._tokens is None or self._tokens[0] != mtime:
            hashes = frozenset(line.strip() for line in path.read_text().splitlines())
            self._tokens = (mtime, hashes - {""})
        wanted = token_hash(token)
        return any(hmac.compare_digest(wanted, known) for known in self._tokens[1])


@dataclass
class RateLimit:
    """Failed logins per client address: more than :data:`MAX_FAILURES` within
    :data:`FAILURE_WINDOW` seconds and the address waits until the oldest failure ages out."""

    limit: int = MAX_FAILURES
    window: float = FAILURE_WINDOW
    failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self.failures.setdefault(client, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def retry_after(self, client: str, now: float | None = None) -> int | None:
        """Seconds ``client`` must wait before trying again, or None when it may try now."""
        now = time.monotonic() if now is None else now
        times = self._recent(client, now)
        if len(times) < self.limit:
            if not times:
                self.failures.pop(client, None)
            return None
        return max(int(self.window - (now - times[0])) + 1, 1)

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._recent(client, now).append(now)
        if len(self.failures) > 10000:  # a flood of addresses: forget the quietest
            for stale in [c for c, t in self.failures.items() if not t][:5000]:
                del self.failures[stale]

    def succeeded(self, client: str) -> None:
        self.failures.pop(client, None)
