"""One way to tell people: Apprise, to the blueprint's ``monitor.notify`` targets.

The watcher's alerts, ``lares alerts test`` and failed backups all send through :func:`send`.
A :class:`Target` is an Apprise URL written in the blueprint (``url:``) or the name of a secret
that holds one (``secret: NAME``, read from the :class:`~lares.secrets.SecretStore`).

Apprise loads a plug-in for every service it knows (about 15 MB of memory), so each message goes
to a short-lived ``python -m lares.notify`` child (through :mod:`lares.run`) instead of keeping
Apprise loaded. The URLs and the message travel on the child's stdin as JSON, never in argv: an
Apprise URL often holds a token. For the same reason a target is named in what this module
returns only by its position and scheme ("notify[0] (ntfy)"), and errors are masked.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from lares.secrets import SecretStore

__all__ = ["TIMEOUT", "Delivery", "Message", "Target", "send", "targets"]

TIMEOUT = 120.0
NO_TARGET = "no notification target is configured (monitor.notify)"
_PARTIAL = "Apprise could not deliver to every target"
_NONE_VALID = "no valid Apprise URL among the targets"


@dataclass(frozen=True)
class Target:
    """An Apprise URL, or the name of a secret in the state dir that holds one."""

    url: str | None = None
    secret: str | None = None


class _Named(Protocol):
    @property
    def url(self) -> str | None: ...

    @property
    def secret(self) -> str | None: ...


def targets(items: Iterable[_Named]) -> tuple[Target, ...]:
    """The targets of anything with ``url`` and ``secret`` (the blueprint's ``monitor.notify``)."""
    return tuple(Target(item.url, item.secret) for item in items)


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    type: str  # apprise: info | success | warning | failure


@dataclass(frozen=True)
class Delivery:
    """What became of one message: the targets it reached, and why the others failed.

    ``sent`` and ``failed`` name targets by position and scheme; ``error`` says in one line why
    the message did not reach every target ("" when it did).
    """

    sent: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    error: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.sent) and not self.failed and not self.error

    @property
    def targets(self) -> int:
        return len(self.sent) + len(self.failed)

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.ok, "targets": self.targets, "error": self.error or None}


def _label(index: int, url: str | None) -> str:
    scheme = url.split("://", 1)[0] if url and "://" in url else "?"
    return f"notify[{index}] ({scheme})"


def send(
    to: Sequence[Target], store: SecretStore, message: Message, *, timeout: float = TIMEOUT
) -> Delivery:
    """Send ``message`` to every target; never raises for a missing secret or a failed delivery.

    A target whose secret is missing is reported and the others are still sent to.
    """
    from lares import run
    from lares.errors import LaresError

    if not to:
        return Delivery(error=NO_TARGET)
    failed: list[str] = []
    first_error = ""
    resolved: list[tuple[str, str]] = []  # (label, url)
    for index, target in enumerate(to):
        url = target.url
        if url is None and target.secret:
            try:
                url = store.read(target.secret)
            except LaresError as exc:
                failed.append(f"{_label(index, None)}: {exc.message}")
                first_error = first_error or exc.message
                continue
        resolved.append((_label(index, url), url or ""))
    if not resolved:
        return Delivery((), tuple(failed), first_error)
    addresses = [url for _, url in resolved if url]
    payload = json.dumps({"urls": [url for _, url in resolved], **message.__dict__})
    mask = run.Redactor(addresses)
    try:
        result = run.run(
            [sys.executable, "-m", "lares.notify"],
            input=payload,
            timeout=timeout,
            check=False,
            secrets=addresses,
            what="send a notification",
        )
    except LaresError as exc:
        return Delivery((), (*failed, *(label for label, _ in resolved)), mask(exc.message))
    outcome: dict[str, Any] = {}
    for line in reversed(result.stdout.splitlines()):
        try:
            outcome = json.loads(line)
            break
        except ValueError:
            continue
    reasons = outcome.get("results")
    if not isinstance(reasons, list) or len(reasons) != len(resolved):
        error = str(outcome.get("error") or "") or run.tail(result.stderr, 3)
        return Delivery((), (*failed, *(label for label, _ in resolved)), mask(error))
    sent = [label for (label, _), why in zip(resolved, reasons, strict=True) if not why]
    failed += [f"{label}: {why}" for (label, _), why in zip(resolved, reasons, strict=True) if why]
    if not first_error and failed:
        first_error = _PARTIAL if sent or "delivery failed" in reasons else _NONE_VALID
    return Delivery(tuple(sent), tuple(failed), first_error)


def _deliver(data: dict[str, Any]) -> list[str]:
    """Send to each URL of ``data``; per URL "" when sent, else why not."""
    import warnings

    with warnings.catch_warnings():
        # apprise imports the deprecated imghdr module on Python 3.11
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise
    import logging

    logging.getLogger("apprise").setLevel(logging.CRITICAL)  # its messages can quote the URL
    types = {
        "info": apprise.NotifyType.INFO,
        "success": apprise.NotifyType.SUCCESS,
        "warning": apprise.NotifyType.WARNING,
        "failure": apprise.NotifyType.FAILURE,
    }
    kind = types.get(str(data.get("type")), apprise.NotifyType.INFO)
    reasons: list[str] = []
    for url in data.get("urls") or []:
        notifier = apprise.Apprise()
        if not url or not notifier.add(str(url)):
            reasons.append("not an Apprise URL")
        elif notifier.notify(
            title=str(data.get("title") or ""), body=str(data.get("body") or ""), notify_type=kind
        ):
            reasons.append("")
        else:
            reasons.append("delivery failed")
    return reasons


def main() -> int:
    """Child entry point: read the JSON request from stdin, deliver, print the outcome."""
    try:
        outcome: dict[str, Any] = {"results": _deliver(json.loads(sys.stdin.read()))}
    except Exception as exc:  # the parent reads the outcome; a traceback would only be noise
        outcome = {"error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(outcome) + "\n")
    return 0 if outcome.get("results") and not any(outcome["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
