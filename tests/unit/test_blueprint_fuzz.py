"""Property: whatever text the loader is fed, it returns a blueprint or raises ConfigErrors.

Never a traceback: every other exception is a bug. Each error must say where it is — the file,
and a line (≥ 1) whenever it has a position. A blueprint that loads must also plan without an
exception. Inputs: random text, random YAML-shaped data built from the blueprint's own key names,
and mutations of the reference blueprint (lines deleted, duplicated or re-indented, values
swapped, keys renamed, characters inserted). The hostile classes — alias and merge-key bombs,
deep nesting, host paths built to climb out of their roots, absurd sizes — must also be answered
in bounded time and memory, and a path that leaves its root never reaches a compose file.

Found this way and kept as examples: ``"\r["`` (YAML counts a lone CR as a line break).
"""

from __future__ import annotations

import json
import os
import re
import time
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hostile import inside_reference, laughs, merges
from lares.blueprint.load import Loaded, load_text, reference_text
from lares.errors import ConfigErrors
from lares.yamlio import dump_yaml

FILENAME = "fuzz.yaml"
REFERENCE_LINES = reference_text().splitlines(keepends=True)
# The suite runs the same examples every time (a failure in CI is then a change, not luck);
# LARES_FUZZ_RANDOM=1 explores new ones.
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("LARES_FUZZ_RANDOM") != "1",
)

# Key names the blueprint uses, so random data often reaches deep into the models.
KEYS = [
    "version", "host", "name", "cpu", "cores", "threads", "memory", "reserved", "os", "docker",
    "paths", "appdata", "pool", "folders", "storage", "pools", "engine", "level", "devices",
    "path", "size", "mount", "network", "lan", "host_address", "statics", "dhcp", "start", "end",
    "subnet", "internal", "purpose", "stacks", "apps", "enabled", "exposure", "env", "volumes",
    "containers", "access", "domain", "tunnel", "endpoint", "site", "backup", "repositories",
    "url", "copy_from", "retention", "monitor", "notify", "secret", "thresholds", "interval",
    "catalog", "depends_on", "limit", "reservation",
]  # fmt: skip


def _check_outcome(text: str, *, plan_it: bool = False) -> None:
    """Load ``text``; only ConfigErrors may escape, each with a usable location."""
    try:
        loaded = load_text(text, filename=FILENAME, env={"HOME": "/root"})
    except ConfigErrors as exc:
        assert exc.errors, "ConfigErrors without a single error"
        for error in exc.errors:
            loc = error.location
            assert loc is not None, error.render()
            assert loc.file == FILENAME, error.render()
            if loc.line is not None:
                assert loc.line >= 1, error.render()
                # YAML breaks lines at \r too: count every break str.splitlines knows
                assert loc.line <= len(text.splitlines()) + 2, error.render()
            if loc.column is not None:
                assert loc.column >= 1, error.render()
            assert error.message
            assert error.render()
        assert exc.render()
        return
    if plan_it:
        _plan(loaded)


def _plan(loaded: Loaded) -> None:
    from lares.plan import plan

    result = plan(loaded)
    for finding in result.findings:
        assert finding.render()


# ── random text ──────────────────────────────────────────────────────────────────────────────


@settings(FUZZ, max_examples=60)
@given(st.text(max_size=300))
@example("\r[")
def test_random_text(text: str) -> None:
    _check_outcome(text)


@settings(FUZZ, max_examples=30)
@given(
    st.lists(
        st.sampled_from(
            [
                "host:",
                "  name: x",
                "- a",
                "  - {",
                "}",
                "]",
                "[",
                ": :",
                "? a",
                "&a b",
                "*a",
                "!!str",
                "!!binary x",
                "|",
                ">-",
                "'",
                '"',
                "\t",
                "  ",
                "#",
                "---",
                "...",
                "${X}",
                "$${",
                "<<: *a",
                "%YAML 1.2",
                "stacks: {a: {apps: [b]}}",
                "\x00",
                "memory: 1e400",
                "size: .inf",
                "cores: -1",
                "~: 1",
                "[a]: b",
            ]
        ),
        max_size=12,
    )
)
def test_random_yaml_tokens(lines: list[str]) -> None:
    _check_outcome("\n".join(lines))


# ── random YAML-shaped data ──────────────────────────────────────────────────────────────────

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        ["12TB", "32GiB", "10.0.0.0/24", "10.0.0.1", "raid5", "btrfs", "mdadm", "/srv", "lan",
         "public", "${UNSET}", "${X:-1}", "30s", "latest", "/dev/sda", "sftp:x"]
    ),
)  # fmt: skip
DATA = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=5
        ),
    ),
    max_leaves=30,
)


@settings(FUZZ, max_examples=60)
@given(st.dictionaries(st.sampled_from(KEYS), DATA, max_size=8))
def test_random_structures(data: dict[str, Any]) -> None:
    _check_outcome(dump_yaml(data))


# ── mutations of the reference blueprint ─────────────────────────────────────────────────────


def _value_of(line: str) -> str | None:
    key, sep, value = line.partition(": ")
    return value.rstrip("\n") if sep and key.strip() and not key.strip().startswith("#") else None


@st.composite
def mutated_reference(draw: st.DrawFn) -> str:
    lines = list(REFERENCE_LINES)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not lines:
            break
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        kind = draw(
            st.sampled_from(["delete", "duplicate", "indent", "swap", "rename", "insert", "cut"])
        )
        line = lines[i]
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, line)
        elif kind == "indent":
            shift = draw(st.sampled_from([-4, -2, 1, 2, 4]))
            lines[i] = " " * max(shift, 0) + (line[-shift:] if shift < 0 else line)
        elif kind == "swap":
            j = draw(st.integers(min_value=0, max_value=len(lines) - 1))
            a, b = _value_of(lines[i]), _value_of(lines[j])
            if a is not None and b is not None:
                lines[i] = lines[i].replace(": " + a, ": " + b, 1)
                lines[j] = lines[j].replace(": " + b, ": " + a, 1)
        elif kind == "rename":
            key = line.split(":", 1)[0].strip()
            if key and not key.startswith("#"):
                new = draw(st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=8)))
                lines[i] = line.replace(key, new, 1)
        elif kind == "insert":
            pos = draw(st.integers(min_value=0, max_value=len(line)))
            junk = draw(st.sampled_from([":", "{", "[", "'", "- ", "#", "&", "*", "!", "%", "\t"]))
            lines[i] = line[:pos] + junk + line[pos:]
        else:
            lines = lines[:i]
    return "".join(lines)


@settings(FUZZ, max_examples=110)
@given(mutated_reference())
def test_mutated_reference(text: str) -> None:
    _check_outcome(text, plan_it=True)


def test_reference_itself_loads_and_plans() -> None:
    loaded = load_text(reference_text(), filename=FILENAME, env={})
    assert loaded.blueprint.host.name == "nas"
    _plan(loaded)


# ── hostile classes: bombs, nesting, traversal, absurd sizes ─────────────────────────────────

#: Each example, however hostile, must be answered within these (measured in-process with
#: tracemalloc, which also slows it down: the bounds are generous; bench/hostile.py is precise).
EXAMPLE_SECONDS = 3.0
EXAMPLE_PEAK_MIB = 100


def _bounded(text: str, *, plan_it: bool = False) -> None:
    """:func:`_check_outcome`, in bounded time and memory."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        _check_outcome(text, plan_it=plan_it)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    assert elapsed < EXAMPLE_SECONDS, f"{elapsed:.2f} s for {len(text)} characters"
    assert peak < EXAMPLE_PEAK_MIB * 2**20, f"{peak / 2**20:.0f} MiB for {len(text)} characters"


@settings(FUZZ, max_examples=40)
@given(
    levels=st.integers(min_value=1, max_value=14),
    width=st.integers(min_value=1, max_value=12),
    in_reference=st.booleans(),
)
def test_alias_bombs(levels: int, width: int, in_reference: bool) -> None:
    bomb = laughs(levels, width)
    _bounded(inside_reference(bomb) if in_reference else bomb)


@settings(FUZZ, max_examples=30)
@given(levels=st.integers(min_value=1, max_value=64), in_reference=st.booleans())
def test_merge_key_bombs(levels: int, in_reference: bool) -> None:
    bomb = merges(levels)
    _bounded(inside_reference(bomb) if in_reference else bomb)


@settings(FUZZ, max_examples=40)
@given(
    openers=st.lists(st.sampled_from(["[", "{a: ", "- ", "a:\n", "&x [", "? "]), max_size=200),
    repeat=st.integers(min_value=1, max_value=2_000),
)
def test_deep_nesting(openers: list[str], repeat: int) -> None:
    _bounded("".join(openers) * repeat)


SEGMENTS = ["..", ".", "", "etc", "root", "proc", "var", "lib", "docker", "x", "~", "{appdata}",
            "{pool}", "{folder:tv}", "/", "srv", "DATA", "AppData"]  # fmt: skip


@st.composite
def traversal(draw: st.DrawFn) -> str:
    """The reference blueprint with a host path built of hostile segments in an override
    volume, a declared host path, paths.appdata or paths.pool."""
    parts = draw(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=8))
    path = ("/" if draw(st.booleans()) else "") + "/".join(parts)
    where = draw(st.sampled_from(["volume", "declared", "appdata", "pool"]))
    text = reference_text()
    quoted = json.dumps(path)
    if where == "volume":
        mode = draw(st.sampled_from(["", ":ro"]))
        return text.replace("      sonarr: {}", f'      sonarr: {{volumes: ["{path}:/x{mode}"]}}')
    if where == "declared":
        return text.replace(
            "      sonarr: {}",
            f'      sonarr: {{volumes: ["{path}:/x"], host_paths: {{{quoted}: the old disk}}}}',
        )
    key = "appdata" if where == "appdata" else "pool"
    return re.sub(rf"(?m)^  {key}: \S+", f"  {key}: {quoted}", text, count=1)


@settings(FUZZ, max_examples=120)
@given(traversal())
def test_traversal_paths_never_reach_a_compose_file(text: str) -> None:
    """A path that leaves its root is an error, and no error of the paths check ever renders."""
    from lares.catalog.mounts import source_of
    from lares.hostpaths import DOCKER_SOCKETS, normal, refused, under
    from lares.plan import plan
    from lares.render import render_all

    _bounded(text)
    try:
        loaded = load_text(text, filename=FILENAME, env={})
    except ConfigErrors:
        return
    result = plan(loaded)
    bp = loaded.blueprint
    if any(f.id == "paths" for f in result.errors):
        with pytest.raises(ConfigErrors):
            render_all(result.system)
        return
    for app in result.system.apps:
        for service in app.services:
            override = app.settings if service.is_main else app.settings.containers.get(service.key)
            roots = [bp.paths.appdata, bp.paths.pool, *service.spec.host_paths]
            roots += [*override.host_paths] if override is not None else []
            roots += list(DOCKER_SOCKETS) if "docker_socket" in service.spec.exceptions else []
            for volume in service.volumes:
                source = source_of(volume)
                if source.startswith("/"):
                    path = normal(source)
                    assert refused(path) is None, volume
                    assert any(under(path, root) for root in roots), volume
                elif source.startswith("."):
                    assert not normal(source).startswith(".."), volume
                else:
                    assert not source.startswith("~"), volume


SIZES = st.one_of(
    st.integers(min_value=-(2**100), max_value=2**100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.builds(
        lambda n, unit: f"{n}{unit}",
        st.one_of(st.integers(min_value=0, max_value=10**24), st.decimals(0, 10**6, places=3)),
        st.sampled_from(["", "B", "k", "KiB", "MB", "MiB", "g", "GB", "TiB", "TB", "PB", "PiB"]),
    ),
)


@settings(FUZZ, max_examples=80)
@given(drive=SIZES, memory=SIZES, limit=SIZES)
def test_absurd_sizes(drive: Any, memory: Any, limit: Any) -> None:
    """Drives, host memory and container limits load only when plausible."""
    from lares.units import CONTAINER_MEMORY_RANGE, DRIVE_RANGE, HOST_MEMORY_RANGE

    text = reference_text()
    text = re.sub(r"(?m)^  memory: \S+", f"  memory: {json.dumps(str(memory))}", text, count=1)
    text = re.sub(r"size: [0-9.]+[A-Za-z]+", f"size: {json.dumps(str(drive))}", text, count=1)
    text = text.replace(
        "      sonarr: {}", f"      sonarr: {{memory: {{limit: {json.dumps(str(limit))}}}}}"
    )
    _bounded(text)
    try:
        bp = load_text(text, filename=FILENAME, env={}).blueprint
    except ConfigErrors:
        return
    low, high = DRIVE_RANGE
    drives = [d for p in bp.storage.pools.values() for d in p.devices]
    drives += [bp.storage.os_disk] if bp.storage.os_disk else []
    assert all(low <= d.size <= high for d in drives)
    assert HOST_MEMORY_RANGE[0] <= bp.host.memory <= HOST_MEMORY_RANGE[1]
    sonarr = bp.stacks["media"].apps["sonarr"].memory
    assert sonarr is not None and sonarr.limit is not None
    assert CONTAINER_MEMORY_RANGE[0] <= sonarr.limit <= CONTAINER_MEMORY_RANGE[1]
