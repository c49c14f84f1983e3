"""`lares audit FILE`: every container rule on a compose file that breaks it and on a near
miss, both loaded as lares loads them (read in Python; test_audit_native shows the real Compose
binary gives the same containers); bad input; exit codes; the reference render."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from integration.lares_lab import lares_process
from lares.audit.actions import audit_files
from lares.audit.rules import discover
from lares.audit.targets import AuditInputError

from .audit_cases import BASE, CASES, patched

REPO = Path(__file__).resolve().parents[2]
CONTAINER_RULES = sorted(r.id for r in discover().values() if r.target == "container")


def _write(folder: Path, name: str, service: dict[str, Any], text: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": f"lt-audit-{name}", "services": {"app": service}}))
    return path


def test_every_container_rule_has_a_case() -> None:
    assert sorted(c.rule for c in CASES) == CONTAINER_RULES


def test_the_base_breaks_no_container_rule(tmp_path: Path) -> None:
    report = audit_files([_write(tmp_path, "base", BASE)])
    assert [(f.rule, f.message) for f in report.findings] == []


@pytest.fixture(scope="module")
def case_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every trigger and near-miss file, audited in one call (as a person would)."""
    folder = tmp_path_factory.mktemp("lares-test-audit-cases")
    paths = []
    for case in CASES:
        paths.append(_write(folder, f"{case.rule}-trigger", patched(BASE, case.trigger)))
        paths.append(_write(folder, f"{case.rule}-miss", patched(BASE, case.near_miss)))
    report = audit_files(paths)
    by_file: dict[str, set[str]] = {str(p): set() for p in paths}
    for f in report.findings:
        by_file[f.source].add(f.rule)
    return {Path(k).stem: v for k, v in by_file.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_rule_triggers_on_its_file_and_not_on_the_near_miss(
    case: Any, case_reports: dict[str, set[str]]
) -> None:
    assert case.rule in case_reports[f"{case.rule}-trigger"]
    assert case.rule not in case_reports[f"{case.rule}-miss"], case_reports[f"{case.rule}-miss"]


def test_compose_resolves_env_file_extends_and_profiles(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TAG=latest\n")
    (tmp_path / "app.env").write_text("API_TOKEN=abc123def\n")
    (tmp_path / "base.yaml").write_text(
        yaml.safe_dump({"services": {"common": {"image": "busybox:1.36", "privileged": True}}})
    )
    (tmp_path / "compose.yaml").write_text(
        yaml.safe_dump(
            {
                "services": {
                    "web": {
                        "image": "nginx:${TAG}",
                        "env_file": ["app.env"],
                        "extends": {"file": "base.yaml", "service": "common"},
                    },
                    "debug": {"image": "busybox:1.36", "profiles": ["debug"], "pid": "host"},
                }
            }
        )
    )
    report = audit_files([tmp_path])  # a folder: its compose.yaml
    rules = {(f.app, f.rule) for f in report.findings}
    assert ("web", "image-latest") in rules  # ${TAG} from .env
    assert ("web", "secret-in-env") in rules  # from env_file
    assert ("web", "privileged") in rules  # from extends
    assert "debug" in {f.app for f in report.findings}  # a profile is audited too
    assert "abc123def" not in json.dumps(report.to_dict())


def test_findings_point_at_the_service_line(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(
        "services:\n  one:\n    image: a:1\n    depends_on:\n      two:\n"
        "        condition: service_started\n  two:\n    image: b\n"
    )
    report = audit_files([path])
    assert {f.line for f in report.findings if f.app == "two"} == {7}
    assert {f.line for f in report.findings if f.app == "one"} == {2}


def test_bad_files_are_reported_together_and_nothing_is_audited(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("services:\n  a:\n    image: [unclosed\n")
    with pytest.raises(AuditInputError) as err:
        audit_files([broken, tmp_path / "missing.yaml", tmp_path])
    text = str(err.value)
    assert f"{broken}: docker compose cannot load it" in text
    assert f"{tmp_path / 'missing.yaml'}: no such file or folder" in text
    assert f"{tmp_path}: no compose file in this folder" in text


def _lares(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), LARES_STATE_DIR=str(cwd / "state"))
    return lares_process("audit", *args, cwd=cwd, env=env, timeout=120)


def test_cli_fail_on_and_formats(tmp_path: Path) -> None:
    path = _write(tmp_path, "cli", patched(BASE, {"user": None}))  # root-user: medium
    assert _lares(str(path), "--fail-on", "high", cwd=tmp_path).returncode == 0
    failing = _lares(str(path), "--fail-on", "medium", cwd=tmp_path)
    assert failing.returncode == 1
    assert "root-user" in failing.stdout and "fix: user: UID:GID" in failing.stdout
    data = json.loads(_lares(str(path), "--json", cwd=tmp_path).stdout)
    assert [f["rule"] for f in data["findings"]] == ["root-user"]
    sarif = json.loads(_lares(str(path), "--format", "sarif", cwd=tmp_path).stdout)
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["root-user"]
    table = json.loads(_lares("--rules", "--json", cwd=tmp_path).stdout)
    assert sorted(r["id"] for r in table) == sorted(discover())
    assert "CIS" in _lares("--rules", cwd=tmp_path).stdout
    bad = _lares(str(path), "--fail-on", "severe", cwd=tmp_path)
    assert bad.returncode == 2 and "--fail-on 'severe' is not a severity" in bad.stderr
    missing = _lares(str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "nope.yaml: no such file or folder" in missing.stderr


def test_reference_render_has_nothing_open_at_high_and_every_acceptance_has_a_reason(
    tmp_path: Path,
) -> None:
    result = _lares("--json", "--no-drift", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["containers"] >= 30
    high = [f for f in data["findings"] if f["severity"] in ("high", "critical")]
    assert high == []
    assert data["accepted"], "the catalog's exceptions should show as accepted"
    for f in data["accepted"]:
        assert f["accepted_by"] == "catalog" and len(f["accepted"]) >= 10, f
    table = _lares("--no-drift", cwd=tmp_path).stdout
    assert f"accepted ({len(data['accepted'])}), each with its reason:" in table
    assert all(f"catalog: {f['accepted']}" in table for f in data["accepted"])
    assert _lares("--no-drift", "--fail-on", "high", cwd=tmp_path).returncode == 0
    # no secret's value reaches the report, only placeholders lares itself wrote
    assert "lares-audit-placeholder" not in result.stdout
    # qBittorrent's VPN reads its WireGuard key from the file *_SECRETFILE names: no literal
    assert "WIREGUARD_PRIVATE_KEY_SECRETFILE" not in result.stdout


def _blueprint(tmp_path: Path, accept: list[dict[str, str]]) -> Path:
    text = (REPO / "src" / "lares" / "blueprint" / "reference.yaml").read_text()
    path = tmp_path / "lares.yaml"
    path.write_text(text + "\n" + yaml.safe_dump({"audit": {"accept": accept}}))
    return path


def test_the_blueprint_accepts_a_finding_with_its_reason(tmp_path: Path) -> None:
    reason = "Caddy owns 80 and 443 on this host: it is the reverse proxy"
    path = _blueprint(tmp_path, [{"rule": "privileged-port", "app": "caddy", "reason": reason}])
    data = json.loads(_lares("-f", str(path), "--json", "--no-drift", cwd=tmp_path).stdout)
    assert not [f for f in data["findings"] if f["rule"] == "privileged-port"]
    mine = [f for f in data["accepted"] if f["rule"] == "privileged-port"]
    assert mine and all(f["accepted_by"] == "blueprint" and f["accepted"] == reason for f in mine)
    sarif = json.loads(
        _lares("-f", str(path), "--format", "sarif", "--no-drift", cwd=tmp_path).stdout
    )
    just = {
        s["justification"]
        for r in sarif["runs"][0]["results"]
        if r["ruleId"] == "privileged-port"
        for s in r.get("suppressions", [])
    }
    assert just == {reason}


def test_an_acceptance_needs_a_known_rule_and_a_reason(tmp_path: Path) -> None:
    unknown = _blueprint(tmp_path, [{"rule": "no-such-rule", "app": "caddy", "reason": "x" * 12}])
    result = _lares("-f", str(unknown), "--no-drift", cwd=tmp_path)
    assert result.returncode == 2
    assert "audit.accept[0]: there is no audit rule 'no-such-rule'" in result.stderr
    assert "lares.yaml:" in result.stderr and "Traceback" not in result.stderr
    silent = _blueprint(tmp_path, [{"rule": "root-user", "app": "caddy", "reason": "ok"}])
    result = _lares("-f", str(silent), "--no-drift", cwd=tmp_path)
    assert result.returncode == 2 and "reason" in result.stderr


def test_public_apps_weigh_more_than_their_databases(tmp_path: Path) -> None:
    data = json.loads(_lares("--json", "--no-drift", cwd=tmp_path).stdout)
    every = data["findings"] + data["accepted"]
    web = [f for f in every if f["container"] == "nextcloud" and f["rule"] == "capability-added"]
    db = [f for f in every if f["container"] == "nextcloud-db" and f["rule"] == "capability-added"]
    assert web[0]["severity"] == "medium" and web[0]["raised"] == ["published through the tunnel"]
    assert db[0]["severity"] == "low" and db[0]["raised"] == []


def test_host_files_among_the_paths_are_read_as_such(tmp_path: Path) -> None:
    (tmp_path / "daemon.json").write_text('{"live-restore": true, "icc": false}\n')
    (tmp_path / "sshd_config").write_text("PermitRootLogin yes\nPasswordAuthentication no\n")
    (tmp_path / "ufw.sh").write_text("ufw default deny incoming\nufw allow 22/tcp\n")
    report = audit_files([tmp_path / n for n in ("daemon.json", "sshd_config", "ufw.sh")])
    found = {(f.rule, f.source) for f in report.findings}
    assert found == {
        ("daemon-log-rotation", str(tmp_path / "daemon.json")),
        ("daemon-userland-proxy", str(tmp_path / "daemon.json")),
        ("daemon-no-new-privileges", str(tmp_path / "daemon.json")),
        ("sshd-root-login", str(tmp_path / "sshd_config")),
        ("ufw-ssh-anywhere", str(tmp_path / "ufw.sh")),
    }
    (tmp_path / "daemon.json").write_text('{"live-restore": true,\n}\n')
    with pytest.raises(AuditInputError, match=r"daemon.json:2:1: not valid JSON"):
        audit_files([tmp_path / "daemon.json"])


def test_findings_on_a_blueprint_point_at_the_app_in_it(tmp_path: Path) -> None:
    path = _blueprint(tmp_path, [])
    data = json.loads(_lares("-f", str(path), "--json", "--no-drift", cwd=tmp_path).stdout)
    caddy = [f for f in data["findings"] if f["app"] == "caddy"]
    line = next(
        n for n, t in enumerate(path.read_text().splitlines(), 1) if t.strip().startswith("caddy:")
    )
    assert caddy and {(f["source"], f["line"]) for f in caddy} == {(str(path), line)}
