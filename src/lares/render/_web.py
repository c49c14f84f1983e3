"""What the renderers share: where an app's files go in the bundle, and the banner they carry.

Which apps are reachable and where their web interface answers is :mod:`lares.catalog.web`.
"""

from __future__ import annotations

from lares.catalog.resolve import System


def app_dir(system: System, app_id: str, fallback: str) -> str:
    """The bundle folder for files of ``app_id``: ``<its stack>/<app>``, else ``fallback``.

    Files inside a stack's folder belong to that stack's revision, so deploy applies, records
    and rolls them back together with its compose file.
    """
    view = system.app(app_id)
    return f"{view.stack}/{app_id}" if view is not None else fallback


HEADER = (
    "Rendered by lares from {source}. Edit lares.yaml and run `lares render` / `lares up`;\n"
    "changes made here are replaced on the next apply.\n"
)


def header(source: str, comment: str = "#") -> str:
    """The "rendered by lares" banner, as comment lines starting with ``comment``."""
    return "".join(f"{comment} {line}\n" for line in HEADER.format(source=source).splitlines())
