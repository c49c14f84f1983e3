"""lares's log follows the state folder a command opens, and never holds a secret."""

from __future__ import annotations

import logging
from pathlib import Path

from lares import run
from lares.state import StateDir, log_to


def test_log_follows_the_state_folder_and_masks_secrets(tmp_path: Path) -> None:
    logger = logging.getLogger("lares")
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    log_to(tmp_path / "default" / "logs")
    try:
        state = StateDir.open(tmp_path / "mine")
        run.run(["echo", "token-1234567890"], secrets=["token-1234567890"])
        for handler in logger.handlers:
            handler.flush()
        text = (state.logs / "lares.log").read_text()
        assert "run: echo ******" in text
        assert "token-1234567890" not in text
        assert not (tmp_path / "default" / "logs" / "lares.log").exists()
        assert sum(isinstance(h, logging.FileHandler) for h in logger.handlers) == 1
    finally:
        for handler in list(logger.handlers):
            if isinstance(handler, logging.FileHandler):
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(old_level)
