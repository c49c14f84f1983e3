"""The swarm check: what Docker Swarm does not apply of each app, in `lares plan --target
swarm` — an error where the app or its isolation breaks, a warning with what is lost
otherwise."""

from __future__ import annotations

from conftest import BlueprintKit, Lares, load_test_catalog
from lares.plan import plan
from lares.plan.findings import Finding

ID = "swarm"
QUICKSYNC_HOST = (
    "\nname: testhost\ncpu: {cores: 4, threads: 8, features: [quicksync]}\nmemory: 16GiB\n"
    "groups: {render: 993}\n"
)


def _findings(kit: BlueprintKit, apps: str, **sections: str) -> list[Finding]:
    text = kit.text(stacks=f"\nmain:\n  network: apps\n  apps: {apps}\n", **sections)
    assert kit.findings(text, ID) == []  # only for --target swarm
    result = plan(kit.load(text), catalog=load_test_catalog(), only=[ID], target="swarm")
    return [f for f in result.findings if f.id == ID]


def _by_message(found: list[Finding]) -> dict[str, Finding]:
    return {f.message: f for f in found}


def test_vpn_routing_through_another_container_is_an_error(kit: BlueprintKit) -> None:
    found = _by_message(_findings(kit, "[tvpn]"))
    vpn = found[
        "Swarm ignores tvpn-client's network_mode service:tvpn: it gets a network of its own and "
        "its traffic no longer goes only through tvpn (the isolation is broken)"
    ]
    assert vpn.severity == "error"
    assert vpn.subject == "stacks.main.apps.tvpn"
    assert vpn.hint is not None and "keep this app on Docker Compose" in vpn.hint


def test_quick_sync_lost_is_a_warning(kit: BlueprintKit) -> None:
    found = _by_message(_findings(kit, "[tgpu]", host=QUICKSYNC_HOST))
    gpu = found[
        "Swarm ignores devices: tgpu does not get /dev/dri:/dev/dri (Quick Sync), so it "
        "transcodes on the CPU (nor group_add, which lets it open them)"
    ]
    assert gpu.severity == "warning"


def test_no_new_privileges_moves_to_daemon_json(kit: BlueprintKit) -> None:
    [finding] = _findings(kit, "[tweb]")
    assert finding.severity == "warning"
    assert finding.message == "Swarm ignores security_opt: no-new-privileges is not set for tweb"
    assert finding.hint is not None
    assert '"no-new-privileges": true in /etc/docker/daemon.json on every node' in finding.hint


def test_a_loopback_port_opens_on_every_address(kit: BlueprintKit) -> None:
    found = _by_message(_findings(kit, "[tlocal]"))
    local = found[
        "tlocal publish on 127.0.0.1 under Compose; Swarm has no host address for a port, so it "
        "is open on every address of the node"
    ]
    assert local.severity == "warning"


def test_a_service_name_over_63_characters_is_an_error(kit: BlueprintKit) -> None:
    stack = "s" * 55
    text = kit.text(stacks=f"\n{stack}:\n  network: apps\n  apps: [tvpn]\n")
    result = plan(kit.load(text), catalog=load_test_catalog(), only=[ID], target="swarm")
    long = [f for f in result.findings if "characters" in f.message]
    assert long and all(f.severity == "error" for f in long)
    assert f"{stack}_tvpn-client" in " ".join(f.message for f in long)
    assert not [f for f in _findings(kit, "[tvpn]") if "characters" in f.message]


def test_the_reference_for_swarm(lares: Lares) -> None:
    plain = lares("plan")
    assert "[swarm]" not in plain.stdout
    proc = lares("plan", "--target", "swarm")
    assert proc.returncode == 1  # qBittorrent's VPN-only routing breaks
    out = proc.stdout
    assert (
        "stacks.media.apps.qbittorrent: error [swarm] Swarm ignores qbittorrent's network_mode "
        "service:qbittorrent-gluetun: it gets a network of its own and its traffic no longer "
        "goes only through qbittorrent-gluetun (the isolation is broken)"
    ) in out
    assert (
        "stacks.media.apps.qbittorrent: error [swarm] Swarm ignores devices: qbittorrent-gluetun "
        "does not get /dev/net/tun:/dev/net/tun, which it cannot work without"
    ) in out
    assert (
        "stacks.media.apps.emby: warning [swarm] Swarm ignores devices: emby does not get "
        "/dev/dri:/dev/dri (Quick Sync), so it transcodes on the CPU"
    ) in out
    sonarr = "stacks.media.apps.sonarr: warning [swarm] sonarr's tmpfs /run loses "
    assert sonarr + "uid=1000,gid=1000,exec" in out
    apps = int(out.split(" apps, ", 1)[0].rsplit(" ", 1)[1])
    assert apps > 20 and out.count("Swarm ignores security_opt") == apps  # one per app
    assert out.count("error [swarm]") == 2
    assert (
        "stacks.infrastructure.apps.dockge: warning [swarm] dockge uses the Docker "
        "socket of the node it runs on"
    ) in out
    unknown = lares("plan", "--target", "nomad")
    assert unknown.returncode == 2 and "unknown render target 'nomad'" in unknown.stderr
