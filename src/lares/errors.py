"""Errors a person can act on.

Every error lares raises on purpose is a :class:`LaresError`: it carries a stable ``code``, a
message that says what is wrong, an optional :class:`Location` (file:line:column or an object
path such as ``apps.nextcloud``) and a ``hint`` that says what to do. Commands raise them and
:func:`lares.cli.main` alone prints them, in compiler style, and exits with their ``exit_code``:
2 for bad usage or bad configuration, 1 for an operation that failed (:class:`Failed` when the
command has already said why); it never shows a traceback for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lares.plain import Plain


@dataclass(frozen=True, slots=True)
class Location(Plain):
    """Where something is: a file position, an object path, or both."""

    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    path: str | None = None  # dotted object path, e.g. "stacks.media.apps.sonarr"

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file:
            pos = self.file
            if self.line:
                pos += f":{self.line}"
                if self.column:
                    pos += f":{self.column}"
            parts.append(pos)
        if self.path:
            parts.append(self.path)
        return ": ".join(parts)


class LaresError(Exception):
    """Base of every error lares raises on purpose.

    ``exit_code`` is what the CLI exits with: 2 for bad usage or bad configuration, 1 for an
    operation that failed.
    """

    code = "error"
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        hint: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        if code:
            self.code = code

    def render(self) -> str:
        """The error as a person reads it: location first, then the message, then the hint."""
        from lares.severity import render_finding

        return render_finding(
            "error", self.code, self.message, location=self.location, hint=self.hint
        )

    def __str__(self) -> str:
        return self.render()

    def to_dict(self) -> dict[str, object]:
        """The error as data, in the shape of a plan finding (for ``--json``)."""
        return {
            "id": self.code,
            "severity": "error",
            "location": self.location.to_dict() if self.location else None,
            "message": self.message,
            "hint": self.hint,
        }

    def errors_dict(self) -> dict[str, object]:
        """What ``--json`` prints on stdout for this error: ``{"errors": [...]}``."""
        return {"errors": [self.to_dict()], "omitted": 0}


class ConfigError(LaresError):
    """One thing wrong with a blueprint or catalog file."""

    code = "config"
    exit_code = 2


#: How many problems one report lists; the rest are counted ("and 9950 more"). A file with
#: a hundred thousand unknown keys then prints a screenful, not megabytes.
MAX_ERRORS = 50


class ConfigErrors(LaresError):
    """Every problem found in a file, reported together: the first :data:`MAX_ERRORS` in file
    order, and how many more there are (``omitted``, plus any the caller already left out)."""

    code = "config"
    exit_code = 2

    def __init__(self, errors: Iterable[ConfigError], *, omitted: int = 0) -> None:
        ordered = sorted(
            errors,
            key=lambda e: (
                (e.location.file or "") if e.location else "",
                (e.location.line or 0) if e.location else 0,
                (e.location.column or 0) if e.location else 0,
            ),
        )
        self.errors = ordered[:MAX_ERRORS]
        self.omitted = omitted + len(ordered) - len(self.errors)
        count = len(self.errors) + self.omitted
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the configuration")

    def render(self) -> str:
        lines = [e.render() for e in self.errors]
        if self.omitted:
            lines.append(
                f"… and {self.omitted} more problem{'s' if self.omitted != 1 else ''} "
                f"(the first {len(self.errors)} are shown)"
            )
        return "\n".join(lines)

    def errors_dict(self) -> dict[str, object]:
        return {"errors": [e.to_dict() for e in self.errors], "omitted": self.omitted}


class UsageError(LaresError):
    """The command line asked for something that cannot be done as asked."""

    code = "usage"
    exit_code = 2


class UnknownCheck(UsageError):
    """``--check`` named a check that does not exist (`lares plan`, `lares doctor`)."""

    def __init__(
        self, unknown: Iterable[str], known: Iterable[str], *, kind: str = "check"
    ) -> None:
        super().__init__(
            f"there is no {kind} {', '.join(repr(u) for u in sorted(unknown))}",
            hint=f"the {kind}s are: " + ", ".join(sorted(known)),
        )


class Failed(LaresError):
    """A command that failed after it printed why (its findings, its table).

    :func:`lares.cli.main` prints the summary, if there is one, as the command's own output
    writes a failure (``✗ message`` and the hint), and exits with ``exit_code`` (1 unless told).
    ``errors`` are what ``--json`` prints on stdout (``{"errors": [...]}``); with neither a
    message nor errors nothing more is printed, as when `lares plan` has shown its findings.
    """

    code = "failed"

    def __init__(
        self,
        message: str = "",
        *,
        hint: str | None = None,
        exit_code: int = 1,
        errors: Iterable[dict[str, object]] | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = exit_code
        self.errors = list(errors) if errors is not None else ([self.to_dict()] if message else [])

    def render(self) -> str:
        if not self.message:
            return ""
        return f"✗ {self.message}" + (f"\n  hint: {self.hint}" if self.hint else "")

    def errors_dict(self) -> dict[str, object]:
        return {"errors": self.errors, "omitted": 0}


class CommandError(LaresError):
    """An external command failed. Names the command, its exit code and the tail of stderr."""

    code = "command-failed"

    def __init__(
        self,
        message: str,
        *,
        argv: tuple[str, ...] = (),
        returncode: int | None = None,
        stderr_tail: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.argv = argv
        self.returncode = returncode
        self.stderr_tail = stderr_tail

    def render(self) -> str:
        text = f"error [{self.code}] {self.message}"
        if self.stderr_tail:
            tail = "\n".join(f"  | {line}" for line in self.stderr_tail.splitlines())
            text += f"\n{tail}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ToolMissing(LaresError):
    """A program lares needs is not installed or too old."""

    code = "tool-missing"


class StateLocked(LaresError):
    """Another lares holds the state directory's lock."""

    code = "state-locked"
