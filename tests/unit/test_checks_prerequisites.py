"""The prerequisites check: provided secrets and the settings an app cannot start without."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from conftest import FILENAME, Lares, solo_blueprint_text
from lares.blueprint.load import load_text
from lares.catalog.model import App
from lares.plan import plan, secrets_set_in
from lares.plan.findings import Finding

ID = "prerequisites"
GLUETUN = (
    "stacks.solo.apps.qbittorrent.containers.gluetun",
    "qbittorrent-gluetun cannot start without",
)
CUSTOM = "(needed with VPN_SERVICE_PROVIDER=custom, VPN_TYPE=wireguard)"


def _findings(text: str, secrets: list[str] | None) -> list[Finding]:
    loaded = load_text(text, filename=FILENAME, base_dir=Path("."), env={})
    return [f for f in plan(loaded, only=[ID], secrets_set=secrets).findings if f.id == ID]


def _qbittorrent(gluetun_env: str = "") -> str:
    text = solo_blueprint_text("qbittorrent")
    if gluetun_env:
        text = text.replace(
            "      qbittorrent: {}\n",
            f"      qbittorrent:\n        containers:\n          gluetun:\n"
            f"            env: {{{gluetun_env}}}\n",
        )
    return text


def test_missing_provider_settings_and_key_are_errors_with_what_to_set() -> None:
    found = _findings(_qbittorrent(), [])
    assert all(f.severity == "error" for f in found)
    messages = [f.message for f in found]
    assert messages == [
        "qbittorrent cannot start without the secret qbittorrent_wireguard_private_key "
        "(the WireGuard private key from the VPN provider), which is not set",
        f"{GLUETUN[1]} WIREGUARD_ENDPOINT_IP, the VPN server's IP address (Endpoint in the "
        f"provider's WireGuard config) {CUSTOM}",
        f"{GLUETUN[1]} WIREGUARD_ENDPOINT_PORT, the VPN server's WireGuard port (after the colon "
        f"of Endpoint) {CUSTOM}",
        f"{GLUETUN[1]} WIREGUARD_PUBLIC_KEY, the VPN server's public key (PublicKey under "
        f"[Peer]) {CUSTOM}",
        f"{GLUETUN[1]} WIREGUARD_ADDRESSES, this device's tunnel address, e.g. 10.64.222.21/32 "
        "(Address under [Interface]) (needed with VPN_TYPE=wireguard)",
    ]
    assert found[0].hint == (
        "set it with `lares secret set qbittorrent_wireguard_private_key` "
        "(the value is read from stdin)"
    )
    assert found[1].hint == f"set {GLUETUN[0]}.env.WIREGUARD_ENDPOINT_IP in the blueprint"
    assert found[1].subject == GLUETUN[0]
    assert found[1].location is not None and found[1].location.line is not None


def test_settings_in_the_blueprint_and_a_set_secret_pass() -> None:
    env = (
        "WIREGUARD_ENDPOINT_IP: 203.0.113.7, WIREGUARD_ENDPOINT_PORT: '51820', "
        "WIREGUARD_PUBLIC_KEY: bWFkZS11cC1wdWJsaWMta2V5LWZvci10ZXN0cw==, "
        "WIREGUARD_ADDRESSES: 10.64.222.21/32"
    )
    assert _findings(_qbittorrent(env), ["qbittorrent_wireguard_private_key"]) == []


def test_another_provider_needs_only_what_it_lacks() -> None:
    # Mullvad's endpoints and keys are built into Gluetun; the tunnel address is not
    found = _findings(_qbittorrent("VPN_SERVICE_PROVIDER: mullvad"), ["x"])
    assert [f.message.split(",")[0] for f in found] == [
        "qbittorrent cannot start without the secret qbittorrent_wireguard_private_key (the "
        "WireGuard private key from the VPN provider)",
        f"{GLUETUN[1]} WIREGUARD_ADDRESSES",
    ]


def test_newt_credentials_are_secrets_to_set() -> None:
    text = solo_blueprint_text("newt")
    found = _findings(text, ["newt_newt_id"])
    assert [f.message for f in found] == [
        "newt cannot start without the secret newt_newt_secret (the site's Newt secret, from "
        "the Pangolin dashboard), which is not set"
    ]
    assert _findings(text, ["newt_newt_id", "newt_newt_secret"]) == []


def test_without_the_state_folder_nothing_provided_is_checked() -> None:
    assert _findings(_qbittorrent(), None) == []


def test_secret_names_are_read_from_the_folder_without_values(tmp_path: Path) -> None:
    assert secrets_set_in(tmp_path / "absent") == []
    (tmp_path / "newt_newt_id").write_text("abc")
    (tmp_path / "empty").write_text("")
    (tmp_path / "sub").mkdir()
    assert secrets_set_in(tmp_path) == ["newt_newt_id"]


def test_a_need_and_a_peer_are_checked_where_they_are_declared() -> None:
    base = {
        "id": "a",
        "name": "A",
        "description": "an app",
        "category": "tools",
        "containers": {
            "a": {
                "image": "x/a",
                "version": "1",
                "memory": {"reservation": "8MiB", "limit": "16MiB"},
            }
        },
    }
    need = {"env": "TOKEN", "what": "the token", "secret": "token"}
    with pytest.raises(ValidationError, match="need TOKEN names an undeclared secret"):
        App.model_validate(
            {**base, "containers": {"a": {**base["containers"]["a"], "needs": [need]}}}
        )
    with pytest.raises(ValidationError, match="needs the healthcheck that says so"):
        App.model_validate(
            {**base, "containers": {"a": {**base["containers"]["a"], "peer": "the server"}}}
        )


def test_up_refuses_before_touching_anything_while_one_is_missing(
    lares: Lares, tmp_path: Path
) -> None:
    blueprint = tmp_path / "lares.yaml"
    blueprint.write_text(solo_blueprint_text("newt"))
    state = tmp_path / "lares-state"
    proc = lares("up", "--yes", "-f", str(blueprint), "--state-dir", str(state))
    assert proc.returncode == 1
    assert "error [prerequisites] newt cannot start without the secret newt_newt_id" in proc.stdout
    assert "✗ 2 errors in the plan; nothing was changed" in proc.stderr
    assert not (state / "live").exists()
    # once set, `lares plan` for the same state folder has nothing left to say about them
    for name in ("newt_newt_id", "newt_newt_secret"):
        lares("secret", "set", name, "--state-dir", str(state), input="value-of-" + name)
    planned = lares("plan", "-f", str(blueprint), "--state-dir", str(state))
    assert "[prerequisites]" not in planned.stdout, planned.stdout + planned.stderr
