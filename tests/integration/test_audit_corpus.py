"""The corpus of real compose files, audited and compared with compose-lint's findings.

Every difference between the two is either a rule compose-lint lacks (a lares rule naming no
compose-lint id) or explained in ``tests/data/audit/compose-lint-differences.yaml``; an
explanation that no longer matches a difference fails too, so the table stays true.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from integration.lares_lab import lares_process
from lares.audit.actions import audit_files
from lares.audit.rules import discover

DATA = Path(__file__).resolve().parents[1] / "data" / "audit"
#: The real homelab compose files of shared/corpus (with SOURCES.md), beside the repository.
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
if not CORPUS.is_dir():
    pytest.skip("no shared/ checkout beside the repo", allow_module_level=True)
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".yml", ".yaml"))

Key = tuple[str, str, str]  # file, service, compose-lint id


def compose_lint(files: list[Path]) -> set[Key]:
    proc = subprocess.run(
        ["compose-lint", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    found = json.loads(proc.stdout)["findings"]
    return {
        (Path(f.get("graded_file") or f["file"]).name, f["service"], f["rule_id"]) for f in found
    }


def differences(files: list[Path]) -> tuple[set[Key], set[Key], int]:
    """(lares only, compose-lint only, findings lares has that compose-lint has no rule for)."""
    rules = discover()
    theirs = compose_lint(files)
    ours: set[Key] = set()
    lacking = 0
    for f in audit_files(files).findings:
        ids = rules[f.rule].compose_lint
        if not ids:
            lacking += 1
            continue
        name = Path(f.source).name
        match = [i for i in ids if (name, f.app, i) in theirs]
        ours.update((name, f.app, i) for i in (match or ids[:1]))
    covered = {i for r in rules.values() for i in r.compose_lint}
    lares_only = {k for k in ours if k not in theirs}
    # a compose-lint rule lares also has, on a service lares did not flag with it
    lint_only = {k for k in theirs if k[2] in covered and k not in ours}
    lint_only |= {k for k in theirs if k[2] not in covered}
    return lares_only, lint_only, lacking


def explained() -> dict[str, set[Key]]:
    table = yaml.safe_load((DATA / "compose-lint-differences.yaml").read_text())
    out: dict[str, set[Key]] = {"lares-only": set(), "compose-lint-only": set()}
    for entry in table:
        assert len(entry["why"]) > 20, entry
        for service in entry["services"]:
            out[entry["side"]].add((entry["file"], service, entry["compose_lint"]))
    return out


def test_every_difference_with_compose_lint_is_explained() -> None:
    assert len(FILES) == 18
    lares_only, lint_only, lacking = differences(FILES)
    table = explained()
    assert sorted(lares_only - table["lares-only"]) == []
    assert sorted(lint_only - table["compose-lint-only"]) == []
    assert sorted(table["lares-only"] - lares_only) == [], "stale explanation"
    assert sorted(table["compose-lint-only"] - lint_only) == [], "stale explanation"
    assert lacking > 0  # restart, healthcheck, weak defaults, low ports: rules compose-lint lacks


def test_a_secret_file_path_is_not_a_literal_credential(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "services": {
                    "app": {
                        "image": "app:1",
                        "environment": {
                            "PAPERLESS_ADMIN_SECRETFILE": "/run/secrets/admin",
                            "POSTGRES_PASSWORD_FILE": "/run/secrets/db",
                            "DB_PASSWORD": "${DB_PASSWORD}",
                        },
                    }
                }
            }
        )
    )
    rules = {f.rule for f in audit_files([path]).findings}
    assert "secret-in-env" not in rules


def test_on_the_reference_render_compose_lint_takes_a_secret_file_for_a_secret(
    tmp_path: Path,
) -> None:
    import os

    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(repo / "src"), LARES_STATE_DIR=str(tmp_path / "s"))
    lares_process("render", "-o", str(tmp_path / "out"), env=env, timeout=120, check=True)
    stacks = sorted((tmp_path / "out").glob("*/compose.yaml"))
    flagged = {(s, r) for _, s, r in compose_lint(stacks)}
    assert ("qbittorrent-gluetun", "CL-0020") in flagged  # WIREGUARD_PRIVATE_KEY_SECRETFILE
    ours = audit_files(stacks).findings
    gluetun = [f for f in ours if f.container == "qbittorrent-gluetun"]
    assert gluetun and not [f for f in gluetun if f.rule == "secret-in-env"]
