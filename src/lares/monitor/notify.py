"""Send a message through Apprise to the blueprint's ``monitor.notify`` targets.

Apprise loads a plug-in for every service it knows (about 15 MB of memory); the watcher sends a
few messages a day, so :func:`send` hands each message to a short-lived ``python -m
lares.monitor.notify`` child (through :mod:`lares.run`) instead of keeping Apprise loaded. The
URLs and the message travel on the child's stdin as JSON, never in argv: an Apprise URL often
holds a token. The child prints one JSON line saying what it did.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lares.errors import LaresError
from lares.monitor.alerts import Message
from lares.monitor.config import NotifyTarget

TIMEOUT = 120.0


class NotifyError(LaresError):
    code = "notify"


@dataclass(frozen=True)
class Sent:
    ok: bool
    targets: int
    error: str = ""


def urls(targets: Sequence[NotifyTarget], secrets_dir: Path) -> list[str]:
    """The Apprise URLs of ``targets``, reading named secrets from ``secrets_dir``.

    Raises :class:`~lares.errors.LaresError` (``secret-missing``) for a secret that is not there.
    """
    from lares.secrets import SecretStore

    store = SecretStore(secrets_dir)
    found: list[str] = []
    for target in targets:
        if target.url:
            found.append(target.url)
        elif target.secret:
            found.append(store.read(target.secret))
    return found


def send(addresses: Sequence[str], message: Message, *, timeout: float = TIMEOUT) -> Sent:
    """Send ``message`` to every address; never raises for a delivery failure (see ``Sent``)."""
    from lares import run

    if not addresses:
        return Sent(False, 0, "no notification target is configured (monitor.notify)")
    payload = json.dumps(
        {
            "urls": list(addresses),
            "title": message.title,
            "body": message.body,
            "type": message.type,
        }
    )
    try:
        result = run.run(
            [sys.executable, "-m", "lares.monitor.notify"],
            input=payload,
            timeout=timeout,
            check=False,
            secrets=list(addresses),
            what="send a notification",
        )
    except LaresError as exc:
        return Sent(False, len(addresses), exc.message)
    report: dict[str, object] = {}
    for line in reversed(result.stdout.splitlines()):
        try:
            report = json.loads(line)
            break
        except ValueError:
            continue
    ok = result.ok and report.get("sent") is True
    error = str(report.get("error") or "") or ("" if ok else run.tail(result.stderr, 3))
    return Sent(ok, len(addresses), run.Redactor(list(addresses))(error))


def _deliver(data: dict[str, object]) -> dict[str, object]:
    import apprise

    body = apprise.Apprise()
    added = 0
    addresses = data.get("urls")
    for url in addresses if isinstance(addresses, list) else []:
        if body.add(str(url)):
            added += 1
    if not added:
        return {"sent": False, "error": "no valid Apprise URL among the targets"}
    types = {
        "info": apprise.NotifyType.INFO,
        "success": apprise.NotifyType.SUCCESS,
        "warning": apprise.NotifyType.WARNING,
        "failure": apprise.NotifyType.FAILURE,
    }
    sent = body.notify(
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        notify_type=types.get(str(data.get("type")), apprise.NotifyType.INFO),
    )
    if not sent:
        return {"sent": False, "error": "Apprise could not deliver to every target"}
    return {"sent": True, "targets": added}


def main() -> int:
    """Child entry point: read the JSON request from stdin, deliver, print the outcome."""
    try:
        data = json.loads(sys.stdin.read())
        outcome = _deliver(data)
    except Exception as exc:  # the parent reads the outcome; a traceback would only be noise
        outcome = {"sent": False, "error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(outcome) + "\n")
    return 0 if outcome.get("sent") else 1


if __name__ == "__main__":
    sys.exit(main())
