"""The embedded catalog: every app loads, is pinned, hardened and healthchecked, and renders alone;
and a blueprint's own catalog folders add to it, replace apps in it, and report their errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import TEST_CATALOG, BlueprintKit, solo_blueprint_text
from lares.blueprint.load import load_reference, load_text
from lares.blueprint.model import is_secret_like
from lares.catalog.load import Catalog, load_catalog
from lares.catalog.model import PLACEHOLDER_RE, BackupSpec, DatabaseBackup
from lares.errors import ConfigErrors
from lares.plan import catalog_for, plan
from lares.render import render_all
from lares.render.bundle import SECRETS_DIR
from lares.yamlio import load_yaml

APPS_DIR = Path(__file__).resolve().parents[2] / "src" / "lares" / "catalog" / "apps"
APP_FILES = sorted(APPS_DIR.glob("*.yaml"))
APP_IDS = [p.stem for p in APP_FILES]
MOVING_TAGS = {"latest", "stable", "edge", "nightly", "main", "master", "dev", "develop"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_every_app_file_loads(catalog: Catalog) -> None:
    assert APP_IDS, f"no app definitions in {APPS_DIR}"
    assert catalog.ids() == APP_IDS
    for app_id in APP_IDS:
        assert catalog.sources[app_id] == f"catalog/apps/{app_id}.yaml"


@pytest.mark.parametrize("path", APP_FILES, ids=APP_IDS)
def test_app_file_is_valid_with_positions(path: Path) -> None:
    # the embedded catalog is loaded with the fast loader; here each file also goes through the
    # round-trip loader a person's own files take, so both agree
    data = load_yaml(path.read_text(encoding="utf-8"), filename=str(path))
    assert data["id"] == path.stem


def test_ids_are_unique_and_match_file_names(catalog: Catalog) -> None:
    ids = [app.id for app in catalog.apps.values()]
    assert len(ids) == len(set(ids))
    assert all(app_id == catalog[app_id].id for app_id in catalog.ids())


def test_service_names_are_unique_across_the_catalog(catalog: Catalog) -> None:
    names = [app.service_name(key) for app in catalog.apps.values() for key in app.containers]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("app_id", APP_IDS)
def test_images_are_pinned(catalog: Catalog, app_id: str) -> None:
    for key, container in catalog[app_id].containers.items():
        assert container.version not in MOVING_TAGS, f"{app_id}.{key}: {container.version}"
        assert container.version.strip() == container.version
        assert ":" not in container.image.rsplit("/", 1)[-1], f"{app_id}.{key}: tag in image"


@pytest.mark.parametrize("app_id", APP_IDS)
def test_health_is_checked_or_the_reason_declared(catalog: Catalog, app_id: str) -> None:
    app = catalog[app_id]
    assert any(
        c.healthcheck is not None or "no_healthcheck" in c.exceptions
        for c in app.containers.values()
    )
    for key, container in app.containers.items():
        assert container.healthcheck is not None or "no_healthcheck" in container.exceptions, key


@pytest.mark.parametrize("app_id", APP_IDS)
def test_images_with_their_own_init_say_so(catalog: Catalog, app_id: str) -> None:
    """s6-overlay refuses to start unless it is PID 1, so a LinuxServer.io image (or any
    declaring s6) never gets Docker's init; every other container does."""
    for key, container in catalog[app_id].containers.items():
        reasons = " ".join(container.exceptions.values())
        if container.image.startswith("lscr.io/linuxserver/") or "s6" in reasons:
            assert "own_init" in container.exceptions, f"{app_id}.{key}: s6 needs PID 1"


def test_only_images_with_their_own_init_render_without_docker_init() -> None:
    result = plan(load_reference())
    bundle = render_all(result.system, source="<reference>")
    for service in result.system.services:
        stack = next(s for s in result.system.stacks if service in s.services)
        block = load_yaml(bundle.files[f"{stack.name}/compose.yaml"].content, filename="c.yaml")
        rendered = block["services"][service.name]
        own = "own_init" in service.spec.exceptions
        assert rendered.get("init") is (None if own else True), service.name
    lsio = [s for s in result.system.services if "linuxserver" in s.image]
    assert lsio and all("own_init" in s.spec.exceptions for s in lsio)


@pytest.mark.parametrize("app_id", APP_IDS)
def test_secret_like_variables_take_generated_secrets(catalog: Catalog, app_id: str) -> None:
    for key, container in catalog[app_id].containers.items():
        for var, value in container.environment.items():
            if is_secret_like(var) and value:
                kinds = {m.group(1) for m in PLACEHOLDER_RE.finditer(value)}
                assert kinds & {"secret_file", "secret"}, f"{app_id}.{key}: {var}={value!r}"


@pytest.mark.parametrize("app_id", APP_IDS)
def test_databases_are_on_the_database_network(catalog: Catalog, app_id: str) -> None:
    for key, container in catalog[app_id].containers.items():
        if container.role == "database":
            assert container.networks == ("database",), f"{app_id}.{key}"
            assert container.ports == (), f"{app_id}.{key}"


def test_every_app_of_the_reference_is_in_the_catalog(catalog: Catalog) -> None:
    bp = load_reference().blueprint
    missing = [app for app in bp.app_stack() if app not in catalog]
    assert missing == []


def test_reference_runs_at_least_35_containers() -> None:
    result = plan(load_reference())
    assert len(result.system.services) >= 35
    assert result.errors == []


# ── each app alone ───────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("app_id", APP_IDS)
def test_app_renders_alone_hardened_and_without_secrets(app_id: str, tmp_path: Path) -> None:
    from lares.deploy.files import write_bundle

    loaded = load_text(solo_blueprint_text(app_id), filename="solo.yaml", env={})
    result = plan(loaded)
    assert [f.render() for f in result.errors] == []
    bundle = render_all(result.system, source="solo.yaml")
    assert {"networks.yaml", "solo/compose.yaml"} <= set(bundle.files)
    compose_text = bundle.files["solo/compose.yaml"].content
    compose = load_yaml(compose_text, filename="compose.yaml")
    services = compose["services"]
    specs = {s.name: s.spec for s in result.system.services}
    assert set(services) == set(specs)
    for name, service in services.items():
        assert service["cap_drop"] == ["ALL"], name
        assert service["security_opt"] == ["no-new-privileges:true"], name
        assert service["mem_limit"] and service["mem_reservation"], name
        assert service["pids_limit"] >= 16, name
        assert service["restart"] == "unless-stopped", name
        assert service["container_name"] == name
        tag = service["image"].rsplit(":", 1)[-1]
        assert tag not in MOVING_TAGS, name
        every_interface = [p for p in service.get("ports", []) if p.startswith("0.0.0.0:")]
        assert not every_interface or "all_interfaces" in specs[name].exceptions, name

    write_bundle(bundle, tmp_path)
    # every value generated now (secrets a person provides are placed empty until set)
    values = {
        p.read_text(encoding="utf-8").strip()
        for p in (tmp_path / SECRETS_DIR).rglob("*")
        if p.is_file() and not p.name.endswith(".env")
    } - {""}
    assert len(values) == len([s for s in bundle.secrets.values() if not s.provided])
    for value in values:
        assert value not in compose_text
    for copy in bundle.copies:
        st = os.stat(tmp_path / copy.path)
        # the owner alone, or the group of the other readers the catalog names; never others
        assert st.st_mode & 0o777 == (0o600 if copy.gid is None else 0o640), copy.path
        if os.geteuid() == 0:
            assert (st.st_uid, copy.gid in (None, st.st_gid)) == (copy.uid, True), copy.path


# ── a blueprint's own catalog folders ────────────────────────────────────────────────────────


def test_blueprint_catalog_folder_adds_apps(kit: BlueprintKit, minimal_text: str) -> None:
    loaded = kit.load(minimal_text)
    assert loaded.blueprint.catalog == ("../catalog",)
    catalog = catalog_for(loaded)
    assert "tweb" in catalog and "nextcloud" in catalog
    assert catalog.sources["tweb"] == str(
        TEST_CATALOG.parent / "blueprints" / "../catalog/tweb.yaml"
    )
    result = plan(loaded)
    assert [s.name for s in result.system.services] == ["tweb"]
    assert result.findings == ()


def test_own_app_replaces_the_embedded_one(tmp_path: Path, minimal_text: str) -> None:
    own = tmp_path / "apps"
    own.mkdir()
    text = (APPS_DIR / "nextcloud.yaml").read_text(encoding="utf-8")
    own.joinpath("nextcloud.yaml").write_text(text.replace("name: Nextcloud", "name: My Cloud"))
    loaded = load_text(minimal_text, filename="test.yaml", base_dir=tmp_path, env={})
    catalog = load_catalog([own])
    assert catalog["nextcloud"].name == "My Cloud"
    assert catalog.sources["nextcloud"] == str(own / "nextcloud.yaml")
    assert loaded.blueprint.host.name == "testhost"


def test_errors_in_an_own_app_file_are_located(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(
        "id: broken\nname: Broken\ndescription: x\ncategory: tools\n"
        "containers:\n  broken:\n    image: busybox\n    version: latest\n"
        "    memroy: {reservation: 1MiB, limit: 2MiB}\n"
    )
    (tmp_path / "named.yaml").write_text((TEST_CATALOG / "tweb.yaml").read_text(encoding="utf-8"))
    with pytest.raises(ConfigErrors) as caught:
        load_catalog([tmp_path])
    rendered = [e.render() for e in caught.value.errors]
    path = tmp_path / "broken.yaml"
    assert rendered == [
        f"{path}:6:3: containers.broken.memory: error [schema] 'memory' is required but missing",
        f"{path}:9:5: containers.broken.memroy: error [schema] unknown key 'memroy'\n"
        "  hint: did you mean 'memory'?",
        f"{tmp_path / 'named.yaml'}:1:1: id: error [catalog] the app id 'tweb' does not match "
        "the file name 'named'\n  hint: rename the file to tweb.yaml or set id: named",
    ]


def test_missing_catalog_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_catalog([tmp_path / "nope"])
    [error] = caught.value.errors
    assert error.message == "catalog folder not found"
    assert error.hint == ("fix the path under `catalog:` in the blueprint (relative to the file)")


def test_database_keys_tell_apart_several_databases_of_one_container() -> None:
    def sqlite(path: str) -> DatabaseBackup:
        return DatabaseBackup(container="emby", engine="sqlite", path=path)

    pg = DatabaseBackup(container="db", engine="postgres", user="app")
    spec = BackupSpec(databases=(pg, sqlite("/config/library.db"), sqlite("/config/us ers.db")))
    assert [spec.key(d) for d in spec.databases] == ["db", "emby-library", "emby-us-ers"]
    with pytest.raises(ValueError, match="would both be named 'emby-library'"):
        BackupSpec(databases=(sqlite("/a/library.db"), sqlite("/b/library.db")))


_FLOATING = (
    "id: floats\nname: Floats\ndescription: runs what the person ran\ncategory: tools\n"
    "containers:\n  floats:\n    image: busybox\n    version: latest\n"
    "    user: '1000:1000'\n    memory: {reservation: 16MiB, limit: 32MiB}\n"
)


def test_an_own_app_may_float_only_when_it_says_so(tmp_path: Path) -> None:
    (tmp_path / "floats.yaml").write_text(_FLOATING)
    with pytest.raises(ConfigErrors) as caught:
        load_catalog([tmp_path])
    [error] = caught.value.errors
    assert "pin a version; 'latest' changes under you (or declare exceptions.floating_tag" in (
        error.message
    )
    declared = _FLOATING + "    exceptions: {floating_tag: the person runs latest on purpose}\n"
    (tmp_path / "floats.yaml").write_text(declared)
    spec = load_catalog([tmp_path])["floats"].containers["floats"]
    assert spec.version == "latest" and "floating_tag" in spec.departures()


def test_the_embedded_catalog_never_floats() -> None:
    from lares.catalog.load import _parse

    declared = _FLOATING + "    exceptions: {floating_tag: the person runs latest on purpose}\n"
    with pytest.raises(ConfigErrors) as caught:
        _parse("catalog/apps/floats.yaml", declared, trusted=True)
    [error] = caught.value.errors
    assert error.message == (
        "floats: container floats runs a floating tag (latest); the catalog pins releases"
    )
    assert _parse("floats.yaml", declared, trusted=False)[0].id == "floats"


def test_an_unused_floating_tag_exception_is_refused(tmp_path: Path) -> None:
    text = _FLOATING.replace("version: latest", "version: '1.36'")
    (tmp_path / "floats.yaml").write_text(text + "    exceptions: {floating_tag: not floating}\n")
    with pytest.raises(ConfigErrors) as caught:
        load_catalog([tmp_path])
    assert "exceptions.floating_tag is declared, but the container does not use it" in (
        caught.value.errors[0].message
    )
