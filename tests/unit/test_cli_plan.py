"""The command line, run as a separate process: plan, plan --json, init, schema and render.

Errors must read like a compiler's (file:line:column first, then a hint) and never show a
traceback; exit codes are 0 ok, 1 findings or failure, 2 bad usage or configuration.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

from conftest import BLUEPRINTS, MINIMAL, TEST_CATALOG, Lares
from lares.blueprint.load import reference_text


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text
    assert "internal error" not in text


#: What the reference homelab cannot start without until the person provides it: the tunnel's
#: credentials, the VPN key and the VPN server's settings (the prerequisites check).
REFERENCE_PREREQUISITES = [
    "newt cannot start without the secret newt_newt_id",
    "newt cannot start without the secret newt_newt_secret",
    "qbittorrent cannot start without the secret qbittorrent_wireguard_private_key",
    "qbittorrent-gluetun cannot start without WIREGUARD_ADDRESSES",
    "qbittorrent-gluetun cannot start without WIREGUARD_ENDPOINT_IP",
    "qbittorrent-gluetun cannot start without WIREGUARD_ENDPOINT_PORT",
    "qbittorrent-gluetun cannot start without WIREGUARD_PUBLIC_KEY",
]


def _prerequisites(findings: list[dict], severity: str) -> list[str]:
    return sorted(
        f["message"].split(",")[0].split(" (")[0]
        for f in findings
        if f["severity"] == severity and f["id"] == "prerequisites"
    )


def test_plan_of_the_reference(lares: Lares) -> None:
    proc = lares("plan")
    # an example no one provides for: what a person must provide is shown, as warnings
    assert proc.returncode == 0, proc.stderr
    assert "✓ 0 errors, " in proc.stdout
    assert proc.stdout.count("warning [prerequisites]") == len(REFERENCE_PREREQUISITES)
    assert "hint: set it with `lares secret set newt_newt_id`" in proc.stdout
    assert (
        "hint: set stacks.media.apps.qbittorrent.containers.gluetun.env.WIREGUARD_ENDPOINT_IP "
        "in the blueprint" in proc.stdout
    )
    assert proc.stdout.startswith("lares plan — the reference homelab: host nas, 4 stacks, ")
    _no_traceback(proc.stdout + proc.stderr)


def test_a_copy_of_the_reference_cannot_plan_without_its_prerequisites(
    lares: Lares, tmp_path: Path
) -> None:
    (tmp_path / "lares.yaml").write_text(reference_text())
    proc = lares("plan", "--json", "--state-dir", str(tmp_path / "state"))
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["summary"]["errors"] == len(REFERENCE_PREREQUISITES)
    assert _prerequisites(data["findings"], "error") == REFERENCE_PREREQUISITES
    assert all(f["id"] == "prerequisites" for f in data["findings"] if f["severity"] == "error")


def test_plan_json(lares: Lares) -> None:
    proc = lares("plan", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    summary = data["summary"]
    assert summary["containers"] >= 35
    assert summary["errors"] == 0
    assert _prerequisites(data["findings"], "warning") == REFERENCE_PREREQUISITES
    assert summary["stacks"] == 4
    assert data["source"] == "the reference homelab"
    assert data["memory"]["total"] == 32 * 1024**3
    assert data["storage"]["mainpool"]["usable"] == 36 * 10**12
    assert data["storage"]["mainpool"]["raw"] == 52 * 10**12
    assert set(data["stacks"]) == {"infrastructure", "media", "productivity", "security"}


def test_broken_blueprint_reads_like_a_compiler_error(lares: Lares, tmp_path: Path) -> None:
    text = reference_text().replace("host:\n  name: nas", "hsot:\n  name: nas")
    (tmp_path / "test.yaml").write_text(text)
    line = text[: text.index("hsot:")].count("\n") + 1
    for args in (("plan", "-f", "test.yaml"), ("plan", "-f", "test.yaml", "--json")):
        proc = lares(*args)
        assert proc.returncode == 2
        if "--json" in args:
            errors = json.loads(proc.stdout)["errors"]
            assert {
                "id": "schema",
                "severity": "error",
                "location": {"file": "test.yaml", "line": line, "column": 1, "path": "hsot"},
                "message": "unknown key 'hsot'",
                "hint": "did you mean 'host'?",
            } in errors
        else:
            assert proc.stdout == ""
        assert f"test.yaml:{line}:1: hsot: error [schema] unknown key 'hsot'" in proc.stderr
        assert "  hint: did you mean 'host'?" in proc.stderr.splitlines()
        assert "error [schema] 'host' is required but missing" in proc.stderr
        _no_traceback(proc.stderr)


def test_yaml_syntax_error_on_the_command_line(lares: Lares, tmp_path: Path) -> None:
    (tmp_path / "test.yaml").write_text("version: 1\nhost: [nas\n")
    proc = lares("plan", "-f", "test.yaml")
    assert proc.returncode == 2
    # where the [ opened, not the end of the file where the parser gave up
    assert proc.stderr.startswith(
        "test.yaml:2:7: error [yaml-syntax] this is not valid YAML: the [ here opens a flow "
        "sequence that is not closed (the parser gave up at line 3, column 1: "
    )
    _no_traceback(proc.stderr)


def test_missing_file(lares: Lares) -> None:
    proc = lares("plan", "-f", "nope.yaml")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "nope.yaml: error [file-missing] file not found",
        "  hint: run `lares init` to write a blueprint, or pass --file",
    ]


def test_plan_with_errors_exits_1(lares: Lares, tmp_path: Path) -> None:
    text = MINIMAL.read_text().replace("memory: 16GiB", "memory: 2GiB")
    text = text.replace("catalog: [../catalog]", f"catalog: [{TEST_CATALOG}]")
    (tmp_path / "small.yaml").write_text(text)
    proc = lares("plan", "-f", "small.yaml")
    assert proc.returncode == 1, proc.stderr
    assert (
        "small.yaml:10:3: host.reserved: error [memory] the reserve (3.0 GiB) leaves nothing of "
        "2.0 GiB for containers"
    ) in proc.stdout
    assert "✗ 1 error, 0 warnings, 0 notes" in proc.stdout
    data = json.loads(lares("plan", "-f", "small.yaml", "--json").stdout)
    assert data["summary"]["errors"] == 1
    [finding] = data["findings"]
    assert finding["id"] == "memory"
    assert finding["location"] == {
        "file": "small.yaml",
        "line": 10,
        "column": 3,
        "path": "host.reserved",
    }


def test_plan_runs_only_the_checks_asked_for(lares: Lares) -> None:
    proc = lares("plan", "--json", "--check", "exposure")
    data = json.loads(proc.stdout)
    assert {f["id"] for f in data["findings"]} == {"exposure"}
    wrong = lares("plan", "--check", "memroy")
    assert wrong.returncode == 2
    assert wrong.stderr.splitlines()[0] == "error [usage] there is no check 'memroy'"
    assert wrong.stderr.splitlines()[1].startswith(
        "  hint: the checks are: dashboard, exposure, gpu, hardening,"
    )
    _no_traceback(wrong.stderr)


def test_init_writes_a_blueprint_that_plans(lares: Lares, tmp_path: Path) -> None:
    proc = lares("init")
    assert proc.returncode == 0, proc.stderr
    written = tmp_path / "lares.yaml"
    assert written.read_text() == reference_text()
    assert stat.S_IMODE(written.stat().st_mode) == 0o644
    planned = lares("plan", "-f", "lares.yaml")
    assert planned.returncode == 1, planned.stdout + planned.stderr
    assert planned.stdout.count("error [") == planned.stdout.count("error [prerequisites]")
    assert "lares plan — lares.yaml: host nas" in planned.stdout
    # ./lares.yaml is found without -f
    assert "lares plan — lares.yaml: host nas" in lares("plan").stdout


def test_init_refuses_to_overwrite(lares: Lares, tmp_path: Path) -> None:
    target = tmp_path / "lares.yaml"
    target.write_text("# mine\n")
    proc = lares("init")
    assert proc.returncode == 1
    assert "lares.yaml already exists; nothing was written" in proc.stderr
    assert "hint: pass --force to replace it" in proc.stderr
    assert target.read_text() == "# mine\n"
    forced = lares("init", "--force")
    assert forced.returncode == 0
    assert target.read_text() == reference_text()
    other = lares("init", "other.yaml")
    assert other.returncode == 0
    assert (tmp_path / "other.yaml").exists()


def test_schema(lares: Lares) -> None:
    proc = lares("schema")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "lares.yaml"
    assert {"host", "hosts", "paths", "network", "stacks"} <= set(schema["properties"])
    assert {"host", "paths", "network", "stacks"} <= set(schema["required"])
    assert schema["additionalProperties"] is False


def test_render_writes_stacks_and_private_secrets(lares: Lares, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = lares("render", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    composes = sorted(out.glob("*/compose.yaml"))
    assert [p.parent.name for p in composes] == [
        "infrastructure",
        "media",
        "productivity",
        "security",
    ]
    assert (out / "networks.yaml").is_file()
    secrets = out / "secrets"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    files = [p for p in secrets.rglob("*") if p.is_file()]
    assert files
    for path in files:
        # group-readable only for a container whose catalog names other readers (Nextcloud's
        # www-data), never by others
        shared = path.parent.name in ("nextcloud",)
        assert stat.S_IMODE(path.stat().st_mode) == (0o640 if shared else 0o600), path
    for folder in (p for p in secrets.rglob("*") if p.is_dir()):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    values = {p.read_text().strip() for p in files if not p.name.endswith(".env")} - {""}
    assert len(values) >= 10
    written = "".join(
        p.read_text() for p in out.rglob("*") if p.is_file() and secrets not in p.parents
    )
    assert not [v for v in values if v in written]
    assert not [v for v in values if v in proc.stdout + proc.stderr]

    # a second render keeps every secret as it was
    before = {p: p.read_text() for p in files}
    again = lares("render", "-o", str(out), "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["secrets_created"] == []
    assert "media/compose.yaml" in report["files"]
    assert {p: p.read_text() for p in files} == before


def test_render_refuses_a_plan_with_errors(lares: Lares, tmp_path: Path) -> None:
    text = MINIMAL.read_text().replace("memory: 16GiB", "memory: 2GiB")
    text = text.replace("catalog: [../catalog]", f"catalog: [{TEST_CATALOG}]")
    (tmp_path / "small.yaml").write_text(text)
    out = tmp_path / "out"
    proc = lares("render", "-f", "small.yaml", "-o", str(out))
    assert proc.returncode == 1
    assert "1 error in the plan; nothing was written" in proc.stderr
    assert not out.exists()
    as_json = lares("render", "-f", "small.yaml", "-o", str(out), "--json")
    assert as_json.returncode == 1
    assert [e["id"] for e in as_json.json["errors"]] == ["memory"]
    assert as_json.stderr.startswith("✗ 1 error in the plan; nothing was written\n  hint: ")
    assert not out.exists()


def test_every_problem_of_a_file_is_printed_at_once(lares: Lares, tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text((BLUEPRINTS / "broken.yaml").read_text())
    proc = lares("plan", "-f", "broken.yaml")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "broken.yaml:2:1: host: error [schema] 'host' is required but missing",
        "broken.yaml:3:1: hsot: error [schema] unknown key 'hsot'",
        "  hint: did you mean 'host'?",
        "broken.yaml:6:3: paths.appdata: error [schema] 'srv/appdata' must be an absolute path "
        "(start with /)",
        "broken.yaml:10:3: network.host_address: error [schema] Input is not a valid IPv4 address",
        "broken.yaml:14:14: stacks.main.apps.tweb.exposure: error [schema] Input should be "
        "'none', 'lan' or 'public'",
    ]
