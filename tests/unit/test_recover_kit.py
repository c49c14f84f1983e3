"""The recovery kit without a machine: its forms read back, what it holds, when plan warns."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lares.blueprint.load import load_text
from lares.errors import LaresError, UsageError
from lares.recover import kit as kits
from lares.secrets import SecretStore
from lares.state import StateDir

BLUEPRINT = """\
version: 1
host: {name: lt-host, cpu: {cores: 2, threads: 2}, memory: 4GiB, timezone: Etc/UTC}
paths: {appdata: /srv/appdata, pool: /srv/pool}
network: {lan: 192.168.77.0/24, host_address: 192.168.77.2}
stacks: {main: {apps: []}}
backup:
  repositories:
    local: {url: /srv/restic}
    offsite:
      url: "s3:http://s3.example.net/bucket"
      copy_from: local
      env: {AWS_DEFAULT_REGION: eu-west-1}
      secret_env: {AWS_ACCESS_KEY_ID: s3-id, AWS_SECRET_ACCESS_KEY: s3-key}
"""
WHEN = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)


def _setup(tmp_path: Path) -> tuple[object, SecretStore, StateDir]:
    loaded = load_text(BLUEPRINT, filename="lares.yaml")
    state = StateDir(tmp_path / "state")
    store = SecretStore(state.secrets)
    state.secrets.mkdir(parents=True, mode=0o700)
    store.set("restic_local", "local-Pass-1a2b3c")
    store.set("restic_offsite", "offsite-Pass-4d5e6f")
    store.set("s3-key", "S3-SECRET-never-in-kit")
    store.set("s3-id", "S3-ID-never-in-kit")
    return loaded.blueprint, store, state


def test_kit_holds_passwords_and_only_names_of_the_other_secrets(tmp_path: Path) -> None:
    blueprint, store, _ = _setup(tmp_path)
    kit = kits.build(blueprint, store, now=WHEN)
    text = kits.text(kit)
    page = kits.html(kit)
    for form in (text, page):
        assert "local-Pass-1a2b3c" in form
        assert "offsite-Pass-4d5e6f" in form
        assert "S3-SECRET-never-in-kit" not in form
        assert "S3-ID-never-in-kit" not in form
        assert "AWS_SECRET_ACCESS_KEY" in form
    assert "lares secret s3-key" in text
    assert "<svg" in page  # the QR code
    # offsite first: the local repository most likely died with the machine
    assert text.index("Repository offsite") < text.index("Repository local")
    summary = json.dumps(kit.summary())
    assert "Pass" not in summary and "s3.example.net" not in summary


@pytest.mark.parametrize("form", ["text", "html", "json"])
def test_every_form_reads_back(tmp_path: Path, form: str) -> None:
    blueprint, store, _ = _setup(tmp_path)
    kit = kits.build(blueprint, store, now=WHEN)
    content = {"text": kits.text, "html": kits.html, "json": kits.to_json}[form](kit)
    assert kits.parse(content) == kit


def test_a_damaged_or_foreign_kit_is_refused_clearly() -> None:
    with pytest.raises(UsageError, match="is not a lares recovery kit"):
        kits.parse("hello", where="k.txt")
    with pytest.raises(UsageError, match="is not a lares recovery kit of format 1"):
        kits.parse('{"something": 1}')
    with pytest.raises(UsageError, match="damaged"):
        kits.parse('{"lares_recovery_kit": 1, "host": "h", "made": "x", "repositories": [{}]}')


def test_a_repository_without_password_cannot_be_in_a_kit(tmp_path: Path) -> None:
    blueprint, store, _ = _setup(tmp_path)
    store.path("restic_offsite").unlink()
    with pytest.raises(LaresError, match="no password yet for the repository offsite"):
        kits.build(blueprint, store)


def test_plan_warns_until_a_kit_is_made_and_again_when_a_password_changes(
    tmp_path: Path,
) -> None:
    blueprint, store, state = _setup(tmp_path)
    assert kits.staleness(blueprint, store, None) == (
        "no recovery kit has been made for this server's repositories"
    )
    kit = kits.build(blueprint, store, now=WHEN)
    kits.remember(state, store, kit, ["kit.txt"])
    record = state.read_json(kits.RECORD)
    assert kits.staleness(blueprint, store, record) is None
    # the record holds a keyed digest, never a value
    raw = (state.root / kits.RECORD).read_text()
    assert "Pass" not in raw
    assert oct((state.root / kits.RECORD).stat().st_mode & 0o777) == "0o600"
    store.set("restic_offsite", "offsite-Pass-changed")
    why = kits.staleness(blueprint, store, record)
    assert why is not None and "no longer opens the repositories" in why
    # before any repository has a password there is nothing to warn about
    for name in ("restic_local", "restic_offsite"):
        store.path(name).unlink()
    assert kits.staleness(blueprint, store, None) is None
