"""`lares import` on small projects written here: what it writes, what it refuses, and the
broken inputs Compose rejects (each a clear error naming the file, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import LaresRunner
from lares.importer.actions import ImportRefused, import_projects
from lares.importer.load import ImportInputError
from lares.secrets import SecretStore

WEB = """\
services:
  web:
    image: nginx:1.27.3
    ports: ["8080:80"]
    environment:
      DB_HOST: db
      DB_PASSWORD: s3cret-Literal-Pw
    volumes: ["./html:/usr/share/nginx/html:ro"]
    depends_on: [db]
  db:
    image: postgres:16.4
    environment:
      POSTGRES_PASSWORD: ${DB_PASS:-changeme}
    volumes: ["./pgdata:/var/lib/postgresql/data"]
"""


def _project(tmp: Path, text: str, name: str = "compose.yaml", **files: str) -> Path:
    folder = tmp / "proj"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    for rel, body in files.items():
        (folder / rel).write_text(body)
    return folder


def test_a_custom_project_becomes_one_app_with_its_database_and_secrets(tmp_path: Path) -> None:
    folder = _project(tmp_path, WEB)
    report = import_projects([folder], tmp_path / "out", secrets_dir=tmp_path / "s")
    [app] = report.apps
    assert (app.id, app.catalog, app.services) == ("web", False, {"web": "web", "db": "db"})
    assert report.plan_errors == []
    store = SecretStore(tmp_path / "s")
    assert store.read("web_db_password") == "s3cret-Literal-Pw"
    assert store.read("web_db_postgres_password") == "changeme"  # another value: its own secret
    assert report.findings == [
        "db: POSTGRES_PASSWORD falls back to the default written in the file "
        "(${DB_PASS:-…}), which anyone who reads the file knows"
    ]
    custom = (tmp_path / "out" / "catalog" / "web.yaml").read_text()
    assert "s3cret-Literal-Pw" not in custom and "changeme" not in custom
    assert "DB_HOST: web-db" in custom  # the database as lares names its service
    assert "imported: review" in custom
    blueprint = (tmp_path / "out" / "lares.yaml").read_text()
    assert f"appdata: {folder}" in blueprint
    [web, _db] = report.trips
    fields = {f.name: f for f in web.fields}
    assert fields["image"].status == "equal"
    assert fields["environment"].status == "changed"  # DB_HOST names the renamed service
    assert fields["ports"].why == "8080/tcp listens on the LAN address, not on every interface"
    assert "no-new-privileges: Privilege escalation allowed" in web.hardening
    assert report.to_dict()["secrets"] == ["web_db_password", "web_db_postgres_password"]
    assert "s3cret" not in json.dumps(report.to_dict())


def test_an_existing_blueprint_is_not_overwritten_without_force(tmp_path: Path) -> None:
    folder = _project(tmp_path, WEB)
    out = tmp_path / "out"
    out.mkdir()
    (out / "lares.yaml").write_text("mine\n")
    with pytest.raises(ImportRefused, match="exists: lares import does not overwrite"):
        import_projects([folder], out, secrets_dir=tmp_path / "s")
    assert (out / "lares.yaml").read_text() == "mine\n"
    assert not (tmp_path / "s").exists()
    import_projects([folder], out, secrets_dir=tmp_path / "s", force=True)
    assert (out / "lares.yaml").read_text().startswith("# Written by `lares import`")


@pytest.mark.parametrize(
    ("text", "files", "said"),
    [
        ("services:\n  web:\n    image: [not, an, image\n", {}, "yaml"),
        (
            "services:\n  web:\n    image: nginx:1.27.3\n    env_file: [missing.env]\n",
            {},
            "missing.env",
        ),
        (
            "services:\n  a:\n    extends: {service: b}\n  b:\n    extends: {service: a}\n",
            {},
            "circular",
        ),
    ],
    ids=["compose-rejects-it", "missing-env-file", "extends-cycle"],
)
def test_broken_inputs_are_clear_errors_naming_the_file_and_nothing_is_written(
    tmp_path: Path, text: str, files: dict[str, str], said: str
) -> None:
    folder = _project(tmp_path, text, **files)
    with pytest.raises(ImportInputError) as caught:
        import_projects([folder], tmp_path / "out", secrets_dir=tmp_path / "s")
    message = caught.value.message
    assert str(folder / "compose.yaml") in message
    assert said in message.lower()
    assert not (tmp_path / "out").exists() and not (tmp_path / "s").exists()


def test_the_command_prints_the_round_trip_and_json_without_secrets(
    tmp_path: Path, run_lares: LaresRunner
) -> None:
    folder = _project(tmp_path, WEB)
    proc = run_lares("import", str(folder), "-o", str(tmp_path / "out"), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["mapped"] == 2 and data["plan_errors"] == []
    assert "s3cret-Literal-Pw" not in proc.stdout + proc.stderr
    again = run_lares("import", str(folder), "-o", str(tmp_path / "out"))
    assert again.returncode == 2
    assert "exists: lares import does not overwrite a blueprint" in again.stdout + again.stderr
    table = run_lares("import", str(folder), "-o", str(tmp_path / "out2"))
    assert table.returncode == 0, table.stderr
    assert "proj/web → web" in table.stdout
    assert "hardening" in table.stdout
    both = run_lares("import", str(folder), "--running")
    assert both.returncode == 2 and "one of the two" in both.stdout + both.stderr
    chosen = run_lares("import", str(folder), "-p", "proj")
    assert chosen.returncode == 2 and "add --running" in chosen.stdout + chosen.stderr


def test_a_password_from_dot_env_becomes_a_secret_with_its_value(tmp_path: Path) -> None:
    text = (
        "services:\n  app:\n    image: example/app:1.2\n"
        "    environment:\n      APP_SECRET: ${APP_SECRET}\n      MODE: ${MODE:-prod}\n"
    )
    folder = _project(tmp_path, text, **{".env": "APP_SECRET=from-dot-env-Value\n"})
    report = import_projects([folder], tmp_path / "out", secrets_dir=tmp_path / "s")
    assert SecretStore(tmp_path / "s").read("app_app_secret") == "from-dot-env-Value"
    assert report.findings == []  # MODE's default is no credential
    custom = (tmp_path / "out" / "catalog" / "app.yaml").read_text()
    assert 'APP_SECRET: "{secret:app_secret}"' in custom and "MODE: prod" in custom
