"""The catalog's declared exceptions match what its containers do, exactly; secret files name
every reader; an app behind the proxy takes its URL, host names and trusted subnets from web.proxy
alone. Checked for every embedded app, and enforced by the model so a person's own file is too."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import solo_blueprint_text
from lares.blueprint.load import load_reference, load_text
from lares.catalog.load import Catalog, load_catalog
from lares.catalog.model import EXCEPTION_USE
from lares.errors import ConfigErrors
from lares.plan import plan
from lares.render import render_all
from lares.yamlio import safe_load

APP_IDS = sorted(p.stem for p in (Path(__file__).parents[2] / "src/lares/catalog/apps").iterdir())


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.mark.parametrize("app_id", APP_IDS)
def test_declared_exceptions_are_exactly_what_the_container_does(
    catalog: Catalog, app_id: str
) -> None:
    for key, container in catalog[app_id].containers.items():
        assert set(container.exceptions) == container.departures(), f"{app_id}.{key}"


def test_rendered_settings_follow_the_declared_exceptions() -> None:
    system = plan(load_reference()).system
    bundle = render_all(system)
    rendered = {}
    for path, file in bundle.files.items():
        if path.endswith("/compose.yaml"):
            rendered.update(safe_load(file.content)["services"])
    assert system.services
    for service in system.services:
        block, declared = rendered[service.name], service.spec.exceptions
        assert (block["read_only"] is False) == ("writable_root" in declared), service.name
        assert ("user" not in block) == ("root" in declared), service.name
        assert bool(block.get("cap_add")) == ("capabilities" in declared), service.name
        assert (block.get("network_mode") == "host") == ("host_network" in declared), service.name
        assert ("healthcheck" not in block) == ("no_healthcheck" in declared), service.name
        assert bool(block.get("privileged")) == ("privileged" in declared), service.name


def _app(tmp_path: Path, container: str, *, top: str = "") -> Path:
    text = (
        "id: mine\nname: Mine\ndescription: a person's own app\ncategory: tools\n"
        f"{top}containers:\n  mine:\n    image: busybox\n    version: '1.37'\n"
        "    memory: {reservation: 16MiB, limit: 32MiB}\n"
        "    healthcheck: {test: [CMD, 'true']}\n"
        + "".join(f"    {line}\n" for line in container.strip().splitlines())
    )
    (tmp_path / "mine.yaml").write_text(text)
    return tmp_path / "mine.yaml"


def _errors(tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load_catalog([tmp_path])
    return [e.render() for e in caught.value.errors]


def test_an_exception_nothing_uses_is_refused_with_where_and_what(tmp_path: Path) -> None:
    path = _app(
        tmp_path,
        'user: "1000:1000"\nexceptions:\n  writable_root: the app writes its cache under /var',
    )
    assert _errors(tmp_path) == [
        f"{path}:6:3: containers.mine: error [schema] exceptions.writable_root is declared, "
        "but the container does not use it: it applies only to a container that sets "
        "`read_only: false`; remove the exception or make the setting it explains"
    ]


@pytest.mark.parametrize("kind", sorted(EXCEPTION_USE))
def test_every_kind_of_exception_must_be_used(tmp_path: Path, kind: str) -> None:
    _app(tmp_path, f'user: "1000:1000"\nexceptions:\n  {kind}: a reason of some length')
    [error] = _errors(tmp_path)
    assert f"exceptions.{kind} is declared, but the container does not use it" in error
    assert EXCEPTION_USE[kind] in error


def test_each_added_capability_needs_its_own_reason(tmp_path: Path) -> None:
    _app(
        tmp_path,
        "cap_add: [CHOWN, KILL]\nexceptions:\n  root: the entrypoint starts as root\n"
        "  capabilities: the entrypoint chowns its data folder (CHOWN)",
    )
    [error] = _errors(tmp_path)
    assert error.endswith(
        "exceptions.capabilities gives no reason for KILL: name each added capability "
        "with what it is for"
    )


def test_a_reason_naming_a_capability_not_added_is_stale(tmp_path: Path) -> None:
    _app(
        tmp_path,
        "cap_add: [CAP_KILL]\nexceptions:\n  root: the entrypoint starts as root\n"
        "  capabilities: KILL stops the worker, SETUID drops to the app user",
    )
    [error] = _errors(tmp_path)
    assert error.endswith("exceptions.capabilities names SETUID, which cap_add does not add")


def test_a_capability_must_exist(tmp_path: Path) -> None:
    _app(
        tmp_path,
        "cap_add: [NET_ADMN]\nexceptions:\n  root: the entrypoint starts as root\n"
        "  capabilities: NET_ADMN sets routes",
    )
    [error] = _errors(tmp_path)
    assert error.endswith("cap_add: NET_ADMN is not a Linux capability")


def test_secret_readers_share_one_group(tmp_path: Path) -> None:
    _app(tmp_path, 'user: "1000:1000"\nsecret_readers: ["33:33", "82:82"]')
    [error] = _errors(tmp_path)
    assert error.endswith(
        "every secret reader shares one group, which the secret files are readable by: "
        "secret_readers name the gids 33, 82"
    )


def test_the_url_is_only_filled_in_web_proxy(tmp_path: Path) -> None:
    _app(tmp_path, 'user: "1000:1000"\nenvironment: {BASE_URL: "{url}"}')
    [error] = _errors(tmp_path)
    assert error.endswith(
        "mine: {url} is filled only in web.proxy: move the variable there, so it is set "
        "from where the proxy reaches the app"
    )


def test_web_proxy_takes_only_proxy_placeholders(tmp_path: Path) -> None:
    _app(
        tmp_path,
        'user: "1000:1000"',
        top="web: {container: mine, port: 80, subdomain: mine, "
        'proxy: {ALLOWED: "{hosts:semicolon}", TZ: "{tz}"}}\n',
    )
    errors = _errors(tmp_path)
    assert len(errors) == 1
    assert errors[0].endswith("web.proxy.ALLOWED: {hosts:semicolon}: write space or comma")


def test_the_proxy_settings_of_nextcloud_come_from_where_it_is_reached() -> None:
    system = plan(load_reference()).system
    nextcloud = next(s for s in system.services if s.name == "nextcloud")
    assert nextcloud.networks == ("productivity", "database")
    view = system.app("nextcloud")
    assert view is not None and view.app.web is not None
    proxy = {k: nextcloud.environment[k] for k in view.app.web.proxy}
    assert proxy == {
        # the LAN name and the public one, not the bare public domain
        "NEXTCLOUD_TRUSTED_DOMAINS": "cloud.homelab.local cloud.example.com",
        # the stack network Caddy and Newt reach it through; not the database network
        "TRUSTED_PROXIES": "172.21.0.0/16",
        "OVERWRITEPROTOCOL": "https",
        "OVERWRITECLIURL": "https://cloud.example.com",
    }
    # the cron worker is not what the proxy reaches: it gets none of it
    cron = next(s for s in system.services if s.name == "nextcloud-cron")
    assert not {"TRUSTED_PROXIES", "OVERWRITECLIURL"} & set(cron.environment)


def test_an_app_not_served_by_name_gets_no_proxy_settings() -> None:
    text = solo_blueprint_text("vaultwarden").replace(
        "vaultwarden: {}", "vaultwarden: {exposure: none}"
    )
    system = plan(load_text(text, filename="solo.yaml", env={})).system
    [vault] = [s for s in system.services if s.name == "vaultwarden"]
    assert "DOMAIN" not in vault.environment


def test_nextcloud_secrets_are_readable_by_www_data_and_not_by_others() -> None:
    bundle = render_all(plan(load_reference()).system)
    copies = {c.path.split("/", 1)[1]: c for c in bundle.copies if "nextcloud" in c.path}
    main = copies["nextcloud/nextcloud_redis_password"]
    assert (main.uid, main.gid, main.mode) == (0, 33, 0o640)
    cron = copies["nextcloud-cron/nextcloud_redis_password"]
    assert (cron.uid, cron.gid, cron.mode) == (33, None, 0o600)
    db = copies["nextcloud-db/nextcloud_db_password"]
    assert (db.uid, db.gid, db.mode) == (70, None, 0o600)
