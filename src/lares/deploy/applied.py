"""The blueprint as last applied, so a broken ``lares.yaml`` never locks a person out.

Each ``lares up`` that leaves every stack as the blueprint says keeps the blueprint's text, file
name and folder in ``applied/blueprint.json``. While the file has a syntax or validation error,
the commands that only need what is running — ``down``, ``status``, ``watch``, ``backup …`` — load
that copy instead, after a warning that names the error; ``plan``, ``diff`` and ``up`` never do
(they exist to apply the file as it is now).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from lares.blueprint.load import Loaded, load, load_text
from lares.blueprint.source import Source
from lares.errors import ConfigError, ConfigErrors
from lares.state import StateDir

RECORD = "applied/blueprint.json"


def remember(state: StateDir, source: Source) -> None:
    """Keep ``source`` as the blueprint last applied."""
    state.write_json(
        RECORD,
        {
            "filename": source.filename,
            "base_dir": str(source.base_dir),
            "text": source.text,
            "applied_at": time.time(),
        },
    )


def load_applied(state: StateDir) -> tuple[Loaded, float] | None:
    """The blueprint as last applied and when, or None when there is none (or it no longer
    loads, say after an upgrade of lares that changed the format)."""
    data = state.read_json(RECORD)
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return None
    try:
        loaded = load_text(
            data["text"],
            filename=str(data.get("filename") or "lares.yaml"),
            base_dir=Path(str(data.get("base_dir") or ".")),
        )
    except (ConfigError, ConfigErrors):
        return None
    return loaded, float(data.get("applied_at") or 0.0)


def load_or_applied(file: Path | None, state: StateDir, warn: Callable[[str], None]) -> Loaded:
    """The blueprint at ``file``; when it does not load, the one last applied (after ``warn``
    names the error). Without an applied copy the error is raised as it is."""
    try:
        return load(file)
    except (ConfigError, ConfigErrors) as exc:
        applied = load_applied(state)
        if applied is None:
            raise
        loaded, when = applied
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(when))
        problems = exc.render().replace("\n", "\n    ")
        warn(
            f"the blueprint has errors, so lares works from the one `lares up` last applied "
            f"({stamp}):\n    {problems}\n  fix it (see `lares plan`) before the next `lares up`"
        )
        return loaded
