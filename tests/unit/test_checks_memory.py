"""The memory check: reservations fit the host after the OS and Docker reserve; limits may not."""

from __future__ import annotations

import pytest

from conftest import BlueprintKit
from lares.errors import ConfigErrors
from lares.plan.checks.memory import budget

ID = "memory"
GiB = 1024**3
MiB = 1024**2


def _host(memory: str, reserved: str | None = None) -> str:
    text = f"\nname: testhost\ncpu: {{cores: 4, threads: 8}}\nmemory: {memory}\n"
    if reserved:
        text += f"reserved: {reserved}\n"
    return text


def _stack(*apps: str) -> str:
    lines = "".join(f"    {a}\n" for a in apps)
    return f"\nmain:\n  network: apps\n  apps:\n{lines}"


def test_small_app_fits(kit: BlueprintKit) -> None:
    text = kit.text()
    assert kit.findings(text, ID) == []
    b = budget(kit.plan(text).context)
    assert (b.total, b.os, b.docker, b.available) == (16 * GiB, 2 * GiB, 1 * GiB, 13 * GiB)
    assert (b.reservations, b.limits) == (64 * MiB, 128 * MiB)
    assert b.by_app == [("main", "tweb", 1, 64 * MiB, 128 * MiB)]
    assert b.cache == 13 * GiB - 64 * MiB


def test_reserve_leaves_nothing(kit: BlueprintKit) -> None:
    text = kit.text(host=_host("3GiB"))
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "the reserve (3.0 GiB) leaves nothing of 3.0 GiB for containers"
    assert finding.hint == "lower host.reserved or correct host.memory"
    # host.reserved is not written (the default applies): the finding points at `host:`
    assert kit.at(finding) == kit.pos(text, "\nhost:")


def test_reserve_written_is_pointed_at(kit: BlueprintKit) -> None:
    text = kit.text(host=_host("4GiB", "{os: 3GiB, docker: 1GiB}"))
    [finding] = kit.findings(text, ID)
    assert finding.message == "the reserve (4.0 GiB) leaves nothing of 4.0 GiB for containers"
    assert kit.at(finding) == kit.pos(text, "reserved: {os: 3GiB")


def test_reservations_above_what_is_available(kit: BlueprintKit) -> None:
    text = kit.text(host=_host("10GiB"), stacks=_stack("tbig: {}"))
    found = kit.findings(text, ID)
    assert [(f.severity, f.message) for f in found] == [
        (
            "error",
            "containers reserve 8.0 GiB, more than the 7.0 GiB left after the OS and Docker "
            "reserve",
        ),
        (
            "error",
            "tbig's memory limit 20.0 GiB is more than the host has for containers (7.0 GiB)",
        ),
        (
            "warning",
            "memory limits add up to 20.0 GiB, above the 7.0 GiB available: if every app peaks "
            "at once the kernel will kill one",
        ),
    ]
    memory_line = kit.pos(text, "memory: 10GiB")
    assert kit.at(found[0]) == memory_line
    assert kit.at(found[1]) == kit.pos(text, "    tbig: {}")
    assert kit.at(found[2]) == memory_line
    assert found[0].hint == "disable apps, lower their memory reservations, or add memory"
    assert found[1].hint == "lower memory.limit for this app"


def test_reservations_near_the_limit_warn(kit: BlueprintKit) -> None:
    # 8 GiB reserved of 9 GiB available is over 80 %; the limit is lowered to fit
    text = kit.text(host=_host("12GiB"), stacks=_stack("tbig: {memory: {limit: 8GiB}}"))
    [finding] = kit.findings(text, ID)
    assert finding.severity == "warning"
    assert finding.message == (
        "containers reserve 8.0 GiB of 9.0 GiB available: little is left for the page cache"
    )
    assert kit.at(finding) == kit.pos(text, "memory: 12GiB")


def test_overrides_change_the_budget(kit: BlueprintKit) -> None:
    text = kit.text(
        host=_host("32GiB"), stacks=_stack("tbig: {memory: {reservation: 1GiB, limit: 2GiB}}")
    )
    assert kit.findings(text, ID) == []
    b = budget(kit.plan(text).context)
    assert (b.reservations, b.limits) == (1 * GiB, 2 * GiB)


def test_override_reservation_above_the_catalog_limit_raises_the_limit(kit: BlueprintKit) -> None:
    text = kit.text(stacks=_stack("tweb: {memory: {reservation: 256MiB}}"))
    [service] = kit.plan(text).system.services
    assert (service.memory_reservation, service.memory_limit) == (256 * MiB, 256 * MiB)
    [finding] = kit.findings(text, ID)
    assert finding.severity == "info"
    assert finding.message == (
        "tweb: memory.reservation 256.0 MiB is above the catalog's limit of 128.0 MiB, "
        "so the limit is 256.0 MiB"
    )
    assert kit.at(finding) == kit.pos(text, "reservation: 256MiB")


def test_override_limit_below_the_catalog_reservation_keeps_the_limit(kit: BlueprintKit) -> None:
    # the person's limit is what they asked for: the reservation comes down to it
    text = kit.text(stacks=_stack("tweb: {memory: {limit: 32MiB}}"))
    [service] = kit.plan(text).system.services
    assert (service.memory_reservation, service.memory_limit) == (32 * MiB, 32 * MiB)
    [finding] = kit.findings(text, ID)
    assert finding.severity == "info"
    assert finding.message == (
        "tweb: memory.limit 32.0 MiB is below the catalog's reservation of 64.0 MiB, "
        "so it reserves 32.0 MiB"
    )
    assert finding.hint == "the app may need more; raise memory.limit if it gets killed"
    assert kit.at(finding) == kit.pos(text, "limit: 32MiB")


def test_override_limit_below_its_own_reservation_is_refused(kit: BlueprintKit) -> None:
    text = kit.text(stacks=_stack("tweb: {memory: {reservation: 96MiB, limit: 80MiB}}"))
    with pytest.raises(ConfigErrors) as caught:
        kit.load(text)
    [error] = caught.value.errors
    assert "the memory limit is below the reservation" in error.message
    assert error.location is not None
    assert (error.location.line, error.location.column) == kit.where(text, "memory: {")
