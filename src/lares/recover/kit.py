"""The recovery kit: what a person needs on a new machine, and nothing more.

A kit names the host and the date, and for each repository of the blueprint its location, its
password, the non-secret settings of its backend and the *names* of the backend's credentials
(an S3 key pair, a B2 application key): those the person keeps elsewhere (their provider's
account), since a kit that held them would be a second copy of every secret to guard. The
repository passwords are in it because nothing else can open the repositories, and with them
lares's own state snapshot (:mod:`lares.recover.snapshot`), which holds every other secret.

Like the 1Password Emergency Kit and Proxmox Backup Server's paper key, it is meant to be
printed: :func:`text` is the plain form, :func:`html` a printable page with a QR code of the
machine-readable part (:func:`to_json`), which ``lares recover --kit`` reads back from either.

``lares plan`` warns until a kit covers the current repositories and passwords. What a kit
covered is kept as a keyed digest (HMAC-SHA256 under the secret ``recovery_kit_key``) in
``<state>/recover/kit.json``: it says whether anything changed, never what the values were.
"""

from __future__ import annotations

import hashlib
import hmac
import html as htmllib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lares.catalog.model import SecretSpec
from lares.errors import LaresError, UsageError
from lares.plain import Plain
from lares.secrets import SecretStore

KIT_FORMAT = 1
KEY_SECRET = "recovery_kit_key"  # noqa: S105 - the name of a secret
RECORD = "recover/kit.json"
BEGIN = "-----BEGIN LARES RECOVERY KIT-----"
END = "-----END LARES RECOVERY KIT-----"


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class KitRepo(Plain):
    name: str
    url: str
    password: str
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env: Mapping[str, str] = field(default_factory=dict)  # variable → lares secret name
    options: Mapping[str, str] = field(default_factory=dict)
    copy_from: str | None = None

    @property
    def offsite(self) -> bool:
        """Whether the repository is likely to survive the machine (not a local folder)."""
        return not self.url.startswith("/")


@dataclass(frozen=True)
class Kit:
    host: str
    made: datetime
    repositories: tuple[KitRepo, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lares_recovery_kit": KIT_FORMAT,
            "host": self.host,
            "made": iso(self.made),
            "repositories": [r.to_dict() for r in self.repositories],
        }

    def summary(self) -> dict[str, Any]:
        """What may be shown anywhere: the kit without its passwords."""
        return {
            "host": self.host,
            "made": iso(self.made),
            "repositories": [
                {
                    "name": r.name,
                    "url_scheme": r.url.split(":", 1)[0] if r.offsite else "local",
                    "offsite": r.offsite,
                    "credentials": sorted(r.secret_env),
                }
                for r in self.repositories
            ],
        }

    def ordered(self) -> list[KitRepo]:
        """The repositories to try on a new machine: offsite ones first (a local one most
        likely died with the machine), copies before their sources."""
        return sorted(self.repositories, key=lambda r: (not r.offsite, r.copy_from is None))


# ── making one ────────────────────────────────────────────────────────────────────────────


def build(blueprint: Any, store: SecretStore, *, now: datetime | None = None) -> Kit:
    """The kit for ``blueprint``'s repositories, with their passwords read from ``store``.

    Raises LaresError naming every repository whose password does not exist yet.
    """
    from lares.backup import password_secret

    repos: list[KitRepo] = []
    missing: list[str] = []
    for name, spec in blueprint.backup.repositories.items():
        sid = password_secret(name)
        if not store.exists(sid):
            missing.append(name)
            continue
        repos.append(
            KitRepo(
                name=name,
                url=spec.url,
                password=store.read(sid).strip(),
                env=dict(spec.env),
                secret_env=dict(spec.secret_env),
                options=dict(spec.options),
                copy_from=spec.copy_from,
            )
        )
    if not blueprint.backup.repositories:
        raise UsageError(
            "the blueprint defines no backup repository, so there is nothing to recover from",
            hint="add repositories under backup.repositories and run `lares backup init`",
        )
    if missing:
        raise LaresError(
            "no password yet for the repositor"
            + ("y " if len(missing) == 1 else "ies ")
            + ", ".join(missing),
            hint="run `lares backup init` first; the kit must hold every repository's password",
            code="recovery-kit",
        )
    return Kit(blueprint.host.name, now or datetime.now(UTC), tuple(repos))


def digest(kit: Kit, key: bytes) -> str:
    """A keyed digest of what the kit covers (repositories, locations, passwords)."""
    covered = [
        [r.name, r.url, r.password, sorted(r.secret_env.items())]
        for r in sorted(kit.repositories, key=lambda r: r.name)
    ]
    data = json.dumps([kit.host, covered], sort_keys=True).encode()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def key(store: SecretStore, *, create: bool) -> bytes | None:
    """The digest key (a lares secret), made when ``create`` and missing."""
    if not store.exists(KEY_SECRET):
        if not create:
            return None
        store.ensure(KEY_SECRET, SecretSpec(length=48, alphabet="alnum"))
    return store.read(KEY_SECRET).encode()


def remember(state: Any, store: SecretStore, kit: Kit, written: list[str]) -> None:
    """Record (keyed digest, date, files) that ``kit`` was made."""
    k = key(store, create=True)
    assert k is not None
    state.write_json(
        RECORD,
        {
            "made": iso(kit.made),
            "digest": digest(kit, k),
            "repositories": [r.name for r in kit.repositories],
            "files": written,
        },
    )


def save(
    state: Any,
    store: SecretStore,
    kit: Kit,
    *,
    text_to: Path | None = None,
    html_to: Path | None = None,
) -> list[str]:
    """Write ``kit`` as text and/or as a printable page (each 0600) and record that it was
    made (see :func:`remember`); return the files written."""
    from lares.fsutil import atomic_write

    written: list[str] = []
    if text_to is not None:
        atomic_write(text_to, text(kit), mode=0o600)
        written.append(str(text_to))
    if html_to is not None:
        atomic_write(html_to, html(kit), mode=0o600)
        written.append(str(html_to))
    remember(state, store, kit, written)
    return written


def staleness(blueprint: Any, store: SecretStore, record: Mapping[str, Any] | None) -> str | None:
    """Why the last kit no longer opens the blueprint's repositories, or None when it does
    (or when no repository has a password yet: there is nothing to put in a kit)."""
    try:
        kit = build(blueprint, store)
    except LaresError:
        return None
    if not record:
        return "no recovery kit has been made for this server's repositories"
    k = key(store, create=False)
    if k is None or not hmac.compare_digest(str(record.get("digest", "")), digest(kit, k)):
        return (
            f"the recovery kit made {record.get('made', '?')} no longer opens the repositories "
            "(a password, location or repository changed)"
        )
    return None


# ── its forms ─────────────────────────────────────────────────────────────────────────────


def to_json(kit: Kit) -> str:
    return json.dumps(kit.to_dict(), sort_keys=True, separators=(",", ":"))


def _lines(kit: Kit) -> list[str]:
    out = [
        f"lares recovery kit for {kit.host}, made {iso(kit.made)}",
        "",
        "Keep this away from the server (printed, or in a password manager). With it and the",
        "credentials named below, `lares recover --kit FILE` rebuilds the server on a new",
        "machine with Docker, restic and lares installed.",
        "",
    ]
    for r in kit.ordered():
        where = "offsite" if r.offsite else "on the server itself"
        copy = f", a copy of {r.copy_from}" if r.copy_from else ""
        out += [f"Repository {r.name} ({where}{copy})", f"  location: {r.url}"]
        out.append(f"  password: {r.password}")
        for var in sorted(r.env):
            out.append(f"  setting:  {var}={r.env[var]}")
        for var in sorted(r.options):
            out.append(f"  option:   -o {var}={r.options[var]}")
        if r.secret_env:
            out.append("  you also need (keep them elsewhere; set them in the environment):")
            out += [f"    {var} (lares secret {sid})" for var, sid in sorted(r.secret_env.items())]
        out.append("")
    return out


def text(kit: Kit) -> str:
    """The plain-text kit: readable, and with the machine-readable part between markers."""
    return "\n".join([*_lines(kit), BEGIN, to_json(kit), END, ""])


def html(kit: Kit) -> str:
    """A printable page: the same text, and a QR code of the machine-readable part."""
    import segno

    qr = segno.make(to_json(kit), error="m")
    svg = qr.svg_inline(scale=3, border=2)
    body = htmllib.escape("\n".join(_lines(kit)))
    title = htmllib.escape(f"lares recovery kit — {kit.host}")
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{title}</title>"
        "<style>body{font-family:sans-serif;max-width:48em;margin:2em auto}"
        "pre{font-size:11pt;white-space:pre-wrap}"
        "@media print{.no-print{display:none}}</style></head><body>\n"
        f"<h1>{title}</h1>\n<pre>{body}</pre>\n"
        "<p>The code below holds the same repositories and passwords; "
        "<code>lares recover --kit -</code> reads its text from a scanner.</p>\n"
        f"<figure>{svg}</figure>\n"
        f"<pre>{htmllib.escape(BEGIN)}\n{htmllib.escape(to_json(kit))}\n"
        f"{htmllib.escape(END)}</pre>\n</body></html>\n"
    )


# ── reading one back ──────────────────────────────────────────────────────────────────────


def parse(content: str, *, where: str = "the kit") -> Kit:
    """A kit from its text, HTML or bare JSON form. Raises UsageError when it is not one."""
    match = re.search(re.escape(BEGIN) + r"\s*(.*?)\s*" + re.escape(END), content, re.S)
    raw = htmllib.unescape(match.group(1)) if match else content.strip()
    try:
        data = json.loads(raw)
    except ValueError:
        raise UsageError(
            f"{where} is not a lares recovery kit (no readable kit data in it)",
            hint="give the file `lares recovery-kit --output` wrote, or paste the lines between "
            f"{BEGIN} and {END}",
        ) from None
    if not isinstance(data, dict) or data.get("lares_recovery_kit") != KIT_FORMAT:
        raise UsageError(
            f"{where} is not a lares recovery kit of format {KIT_FORMAT}",
            hint="make a new kit with `lares recovery-kit` (on the old server, if it still runs)",
        )
    try:
        repos = tuple(
            KitRepo(
                name=str(r["name"]),
                url=str(r["url"]),
                password=str(r["password"]),
                env={str(k): str(v) for k, v in (r.get("env") or {}).items()},
                secret_env={str(k): str(v) for k, v in (r.get("secret_env") or {}).items()},
                options={str(k): str(v) for k, v in (r.get("options") or {}).items()},
                copy_from=r.get("copy_from"),
            )
            for r in data["repositories"]
        )
        made = datetime.fromisoformat(str(data["made"]))
        host = str(data["host"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise UsageError(
            f"{where} is damaged: a repository's name, location or password is missing",
            hint="check the text against the printed kit",
        ) from None
    if not repos:
        raise UsageError(f"{where} names no repository")
    return Kit(host, made, repos)


def read(path: Path | str) -> Kit:
    """The kit in file ``path`` (``-``: standard input)."""
    import sys

    if str(path) == "-":
        return parse(sys.stdin.read(), where="the kit on standard input")
    try:
        content = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot read the kit {path}: {exc.strerror}",
            hint="give the path of the kit file, or - to paste it",
        ) from None
    return parse(content, where=str(path))
