"""The exposure check: public apps need a domain and the tunnel; admin UIs and the Docker socket
are never public; exposure needs a web interface."""

from __future__ import annotations

from conftest import BlueprintKit

ID = "exposure"
ACCESS = """
domain: mydomain.net
tunnel: {endpoint: "https://pangolin.mydomain.net", site: home}
"""


def _stack(apps: str) -> str:
    return "\nmain:\n  network: apps\n  apps:\n" + "".join(
        f"    {line}\n" for line in apps.strip().splitlines()
    )


def test_lan_apps_need_nothing(kit: BlueprintKit) -> None:
    assert kit.findings(kit.text(), ID) == []


def test_public_app_with_domain_and_tunnel_passes(kit: BlueprintKit) -> None:
    text = kit.text(stacks=_stack("tweb: {exposure: public}"), access=ACCESS)
    assert kit.findings(text, ID) == []
    app = kit.plan(text).system.app("tweb")
    assert app is not None
    assert (app.lan_url, app.public_url) == ("https://tweb.home.lan", "https://tweb.mydomain.net")


def test_public_app_without_domain_or_tunnel(kit: BlueprintKit) -> None:
    text = kit.text(stacks=_stack("tweb: {exposure: public}"))
    found = kit.findings(text, ID)
    assert [(f.severity, f.message, f.hint) for f in found] == [
        (
            "error",
            "1 app is public (tweb) but access.domain is not set",
            "set access.domain to the domain whose DNS points at the VPS",
        ),
        (
            "error",
            "apps are public but no tunnel is configured",
            "add access.tunnel (Pangolin endpoint and site)",
        ),
    ]
    # `access:` is not written at all, so the findings point at the top of the blueprint
    assert {kit.at(f) for f in found} == {kit.pos(text, "version: 1")}


def test_public_app_with_a_domain_but_no_tunnel(kit: BlueprintKit) -> None:
    text = kit.text(stacks=_stack("tweb: {exposure: public}"), access="\ndomain: mydomain.net\n")
    [finding] = kit.findings(text, ID)
    assert finding.message == "apps are public but no tunnel is configured"
    assert kit.at(finding) == kit.pos(text, "\naccess:")


def test_exposure_without_a_web_interface(kit: BlueprintKit) -> None:
    text = kit.text(stacks=_stack("tnoweb: {exposure: lan}"))
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "tnoweb has no web interface, so exposure lan means nothing"
    assert finding.hint == "remove `exposure:` or set it to none"
    assert kit.at(finding) == kit.pos(text, "exposure: lan")


def test_admin_interface_cannot_be_public(kit: BlueprintKit) -> None:
    text = kit.text(stacks=_stack("tadmin: {exposure: public}"), access=ACCESS)
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "tadmin is an admin interface and cannot be public"
    assert finding.hint == "use exposure: lan and reach it over the LAN or a VPN"
    assert kit.at(finding) == kit.pos(text, "exposure: public")


def test_docker_socket_cannot_be_public(kit: BlueprintKit) -> None:
    text = kit.text(stacks=_stack("tsock: {exposure: public}"), access=ACCESS)
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "tsock holds the Docker socket and cannot be public"
    assert kit.at(finding) == kit.pos(text, "exposure: public")


def test_admin_and_socket_apps_on_the_lan_pass(kit: BlueprintKit) -> None:
    text = kit.text(stacks=_stack("tadmin: {}\ntsock: {exposure: lan}"))
    assert kit.findings(text, ID) == []


def test_tunnel_without_single_sign_on_and_placeholder_domain(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks=_stack("tweb: {exposure: public}"),
        access="""
        domain: example.org
        tunnel:
          endpoint: https://pangolin.example.org
          site: home
          sso: false
        """,
    )
    found = kit.findings(text, ID)
    assert [(f.severity, f.message, f.hint) for f in found] == [
        (
            "warning",
            "access.domain is the placeholder example.org",
            "set your own domain before deploying the tunnel",
        ),
        (
            "warning",
            "public apps are reachable without the tunnel's single sign-on",
            "keep sso: true unless every public app has strong login and 2FA",
        ),
    ]
    assert kit.at(found[0]) == kit.pos(text, "domain: example.org")
    assert kit.at(found[1]) == kit.pos(text, "sso: false")


def test_placeholder_domain_without_public_apps_is_fine(kit: BlueprintKit) -> None:
    assert kit.findings(kit.text(access="\ndomain: example.com\n"), ID) == []
