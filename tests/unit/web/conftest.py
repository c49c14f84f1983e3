"""Fixtures of the dashboard tests (see webkit for what they build)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lares.web.app import create_app
from lares.web.auth import Auth
from lares.web.data import Data, Settings
from web.webkit import PASSWORD, SECRET, TestClient, blueprint, fill_store, log_in


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Passwords hashed here use scrypt with p=1 (a tenth of the work; the line stored names it,
    so checking them is as cheap): these tests log in often."""
    monkeypatch.setattr("lares.web.auth._P", 1)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    root = tmp_path / "state"
    (root / "secrets").mkdir(parents=True, mode=0o700)
    (root / "secrets" / "db-password").write_text(SECRET + "\n")
    fill_store(root, time.time())
    Auth(root / "web").set_password(PASSWORD)
    return root


@pytest.fixture
def board_data(state: Path) -> Data:
    settings = Settings(state_dir=state)
    return Data(settings, loader=lambda s: blueprint(s.state_dir))


@pytest.fixture
def client(state: Path, board_data: Data) -> Iterator[TestClient]:
    app = create_app(board_data.settings, data=board_data, refresh=False, event_seconds=0.2)
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def session(client: TestClient) -> TestClient:
    assert log_in(client).status_code == 303
    return client
