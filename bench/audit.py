"""How fast `lares audit` is, side by side with compose-lint on the same files.

1. The 18 real compose files of ../shared/corpus: `lares audit FILES --json` and
   `compose-lint --format json FILES`, whole processes.
2. `lares audit --running --json` with 40 containers on the engine (busybox, started for the
   run, named lt-audit-bench-*, removed at the end even when it fails).
3. `lares audit --json --no-drift` on the embedded reference (its stacks, rendered and read
   in Python), and compose-lint on the same rendered files.

Each row gives the median wall time and the median CPU time (user + system, the process and
the processes it started): on a shared machine the first waits for the others, the second
does not.

Usage: python3 bench/audit.py [--runs N] [--write]   (--write updates bench/BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from plan import machine, precompile, write_section

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / ".." / "shared" / "corpus"
IMAGE = "lares-test/busybox:1"
PREFIX = "lt-audit-bench-"
NOTE = (
    "A compose file that needs nothing only Compose does is read in Python "
    "(`lares.audit.native`; tests/integration/test_audit_native.py shows it gives the containers "
    "Compose gives, for every corpus file, every rule case and the reference render); the others "
    "go to Compose (`config --format json`), four at a time. Of the corpus, two files need "
    "Compose: unset variables make a volume spec it refuses in one, an env_file path is a "
    "variable in the other; each costs one Compose process, which refuses it, and is then read "
    "as written in Python (before: a second Compose process, in turn). The reference render is "
    "lares's own output and starts no Compose: what is left is what `lares plan` costs (Python's "
    "start, the blueprint's models, the catalog) and the render. The wall times wait for the "
    "CPU this shared machine's other work takes (the anchor row was 2.2 s at load 9 before "
    "this change); the CPU column does not. Measured side by side at load 11 on 2026-12-02, "
    "lares before the Python reader took 1.5 s of CPU (3.3 to 4.9 s wall) on the corpus and "
    "1.0 s (3.0 to 4.5 s wall) on the reference render, against 0.4 s (1.1 to 1.5 s) and "
    "0.5 s (1.0 to 1.6 s) with it."
)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(
    argv: list[str], runs: int, env: dict[str, str], cwd: Path | None = None
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each run of ``argv`` (its children's CPU included)."""
    times, cpu = [], []
    for _ in range(runs):
        start, used = time.perf_counter(), _cpu()
        proc = subprocess.run(argv, capture_output=True, env=env, cwd=cwd, check=False)
        times.append(time.perf_counter() - start)
        cpu.append(_cpu() - used)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr.decode()[-2000:]}")
    return times, cpu


def compose_alone(files: list[str], runs: int) -> list[float]:
    """The floor lares builds on: one Compose process per file, one after another (a file
    Compose refuses as is is loaded again without interpolation)."""
    from lares.audit.targets import compose_argv

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for f in files:
            base = [*compose_argv(), "--profile", "*", "-f", f, "config", "--format", "json"]
            if subprocess.run(base, capture_output=True, check=False).returncode != 0:
                subprocess.run([*base, "--no-interpolate", "--no-env-resolution"],
                               capture_output=True, check=False)  # fmt: skip
        times.append(time.perf_counter() - start)
    return times


def in_process(files: list[str], runs: int) -> tuple[int, int, list[float], list[float]]:
    """lares's own share, in-process: reading the corpus files that need no Compose in
    Python, and the rule table on all the corpus's containers, already loaded."""
    from lares.audit.engine import check_containers
    from lares.audit.targets import _missing_env_file, load_files, native_file

    paths = [Path(f) for f in files]
    texts = {p: p.read_text() for p in paths}
    loaded = load_files(paths)
    native, rules = [], []
    count = 0
    for _ in range(runs):
        start = time.perf_counter()
        count = sum(
            native_file(p, texts[p], as_written=_missing_env_file(p) is not None) is not None
            for p in paths
        )
        native.append(time.perf_counter() - start)
        start = time.perf_counter()
        check_containers(loaded.containers, lines=loaded.lines)
        rules.append(time.perf_counter() - start)
    return count, len(loaded.containers), native, rules


def containers(count: int) -> None:
    for n in range(count):
        subprocess.run(
            ["docker", "run", "-d", "--name", f"{PREFIX}{n:02d}", "--memory", "32m",
             "--label", f"com.docker.compose.project=lt-audit-bench-{n % 4}",
             IMAGE, "sleep", "3600"],
            capture_output=True, check=True,
        )  # fmt: skip


def remove_containers() -> None:
    names = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"name=^{PREFIX}"],
        capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    if names:
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True, check=False)


def secs(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.4f} s" if value < 0.01 else f"{value:.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    files = sorted(str(p) for p in CORPUS.iterdir() if p.suffix in (".yml", ".yaml"))
    precompile()
    started = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="lares-bench-audit-") as tmp:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), LARES_STATE_DIR=f"{tmp}/state")
        lares = [sys.executable, "-m", "lares"]
        render = Path(tmp) / "render"
        subprocess.run([*lares, "render", "-o", str(render)], env=env, capture_output=True,
                       check=True)  # fmt: skip
        stacks = sorted(str(p) for p in render.glob("*/compose.yaml"))
        rows: list[tuple[str, float, float | None]] = []

        def row(what: str, wall_cpu: tuple[list[float], list[float]]) -> None:
            wall, cpu = wall_cpu
            rows.append((what, statistics.median(wall), statistics.median(cpu)))

        for what, argv in (
            (f"`lares audit` on the {len(files)} corpus files",
             [*lares, "audit", "--json", *files]),
            (f"`compose-lint` on the same {len(files)} files",
             ["compose-lint", "--format", "json", *files]),
            ("`lares audit --no-drift`, the reference render",
             [*lares, "audit", "--json", "--no-drift"]),
            ("`compose-lint` on the rendered stack files",
             ["compose-lint", "--format", "json", *stacks]),
            ("for scale: `lares --help`", [*lares, "--help"]),
            ("for scale: `lares plan` (loads and resolves the reference, as the audit does)",
             [*lares, "plan", "--json"]),
        ):  # fmt: skip
            row(what, timed(argv, args.runs, env, Path(tmp)))
        rows.append(("anchor: the Compose binary alone, `config` on each corpus file in turn",
                     statistics.median(compose_alone(files, args.runs)), None))  # fmt: skip
        native, count, t_native, t_rules = in_process(files, args.runs)
        rows.append((f"of which: the {native} corpus files Compose is not needed for, read in "
                     "Python, in-process", statistics.median(t_native), None))  # fmt: skip
        rows.append((f"of which: the rules on the corpus's {count} containers, in-process",
                     statistics.median(t_rules), None))  # fmt: skip
        remove_containers()
        try:
            containers(40)
            running = [*lares, "audit", "--running", "--json"]
            row("`lares audit --running`, 40 containers on the engine",
                timed(running, args.runs, env, Path(tmp)))  # fmt: skip
        finally:
            remove_containers()
    load = os.getloadavg()[0]
    table = ["| what | median wall | median CPU |", "| --- | --- | --- |"]
    table += [f"| {what} | {secs(wall)} | {secs(cpu)} |" for what, wall, cpu in rows]
    text = "\n".join(
        [
            "## Audit",
            "",
            f"Measured {time.strftime('%Y-%m-%d')} on {machine()}; median of {args.runs} runs, "
            f"whole processes, lares's bytecode compiled as `pip install .` leaves it; load "
            f"average {started:.1f} at the start and {load:.1f} when done (a shared machine). "
            "`python3 bench/audit.py --write`.",
            "",
            *table,
            "",
            NOTE,
            "",
        ]
    )
    print(text)
    if args.write:
        write_section(ROOT / "bench" / "BENCHMARKS.md", "## Audit", text)


if __name__ == "__main__":
    main()
