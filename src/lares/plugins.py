"""One way to find plug-ins: the modules of a package, by name or by the id they declare.

Commands, plan checks, doctor checks, collectors, renderers, backup hooks and audit rule families
are each one module in their package; adding one is adding a file. Modules whose name starts
with ``_`` are private helpers and never plug-ins; a module without the attributes a kind
requires (``require``) is a helper too and is left out.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from types import ModuleType


def modules(
    package: str, *, require: Iterable[str] = (), skip: Iterable[str] = ()
) -> dict[str, ModuleType]:
    """Every public module of ``package`` that has all of ``require``, by module name, sorted."""
    pkg = importlib.import_module(package)
    needed, skipped = tuple(require), set(skip)
    found: dict[str, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name in skipped:
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        if all(hasattr(module, name) for name in needed):
            found[info.name] = module
    return found


def by_id(
    package: str, kind: str, *, key: str = "ID", require: Iterable[str] = ()
) -> dict[str, ModuleType]:
    """The plug-ins of ``package`` by the id each declares in ``key``; two with one id are a bug."""
    found: dict[str, ModuleType] = {}
    for module in modules(package, require=(key, *require)).values():
        ident = getattr(module, key)
        if ident in found:
            raise RuntimeError(f"two {kind} share the id {ident!r}")
        found[ident] = module
    return found
