"""Tell people about backup failures through Apprise, to the blueprint's ``monitor.notify`` URLs.

A URL is written in the blueprint (``url:``) or kept in the secrets folder (``secret: NAME``,
read from the :class:`~lares.secrets.SecretStore`). Apprise URLs often hold tokens, so
they never appear in what this module returns or logs: a target is named by its position and
scheme only ("notify[0] (ntfy)").
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

from lares.blueprint.model import Notify
from lares.errors import LaresError
from lares.secrets import SecretStore


@dataclass(frozen=True)
class Delivery:
    sent: tuple[str, ...] = ()
    failed: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.failed


def _label(index: int, url: str | None) -> str:
    scheme = url.split("://", 1)[0] if url and "://" in url else "?"
    return f"notify[{index}] ({scheme})"


def send(
    targets: Sequence[Notify], store: SecretStore, *, title: str, body: str, failure: bool = True
) -> Delivery:
    """Send ``title``/``body`` to every target; return which were sent and which failed."""
    sent: list[str] = []
    failed: list[str] = []
    if not targets:
        return Delivery()
    with warnings.catch_warnings():
        # apprise imports the deprecated imghdr module on Python 3.11
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        apprise_log = logging.getLogger("apprise")
        level = apprise_log.level
        apprise_log.setLevel(logging.CRITICAL)  # its messages can quote the URL, token included
        try:
            for index, target in enumerate(targets):
                url = target.url
                if url is None and target.secret:
                    try:
                        url = store.read(target.secret)
                    except LaresError:
                        failed.append(f"{_label(index, None)}: secret {target.secret} is missing")
                        continue
                label = _label(index, url)
                notifier = apprise.Apprise()
                if not url or not notifier.add(url):
                    failed.append(f"{label}: not an Apprise URL")
                    continue
                kind = apprise.NotifyType.FAILURE if failure else apprise.NotifyType.SUCCESS
                if notifier.notify(title=title, body=body, notify_type=kind):
                    sent.append(label)
                else:
                    failed.append(f"{label}: delivery failed")
        finally:
            apprise_log.setLevel(level)
    return Delivery(tuple(sent), tuple(failed))
