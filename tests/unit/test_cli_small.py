"""Small things of the command line: --version, counts in the right number, where the
traceback of an internal error goes."""

from __future__ import annotations

import logging
import re
import stat
import tempfile
from collections.abc import Iterator
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
