"""The dashboard's credentials: password hash, signed sessions, CSRF tokens, API tokens, the
login rate limit."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lares.web.auth import (
    KEY_FILE,
    PASSWORD_FILE,
    TOKENS_FILE,
    Auth,
    RateLimit,
    hash_password,
    verify_password,
)


def test_the_password_is_kept_as_an_scrypt_hash() -> None:
    stored = hash_password("hunter22")
    assert stored.startswith("scrypt$8192$8$1$") and "hunter22" not in stored
    assert verify_password(stored, "hunter22")
    assert not verify_password(stored, "hunter23")
    assert not verify_password("scrypt$bad", "hunter22")
    assert not verify_password("argon2$1$2$3$4$5", "hunter22")


def test_the_stored_setting_is_the_one_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real setting
    stored = hash_password("hunter22")
    assert stored.startswith("scrypt$8192$8$10$")
    monkeypatch.setattr("lares.web.auth._P", 1)
    assert verify_password(stored, "hunter22")  # checked with p=10, as stored


def test_files_are_private(tmp_path: Path) -> None:
    auth = Auth(tmp_path / "web")
    auth.set_password("hunter22")
    auth.new_session()
    token = auth.new_token()
    assert stat.S_IMODE((tmp_path / "web").stat().st_mode) == 0o700
    for name in (PASSWORD_FILE, KEY_FILE, TOKENS_FILE):
        assert stat.S_IMODE((tmp_path / "web" / name).stat().st_mode) == 0o600
    assert token not in (tmp_path / "web" / TOKENS_FILE).read_text()


def test_only_admin_with_the_password_gets_in(tmp_path: Path) -> None:
    auth = Auth(tmp_path)
    assert not auth.password_set()
    assert not auth.check("admin", "")
    auth.set_password("hunter22")
    assert auth.check("admin", "hunter22")
    assert not auth.check("root", "hunter22")
    assert not auth.check("admin", "hunter2")


def test_a_generated_password_is_shown_once_and_works(tmp_path: Path) -> None:
    auth = Auth(tmp_path)
    password = auth.generate_password()
    assert len(password) >= 16
    assert password not in (tmp_path / PASSWORD_FILE).read_text()
    assert Auth(tmp_path).check("admin", password)


def test_sessions_are_signed_expire_and_end(tmp_path: Path) -> None:
    auth = Auth(tmp_path)
    auth.set_password("hunter22")
    cookie = auth.new_session(now=1000.0)
    sid = auth.session(cookie, now=1001.0)
    assert sid and cookie.startswith(sid + ".")
    sid_part, issued, signature = cookie.split(".")
    assert auth.session(f"{sid_part}.{int(issued) + 1}.{signature}", now=1001.0) is None
    assert auth.session(f"x{sid_part}.{issued}.{signature}", now=1001.0) is None
    assert auth.session(cookie[:-2], now=1001.0) is None
    assert auth.session("", now=1001.0) is None and auth.session(None) is None
    assert auth.session(cookie, now=1000.0 + 8 * 86400) is None
    # another process with the same files accepts it; a new password ends it
    assert Auth(tmp_path).session(cookie, now=1001.0) == sid
    fresh = auth.new_session()
    auth.end_session(fresh)
    assert auth.session(fresh) is None
    auth.set_password("another one")
    assert auth.session(cookie, now=1001.0) is None


def test_csrf_tokens_belong_to_one_session(tmp_path: Path) -> None:
    auth = Auth(tmp_path)
    one, two = auth.csrf("a"), auth.csrf("b")
    assert one != two and auth.csrf("a") == one
    assert auth.csrf_ok(one, one)
    assert not auth.csrf_ok(one, two)
    assert not auth.csrf_ok(one, None)
    assert not auth.csrf_ok(one, "")
    assert auth.login_csrf("a") != one


def test_api_tokens(tmp_path: Path) -> None:
    auth = Auth(tmp_path)
    assert not auth.token_ok("lares_nothing")
    first, second = auth.new_token(), auth.new_token()
    assert first.startswith("lares_") and first != second
    other = Auth(tmp_path)
    assert other.token_ok(first) and other.token_ok(second)
    assert not other.token_ok(first + "x") and not other.token_ok("") and not other.token_ok(None)


def test_more_than_five_failures_wait_for_the_window() -> None:
    limit = RateLimit()
    for n in range(5):
        assert limit.retry_after("10.0.0.9", now=100.0 + n) is None
        limit.failed("10.0.0.9", now=100.0 + n)
    wait = limit.retry_after("10.0.0.9", now=105.0)
    assert wait is not None and 290 <= wait <= 300
    assert limit.retry_after("10.0.0.8", now=105.0) is None  # per client address
    assert limit.retry_after("10.0.0.9", now=100.0 + 301) is None  # the oldest aged out
    limit.succeeded("10.0.0.9")
    assert limit.retry_after("10.0.0.9", now=106.0) is None
