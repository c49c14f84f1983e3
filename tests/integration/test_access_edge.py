"""The VPS bundle passes `docker compose config`; `lares doctor` tells the truth about this
machine; `lares render` writes the edge and host targets."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

from conftest import Lares
from lares.blueprint.load import load
from lares.deploy.files import write_bundle
from lares.plan import make_context
from lares.render import render_all
from lares.render.tunnel import DOCUMENTED
from lares.yamlio import safe_load

DATA = Path(__file__).resolve().parents[1] / "data" / "access"


def test_edge_bundle_passes_docker_compose_config(tmp_path: Path) -> None:
    system = make_context(load(DATA / "blueprint.yaml")).system
    written = write_bundle(render_all(system, target="edge"), tmp_path)
    assert "compose.yaml" in written.files
    result = subprocess.run(
        ["docker", "compose", "-f", str(tmp_path / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    env = tmp_path / "secrets" / "pangolin.env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    secret = env.read_text().strip().split("=", 1)[1]
    assert len(secret) == 48
    for path in written.files:
        assert secret not in (tmp_path / path).read_text()


def test_rendered_pangolin_blueprint_uses_documented_fields_only(
    lares: Lares, tmp_path: Path
) -> None:
    result = lares("render", "-f", str(DATA / "blueprint.yaml"), "-o", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    doc = safe_load((tmp_path / "infrastructure" / "newt" / "blueprint.yaml").read_text())
    assert set(doc) <= DOCUMENTED["top"]
    for resource in doc["public-resources"].values():
        assert set(resource) <= DOCUMENTED["resource"]
        assert set(resource["auth"]) <= DOCUMENTED["auth"]
        for target in resource["targets"]:
            assert set(target) <= DOCUMENTED["target"]
    assert list(doc["public-resources"]) == ["apub"]


def test_doctor_reports_what_this_machine_has(lares: Lares) -> None:
    result = lares("doctor", "--json", "-f", str(DATA / "blueprint.yaml"))
    assert result.returncode in (0, 1), result.stderr
    findings = json.loads(result.stdout)["findings"]
    by_check: dict[str, list[dict[str, object]]] = {}
    for f in findings:
        by_check.setdefault(str(f["check"]), []).append(f)

    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    messages = " | ".join(str(f["message"]) for f in by_check["cpu"])
    assert ("AES-NI present" in messages) == ("aes" in flags)
    assert ("no hardware virtualization" in messages) == (not flags & {"vmx", "svm"})

    engine = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    compose = subprocess.run(
        ["docker", "compose", "version", "--short"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    docker_data = {k: v for f in by_check["docker"] for k, v in dict(f["data"]).items()}  # type: ignore[call-overload]
    assert docker_data == {"engine": engine, "compose": compose}

    total = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    assert dict(by_check["memory"][0]["data"])["total"] == total  # type: ignore[call-overload]
    has_btrfs = "btrfs" in Path("/proc/filesystems").read_text().split()
    assert not has_btrfs or "kernel" not in by_check  # no pool in this blueprint: nothing asked
    assert os.path.exists("/proc/mdstat") or all(
        "md" not in str(f["message"]) for f in by_check.get("kernel", [])
    )


def test_doctor_checks_the_real_restic_and_sqlite(lares: Lares, tmp_path: Path) -> None:
    # no lares.yaml here: the embedded reference, whose apps keep databases in SQLite
    result = lares("doctor", "--check", "backup", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    findings = json.loads(result.stdout)["findings"]
    restic = subprocess.run(
        ["restic", "version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.split()[1]
    assert [(f["status"], f["message"]) for f in findings] == [
        ("ok", f"restic {restic}"),
        ("ok", f"SQLite {sqlite3.sqlite_version} copies databases online"),
    ]
    assert "emby" in findings[1]["data"]["apps"]
