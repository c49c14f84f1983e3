"""Golden files: the reference homelab as rendered, and as `lares plan` prints it.

``tests/golden/reference/`` holds every file of ``render_all(plan(load_reference()).system)``;
``tests/golden/reference.bundle.json`` the secrets, secret copies, env files and folders the
render asks for (never a value); ``tests/golden/plan-reference.txt`` the text of `lares plan`;
``tests/golden/swarm/`` the reference rendered with ``--target swarm``.

After an intended change, regenerate them and review the diff before committing:

    LARES_UPDATE_GOLDEN=1 python3 -m pytest tests/unit/test_golden.py -p no:cacheprovider
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import TESTS, LaresRunner
from lares.blueprint.load import load_reference
from lares.plan import plan
from lares.render import render_all
from lares.render.bundle import Bundle

UPDATE = os.environ.get("LARES_UPDATE_GOLDEN") == "1"
GOLDEN = TESTS / "golden"
REFERENCE_DIR = GOLDEN / "reference"
BUNDLE_JSON = GOLDEN / "reference.bundle.json"
PLAN_TEXT = GOLDEN / "plan-reference.txt"
SWARM_DIR = GOLDEN / "swarm"
GOLDEN_FILES = sorted(
    p.relative_to(REFERENCE_DIR).as_posix() for p in REFERENCE_DIR.rglob("*") if p.is_file()
)


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return render_all(plan(load_reference()).system)


def _diff(expected: str, actual: str, name: str) -> str:
    lines = difflib.unified_diff(
        expected.splitlines(keepends=True),
        actual.splitlines(keepends=True),
        f"golden/{name}",
        f"rendered/{name}",
    )
    return "".join(lines) + "\n(regenerate with LARES_UPDATE_GOLDEN=1 if the change is intended)"


def _manifest(bundle: Bundle) -> str:
    data = {
        "secrets": {sid: spec.model_dump() for sid, spec in sorted(bundle.secrets.items())},
        "copies": [dataclasses.asdict(c) for c in bundle.copies],
        "env_files": [dataclasses.asdict(e) for e in bundle.env_files],
        "dirs": [dataclasses.asdict(d) for d in bundle.dirs],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _write_tree(bundle: Bundle, root: Path = REFERENCE_DIR, prefix: str = "") -> None:
    if root.exists():
        shutil.rmtree(root)
    for path, file in bundle.files.items():
        target = root / path.removeprefix(prefix)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.content, encoding="utf-8")


def test_reference_renders_the_golden_set_of_files(bundle: Bundle) -> None:
    if UPDATE:
        _write_tree(bundle)
        BUNDLE_JSON.write_text(_manifest(bundle), encoding="utf-8")
    on_disk = sorted(
        p.relative_to(REFERENCE_DIR).as_posix() for p in REFERENCE_DIR.rglob("*") if p.is_file()
    )
    assert on_disk, "no golden files: run with LARES_UPDATE_GOLDEN=1 once"
    assert sorted(bundle.files) == on_disk


@pytest.mark.parametrize("path", GOLDEN_FILES)
def test_reference_file_matches_golden(bundle: Bundle, path: str) -> None:
    assert path in bundle.files, f"{path} is no longer rendered"
    expected = (REFERENCE_DIR / path).read_text(encoding="utf-8")
    actual = bundle.files[path].content
    assert actual == expected, _diff(expected, actual, path)


def test_reference_secrets_and_copies_match_golden(bundle: Bundle) -> None:
    actual = _manifest(bundle)
    expected = BUNDLE_JSON.read_text(encoding="utf-8")
    assert actual == expected, _diff(expected, actual, BUNDLE_JSON.name)


def test_reference_stacks_are_the_seed_stacks(bundle: Bundle) -> None:
    stacks = {path.split("/", 1)[0] for path in bundle.files if path.endswith("/compose.yaml")}
    assert stacks == {"infrastructure", "media", "productivity", "security"}
    assert "networks.yaml" in bundle.files


def test_plan_text_of_the_reference(run_lares: LaresRunner) -> None:
    proc = run_lares("plan")
    # what the person must provide is shown as warnings (test_cli_plan names them)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    if UPDATE:
        PLAN_TEXT.write_text(text, encoding="utf-8")
    # the lines that matter, each checked on its own so a layout change names what moved
    first = text.splitlines()[0]
    match = re.fullmatch(
        r"lares plan — the reference homelab: host nas, 4 stacks, (\d+) apps, (\d+) containers",
        first,
    )
    assert match, first
    assert int(match.group(2)) >= 35
    lines = [line.rstrip() for line in text.splitlines()]
    assert "Total RAM: 32.0 GB" in lines
    assert "├─ OS & System:           2.0 GB" in lines
    assert "├─ Docker Daemon:         1.0 GB" in lines
    assert any(line.startswith("├─ Containers:") and "reserved," in line for line in lines)
    assert any(line.startswith("└─ Cache & Buffer:") for line in lines)
    assert "mainpool (/media/mainpool): mdadm raid5 + btrfs" in lines
    assert "  devices   12 TB, 14 TB, 14 TB, 12 TB = 52.0 TB raw" in lines
    assert "  usable    36.0 TB (32.7 TiB), survives the loss of 1 drive" in lines
    assert "  unused    4.0 TB (mixed drive sizes)" in lines
    assert re.fullmatch(r"✓ 0 errors, \d+ warnings?, \d+ notes?", lines[-1]), lines[-1]
    assert text.count("error [") == 0
    assert text.count("warning [prerequisites]") == 7
    # and the whole text, as recorded
    expected = PLAN_TEXT.read_text(encoding="utf-8")
    assert text == expected, _diff(expected, text, PLAN_TEXT.name)


def test_golden_files_hold_no_secret_value(bundle: Bundle, tmp_path: Path) -> None:
    from lares.deploy.files import write_bundle

    write_bundle(bundle, tmp_path)
    values = {
        p.read_text(encoding="utf-8").strip()
        for p in (tmp_path / "secrets").rglob("*")
        if p.is_file() and not p.name.endswith(".env")
    } - {""}
    assert values
    golden = "".join(p.read_text(encoding="utf-8") for p in GOLDEN.rglob("*") if p.is_file())
    assert not [v for v in values if v in golden]


@pytest.fixture(scope="module")
def swarm_bundle() -> Bundle:
    bundle = render_all(plan(load_reference()).system, target="swarm")
    if UPDATE:
        _write_tree(bundle, SWARM_DIR, "swarm/")
    return bundle


def test_reference_for_swarm_matches_golden(swarm_bundle: Bundle) -> None:
    on_disk = sorted(
        p.relative_to(SWARM_DIR).as_posix() for p in SWARM_DIR.rglob("*") if p.is_file()
    )
    assert on_disk, "no golden files: run with LARES_UPDATE_GOLDEN=1 once"
    assert sorted(p.removeprefix("swarm/") for p in swarm_bundle.files) == on_disk
    for path in on_disk:
        expected = (SWARM_DIR / path).read_text(encoding="utf-8")
        actual = swarm_bundle.files[f"swarm/{path}"].content
        assert actual == expected, _diff(expected, actual, f"swarm/{path}")
