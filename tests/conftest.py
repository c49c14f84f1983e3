"""Shared test fixtures: blueprints built as YAML text (so every location is real), and a runner
for the `lares` command line.

``lares("plan", "--json")`` runs the command line in this process (see :func:`lares`);
``run_lares`` runs it as a separate process, for what only a process shows.

``kit.text(...)`` starts from ``tests/data/blueprints/minimal.yaml`` (a blueprint that plans
without a single finding, on the small test catalog in ``tests/data/catalog``) and replaces,
adds or drops top-level sections. ``kit.load`` and ``kit.plan`` run the real loader and planner
on that text under the file name ``test.yaml``, against the test catalog alone (so these tests
do not depend on the embedded catalog); ``kit.where`` finds the line and column of a
piece of the text, for asserting that an error points at the offending key.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lares.blueprint.load import Loaded, load_text
from lares.catalog.load import Catalog
from lares.catalog.model import App
from lares.plan import Plan, plan
from lares.plan.findings import Finding

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
BLUEPRINTS = DATA / "blueprints"
TEST_CATALOG = DATA / "catalog"
MINIMAL = BLUEPRINTS / "minimal.yaml"
FILENAME = "test.yaml"


@functools.cache
def load_test_catalog() -> Catalog:
    """Only the apps of tests/data/catalog: check tests do not depend on the embedded ones."""
    from lares.yamlio import read_yaml, validate

    apps: dict[str, App] = {}
    sources: dict[str, str] = {}
    data: dict[str, Any] = {}
    for path in sorted(TEST_CATALOG.glob("*.yaml")):
        data[path.stem] = read_yaml(path)
        app = validate(App, data[path.stem], filename=str(path), what="app definition")
        assert app.id == path.stem, f"{path}: id {app.id} does not match the file name"
        apps[app.id] = app
        sources[app.id] = str(path)
    return Catalog(apps, sources, data)


_TOP = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*):(.*)$")


def split_sections(text: str) -> tuple[str, dict[str, str]]:
    """The leading comment block and each top-level ``key:`` section of ``text``, in order."""
    head: list[str] = []
    sections: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines(keepends=True):
        match = _TOP.match(line)
        if match:
            current = match.group(1)
            sections[current] = line
        elif current is None:
            head.append(line)
        else:
            sections[current] += line
    return "".join(head), sections


def solo_blueprint_text(app_id: str, network: str = "media") -> str:
    """The reference blueprint with its stacks replaced by one stack holding ``app_id`` alone
    (and without its scheduled updates)."""
    from lares.blueprint.load import reference_text

    head, sections = split_sections(reference_text())
    sections["stacks"] = (
        f"stacks:\n  solo:\n    network: {network}\n    apps:\n      {app_id}: {{}}\n"
    )
    sections.pop("updates", None)  # its exclusions name apps of the whole reference
    return head + "".join(sections.values())


@dataclass(frozen=True)
class BlueprintKit:
    """Builds, loads and plans blueprint text (see the module docstring)."""

    base_dir: Path = BLUEPRINTS

    def text(self, **sections: str | None) -> str:
        """The minimal blueprint with top-level sections replaced.

        A value with a newline is a block (dedented, then indented under the key); one without
        is written inline (``key: value``); ``None`` drops the section. Unknown names are added
        at the end, in the order given.
        """
        head, current = split_sections(MINIMAL.read_text(encoding="utf-8"))
        for name, body in sections.items():
            if body is None:
                current.pop(name, None)
            elif "\n" in body:
                block = textwrap.indent(textwrap.dedent(body).strip("\n"), "  ")
                current[name] = f"{name}:\n{block}\n"
            else:
                current[name] = f"{name}: {body}\n"
        return head + "".join(current.values())

    def load(self, text: str, *, env: dict[str, str] | None = None) -> Loaded:
        return load_text(text, filename=FILENAME, base_dir=self.base_dir, env=env or {})

    def plan(self, text: str, *, only: Iterable[str] = ()) -> Plan:
        return plan(self.load(text), catalog=load_test_catalog(), only=only)

    def findings(self, text: str, check_id: str) -> list[Finding]:
        """The findings of one check on ``text``."""
        return [f for f in self.plan(text, only=[check_id]).findings if f.id == check_id]

    @staticmethod
    def at(finding: Finding) -> tuple[str | None, int | None, int | None]:
        """Where ``finding`` points: (file, line, column)."""
        loc = finding.location
        assert loc is not None, f"{finding.render()} has no location"
        return loc.file, loc.line, loc.column

    def pos(self, text: str, needle: str, nth: int = 1) -> tuple[str, int, int]:
        """(file, line, column) of ``needle`` in ``text``, to compare with :meth:`at`."""
        return (FILENAME, *self.where(text, needle, nth))

    @staticmethod
    def where(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
        """1-based (line, column) of the ``nth`` occurrence of ``needle`` in ``text``.

        Leading whitespace of ``needle`` (newlines and indentation, given to make it unique) is
        skipped: the position is that of its first visible character.
        """
        start = -1
        for _ in range(nth):
            start = text.index(needle, start + 1)
        start += len(needle) - len(needle.lstrip())
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        return line, column


@pytest.fixture
def kit() -> BlueprintKit:
    """Build blueprint text from the minimal blueprint, load it and plan it."""
    return BlueprintKit()


@pytest.fixture
def minimal_text() -> str:
    """The text of tests/data/blueprints/minimal.yaml."""
    return MINIMAL.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Ran:
    """What one in-process run of `lares` did: its exit code and what it printed."""

    returncode: int
    stdout: str
    stderr: str
    args: tuple[str, ...] = field(default=())

    @functools.cached_property
    def json(self) -> Any:
        """stdout parsed as JSON (the run had --json); fails the test when it is not JSON."""
        import json

        try:
            return json.loads(self.stdout)
        except ValueError:
            pytest.fail(f"lares {' '.join(self.args)} printed no JSON:\n{self.stdout}{self.stderr}")


Lares = Callable[..., Ran]


@pytest.fixture
def lares(tmp_path: Path) -> Lares:
    """Run the ``lares`` command line in this process, as :func:`lares.cli.main` does: errors
    printed and exit codes picked as a person sees them.

    ``lares("plan", "--json", cwd=..., input=..., env={...})`` returns a :class:`Ran`:
    ``returncode``, ``stdout``, ``stderr`` (text) and ``json`` (stdout parsed). It runs in
    ``tmp_path`` unless told otherwise (so no ./lares.yaml is found by accident), with its state
    folder under ``tmp_path``, no other ``LARES_*`` variable, no colour and a wide terminal.
    """
    import logging

    from click.testing import CliRunner

    from lares.cli import main

    state = tmp_path / "lares-state"

    def run(
        *args: str,
        cwd: Path | None = None,
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Ran:
        overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("LARES_")}
        overrides.update({"LARES_STATE_DIR": str(state), "COLUMNS": "200", "NO_COLOR": "1"})
        # end-of-life findings depend on the day: the recorded outputs are of this one
        overrides.update({"LARES_TODAY": "2026-12-02", "FORCE_COLOR": None, **(env or {})})
        logger = logging.getLogger("lares")
        handlers = list(logger.handlers)
        here = Path.cwd()
        os.chdir(cwd or tmp_path)
        try:
            with CliRunner().isolation(input=input, env=overrides) as (out, err, _):
                try:
                    main(list(args))
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
                else:
                    code = 0
                sys.stdout.flush()
                sys.stderr.flush()
                stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
        finally:
            os.chdir(here)
            for handler in logger.handlers:  # the run's own handlers go; the test's come back
                if handler not in handlers:
                    handler.close()
            logger.handlers[:] = handlers
        return Ran(code, stdout, stderr, args)

    return run


LaresRunner = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def run_lares(tmp_path: Path) -> LaresRunner:
    """Run the ``lares`` command line as a separate process, the way a person does (use
    :func:`lares` unless the test needs a process: a timeout, a signal, the start-up itself).

    ``run_lares("plan", "--json", cwd=..., input=...)`` returns the finished process (text
    stdout/stderr). It runs in ``tmp_path`` unless told otherwise (so no ./lares.yaml is found by
    accident), with its state folder under ``tmp_path`` and a wide terminal so Rich does not wrap.
    """
    state = tmp_path / "lares-state"

    def run(
        *args: str, cwd: Path | None = None, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LARES_")}
        env.update({"LARES_STATE_DIR": str(state), "COLUMNS": "200", "NO_COLOR": "1"})
        # end-of-life findings depend on the day: the recorded outputs are of this one
        env["LARES_TODAY"] = "2026-12-02"
        env.pop("FORCE_COLOR", None)
        return subprocess.run(
            [sys.executable, "-m", "lares", *args],
            cwd=cwd or tmp_path,
            env=env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run
