"""Every plug-in of every kind is found by lares.plugins and has what its Protocol asks for."""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

import pytest

from lares import plugins
from lares.backup import hooks
from lares.host import doctor
from lares.monitor import collectors
from lares.plan import checks
from lares.render import Renderer, renderers


def _members(protocol: type) -> set[str]:
    """What a Protocol declares: its annotated attributes and its methods."""
    names = set(getattr(protocol, "__annotations__", {}))
    names |= {n for n, v in vars(protocol).items() if inspect.isfunction(v) and n[0] != "_"}
    return names


def _assert_satisfies(module: ModuleType, protocol: type) -> None:
    missing = sorted(n for n in _members(protocol) if not hasattr(module, n))
    assert not missing, f"{module.__name__} lacks {missing} of {protocol.__name__}"
    for name in _members(protocol):
        member = getattr(protocol, name, None)
        if inspect.isfunction(member):
            assert callable(getattr(module, name)), f"{module.__name__}.{name} is not callable"


KINDS: list[tuple[str, dict[str, Any], type]] = [
    ("plan checks", checks.discover(), checks.Check),
    ("doctor checks", doctor.discover(), doctor.Check),
    ("collectors", collectors.discover(), collectors.Collector),
    ("renderers", renderers(), Renderer),
]


@pytest.mark.parametrize(("kind", "found", "protocol"), KINDS, ids=[k[0] for k in KINDS])
def test_every_plugin_satisfies_its_protocol(kind: str, found: dict[str, Any], protocol: type):
    assert found, f"no {kind} found"
    for module in found.values():
        _assert_satisfies(module, protocol)


def test_backup_hooks_satisfy_the_protocol_of_their_kind() -> None:
    by_kind = {"database": hooks.DatabaseHook, "snapshot": hooks.SnapshotHook}
    found = hooks.discover()
    assert {getattr(m, "KIND", None) for m in found.values()} == set(by_kind)
    for module in found.values():
        _assert_satisfies(module, by_kind[module.KIND])  # type: ignore[attr-defined]


def test_ids_are_module_names_where_the_kind_says_so() -> None:
    for found in (checks.discover(), doctor.discover(), collectors.discover()):
        for ident, module in found.items():
            assert module.__name__.rsplit(".", 1)[1] == ident


def test_private_and_helper_modules_are_not_plugins() -> None:
    found = plugins.modules("lares.monitor.collectors")
    assert all(not name.startswith("_") for name in found)
    with_collect = plugins.modules("lares.monitor.collectors", require=("ID", "collect"))
    assert set(with_collect) == set(collectors.discover())


def test_two_plugins_with_one_id_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = plugins.modules

    def twins(package: str, **kwargs: Any) -> dict[str, ModuleType]:
        found = real(package, **kwargs)
        first = next(iter(found.values()))
        return {**found, "copy": first}

    monkeypatch.setattr(plugins, "modules", twins)
    with pytest.raises(RuntimeError, match="two plan checks share the id"):
        plugins.by_id("lares.plan.checks", "plan checks")
