"""Quick Sync: the GPU's devices and the host's render group, only where the host has both."""

from __future__ import annotations

from conftest import BlueprintKit
from lares.render import compose as compose_renderer
from lares.yamlio import load_yaml

STACK = "\nmain:\n  network: apps\n  apps: [tgpu]\n"


def _host(features: str = "[quicksync]", groups: str = "") -> str:
    return (
        f"\nname: testhost\ncpu: {{cores: 4, threads: 8, features: {features}}}\n"
        f"memory: 16GiB\n{groups}"
    )


def _service(kit: BlueprintKit, text: str) -> dict[str, object]:
    result = kit.plan(text)
    assert result.errors == [], [f.render() for f in result.errors]
    bundle = compose_renderer.render(result.system, "test.yaml")
    doc = load_yaml(bundle.files["main/compose.yaml"].content, filename="compose.yaml")
    service: dict[str, object] = doc["services"]["tgpu"]
    return service


def test_a_host_with_quick_sync_and_its_render_gid_gives_both(kit: BlueprintKit) -> None:
    text = kit.text(host=_host(groups="groups: {render: 993}\n"), stacks=STACK)
    service = _service(kit, text)
    assert service["devices"] == ["/dev/dri:/dev/dri"]
    assert service["group_add"] == [993]
    assert service["user"] == "1000:1000"
    assert kit.findings(text, "gpu") == []
    assert kit.findings(text, "hardening") == []


def test_without_the_render_gid_the_app_runs_on_the_cpu_and_plan_says_how(
    kit: BlueprintKit,
) -> None:
    text = kit.text(host=_host(), stacks=STACK)
    service = _service(kit, text)
    assert "devices" not in service
    assert "group_add" not in service
    [finding] = kit.findings(text, "gpu")
    assert finding.severity == "info"
    assert finding.message == "tgpu transcodes on the CPU: host.groups.render is not set"
    assert finding.hint is not None
    assert "`groups: {render: <gid>}`" in finding.hint
    assert "getent group render" in finding.hint
    assert kit.at(finding) == kit.pos(text, "host:")


def test_a_host_without_quick_sync_gets_no_device_and_no_note(kit: BlueprintKit) -> None:
    # the same gid is set, but there is no GPU to open: the app must still start
    text = kit.text(host=_host(features="[aes-ni]", groups="groups: {render: 993}\n"), stacks=STACK)
    service = _service(kit, text)
    assert "devices" not in service
    assert "group_add" not in service
    assert kit.findings(text, "gpu") == []


def test_quick_sync_devices_need_a_declared_reason(kit: BlueprintKit) -> None:
    # on any host: the catalog file is what needs the reason
    for host in (_host(groups="groups: {render: 993}\n"), _host(features="[]")):
        text = kit.text(host=host, stacks="\nmain:\n  network: apps\n  apps: [tgpuloose]\n")
        [finding] = kit.findings(text, "hardening")
        assert finding.message == "tgpuloose: devices without a declared reason"
