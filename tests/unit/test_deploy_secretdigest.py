"""The keyed digest label that makes a changed secret recreate exactly the containers reading it."""

from __future__ import annotations

import stat
from pathlib import Path

from lares.blueprint.load import load
from lares.deploy.files import store_for
from lares.deploy.secretdigest import KEY_FILE, LABEL, stamp
from lares.plan import plan
from lares.render import render_all
from lares.state import StateDir
from lares.yamlio import safe_load


def _labels(bundle: object) -> dict[str, str]:
    out = {}
    for path, file in bundle.files.items():  # type: ignore[attr-defined]
        if path.endswith("/compose.yaml"):
            for name, spec in (safe_load(file.content)["services"] or {}).items():
                if LABEL in (spec.get("labels") or {}):
                    out[name] = spec["labels"][LABEL]
    return out


def test_a_changed_secret_changes_only_its_readers_labels(tmp_path: Path) -> None:
    bundle = render_all(plan(load(None)).system)
    state = StateDir(tmp_path)
    store = store_for(state.live, state.secrets)
    for sid, spec in bundle.secrets.items():
        if not spec.provided:
            store.ensure(sid, spec)
    first = stamp(bundle, state)
    labels = _labels(first)
    readers = {c.path.split("/")[1] for c in bundle.copies}
    readers |= {e.path.split("/")[1].removesuffix(".env") for e in bundle.env_files}
    assert set(labels) == readers
    # the rest of every file is as rendered
    for path, file in bundle.files.items():
        if not path.endswith("/compose.yaml"):
            assert first.files[path] == file
    assert stamp(bundle, state).files == first.files  # stable
    key = tmp_path / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    changed = next(c for c in bundle.copies)
    store.set(changed.secret, "a new value")
    after = _labels(stamp(bundle, state))
    readers_of = {c.path.split("/")[1] for c in bundle.copies if c.secret == changed.secret} | {
        e.path.split("/")[1].removesuffix(".env")
        for e in bundle.env_files
        if any(f"{{secret:{changed.secret}}}" in t for t in e.variables.values())
    }
    assert {s for s in labels if labels[s] != after[s]} == readers_of
    text = "".join(f.content for f in stamp(bundle, state).files.values())
    assert "a new value" not in text

    # another installation (another key) gives other labels for the same values
    other = StateDir(tmp_path / "other")
    other.root.mkdir()
    (other.root / "secrets").symlink_to(state.secrets)
    assert _labels(stamp(bundle, other)).keys() == after.keys()
    assert set(_labels(stamp(bundle, other)).values()).isdisjoint(after.values())
