"""Hostile and broken blueprints, built on the fly, and a child process that loads one and
measures what it cost (for tests/unit/test_hostile_input.py and bench/hostile.py).

Each case is the kind of file a stranger can hand someone: an alias bomb ("billion laughs"),
merge keys nested level upon level, nesting a million deep, a file over the size limit, far too
many keys or unset variables, and the same bombs inside the otherwise valid reference blueprint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from lares.blueprint.load import reference_text
from lares.yamlio import MAX_BLUEPRINT_BYTES


def laughs(levels: int = 9, width: int = 10) -> str:
    """Each anchor holds ``width`` aliases of the one before: width**levels strings."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def merges(levels: int = 40) -> str:
    """``<<: [*m, *m]`` on every level: the last mapping merges 2**levels copies."""
    lines = ["m0: &m0 {k: v}"]
    for i in range(1, levels):
        lines.append(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: v}}")
    return "\n".join(lines) + "\n"


def deep_flow(depth: int = 500_000) -> str:
    """``[[[[…`` half a million deep (libyaml's own composer crashes the process on it)."""
    return "a: " + "[" * depth + "\n"


def deep_block(depth: int = 1_000) -> str:
    """Block mappings nested ``depth`` deep."""
    return "".join(" " * i + f"k{i}:\n" for i in range(depth)) + " " * depth + "x: 1\n"


def many_keys(count: int) -> str:
    """The reference blueprint plus ``count`` unknown top-level keys."""
    return reference_text() + "".join(f"unknown{i}: {i}\n" for i in range(count))


def unset_variables(count: int) -> str:
    """The reference blueprint with ``count`` variables that are not set."""
    return reference_text() + "x-notes:\n" + "".join(f"  - ${{UNSET_{i}}}\n" for i in range(count))


def oversized() -> str:
    """One byte over the size limit, as comments (cheap to parse, if it were parsed)."""
    line = "# " + "x" * 77 + "\n"
    text = line * (MAX_BLUEPRINT_BYTES // len(line) + 1)
    return text[: MAX_BLUEPRINT_BYTES + 1]


def full_of_values() -> str:
    """Just under the size limit, and holding more values than the loader takes."""
    text = reference_text() + "x-list:\n"
    item = "  - v\n"
    return text + item * ((MAX_BLUEPRINT_BYTES - len(text.encode())) // len(item))


def inside_reference(bomb: str) -> str:
    """``bomb``'s top-level keys added to the otherwise valid reference blueprint."""
    return reference_text() + bomb


#: name → (the text, the error code it must be refused with)
CASES: dict[str, tuple[Callable[[], str], str]] = {
    "billion laughs": (laughs, "yaml-limit"),
    "merge keys, 40 levels": (merges, "yaml-limit"),
    "flow nesting 500,000 deep": (deep_flow, "yaml-limit"),
    "block nesting 1,000 deep": (deep_block, "yaml-limit"),
    "laughs in the reference": (lambda: inside_reference(laughs()), "yaml-limit"),
    "merges in the reference": (lambda: inside_reference(merges()), "yaml-limit"),
    "1 MiB + 1 byte": (oversized, "file-refused"),
    "1 MiB of values": (full_of_values, "yaml-limit"),
    "20,000 unknown keys": (lambda: many_keys(20_000), "schema"),
    "20,000 unset variables": (lambda: unset_variables(20_000), "env-unset"),
}

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from lares.blueprint.load import load_file
from lares.errors import ConfigErrors

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

path = Path(sys.argv[1])
wall, start = time.perf_counter(), cpu()
try:
    load_file(path, env={})
    outcome = {"loaded": True}
except ConfigErrors as exc:
    text = exc.render()
    outcome = {
        "codes": sorted({e.code for e in exc.errors}),
        "messages": [e.message for e in exc.errors],
        "hints": [e.hint for e in exc.errors],
        "lines": [e.location.line if e.location else None for e in exc.errors],
        "listed": len(exc.errors),
        "omitted": exc.omitted,
        "render_bytes": len(text.encode()),
        "last_line": text.splitlines()[-1],
    }
outcome["wall"] = time.perf_counter() - wall
outcome["cpu"] = cpu() - start
# VmHWM, this process's own peak: ru_maxrss keeps the parent's peak across fork and exec
status = Path("/proc/self/status").read_text()
hwm = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
outcome["rss_mib"] = int(hwm.split()[1]) / 1024
print(json.dumps(outcome))
"""


def measure(path: Path, *, timeout: float = 60) -> dict[str, object]:
    """Load the blueprint at ``path`` in a new interpreter; what it said and what it cost:
    wall and CPU seconds of the load alone, and the child's peak RSS (MiB, imports included).
    A crash of the child (a signal, a traceback) fails with its stderr."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    result: dict[str, object] = json.loads(proc.stdout)
    return result
