"""Small things of the command line: --version, counts in the right number, where the
traceback of an internal error goes."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import Lares
from lares.cli import _debug_log
from lares.state import log_to
from lares.text import counted

SRC = Path(__file__).resolve().parents[2] / "src" / "lares"


def test_version_option_and_command_agree(lares: Lares) -> None:
    option = lares("--version")
    command = lares("version")
    assert option.returncode == 0 and command.returncode == 0
    assert re.fullmatch(r"lares \d+\.\d+\.\d+\S*\n", option.stdout)
    assert option.stdout == command.stdout


@pytest.mark.parametrize(
    ("group", "command"),
    [("backup", "restore"), ("secret", "set"), ("alerts", "test"), ("ca", "export")],
)
def test_a_command_group_without_a_command_shows_its_commands(
    lares: Lares, group: str, command: str
) -> None:
    ran = lares(group)
    assert ran.returncode == 2
    assert f"Usage: lares {group} [OPTIONS] COMMAND" in ran.stdout + ran.stderr
    assert "Commands:" in ran.stdout + ran.stderr and command in ran.stdout + ran.stderr
    assert "Missing command" not in ran.stdout + ran.stderr


def test_counts_take_the_number_they_count() -> None:
    assert counted(1, "stack") == "1 stack"
    assert counted(0, "stack") == "0 stacks"
    assert counted(2, "stack") == "2 stacks"
    assert counted(1.0, "device") == "1 device"
    assert counted(3, "entry", "entries") == "3 entries"


def test_no_message_counts_with_a_parenthesised_plural() -> None:
    """ "{n} stack(s)" reads badly for every n: messages use counted() instead."""
    pattern = re.compile(r"\{[^{}]+\} [a-z ]*?\w+\(s\)")
    found = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, "\n".join(found)


@pytest.fixture
def lares_log() -> Iterator[None]:
    logger = logging.getLogger("lares")
    yield
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler):
            logger.removeHandler(handler)
            handler.close()


def test_an_internal_error_log_goes_to_the_state_folder_private(
    tmp_path: Path, lares_log: None
) -> None:
    log_to(tmp_path / "state" / "logs")
    path = Path(_debug_log(RuntimeError("boom")))
    assert path.parent == tmp_path / "state" / "logs"
    assert path.name.startswith("debug-") and path.suffix == ".log"
    assert "RuntimeError: boom" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_an_internal_error_log_falls_back_to_the_temp_folder(
    tmp_path: Path, lares_log: None
) -> None:
    (tmp_path / "state").write_text("a file where the state folder should be")
    log_to(tmp_path / "state" / "logs")
    path = Path(_debug_log(RuntimeError("boom")))
    try:
        assert path.parent == Path(tempfile.gettempdir())
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "RuntimeError: boom" in path.read_text()
    finally:
        path.unlink()


def test_an_unknown_check_is_a_usage_error_for_plan_and_doctor(lares: Lares) -> None:
    plan = lares("plan", "--check", "nope")
    doctor = lares("doctor", "--check", "nope")
    assert (plan.returncode, doctor.returncode) == (2, 2)
    assert plan.stderr.startswith("error [usage] there is no check 'nope'\n")
    assert doctor.stderr.startswith("error [usage] there is no doctor check 'nope'\n")


def test_the_exit_codes_are_in_the_help(lares: Lares) -> None:
    proc = lares("--help")
    assert "Exit codes: 0 done" in proc.stdout and "2 bad usage" in proc.stdout


COMMAND_LINES = """\
import contextlib, io, json, sys
from lares.cli import main

def run(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main(list(argv))
        except SystemExit:
            pass
    return out.getvalue()

plan = run("plan", "--json")
loaded = sorted(m for m in sys.modules if m.startswith("lares.commands."))
run("backup", "--help")
run("capacity", "--help")
print(json.dumps({"plan": plan, "loaded": loaded, "help": run("--help")}))
"""


def test_a_command_imports_its_own_module_and_help_lists_every_command_in_order(
    run_lares: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """`lares plan` registers only commands/plan.py; after single commands, `lares --help`
    in the same process lists every command as a fresh `lares --help` does."""
    env = {**os.environ, "LARES_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.run(
        [sys.executable, "-c", COMMAND_LINES],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(proc.stdout)
    assert json.loads(found["plan"])["findings"] is not None
    assert found["loaded"] == ["lares.commands.options", "lares.commands.plan"]
    fresh = run_lares("--help")
    assert fresh.returncode == 0
    assert found["help"] == fresh.stdout
    assert "backup" in fresh.stdout and "capacity" in fresh.stdout
