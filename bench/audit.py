"""How fast `lares audit` is, side by side with compose-lint on the same files.

1. The 18 real compose files of ../shared/corpus: `lares audit FILES --json` and
   `compose-lint --format json FILES`, whole processes.
2. `lares audit --running --json` with 40 containers on the engine (busybox, started for the
   run, named lt-audit-bench-*, removed at the end even when it fails).
3. `lares audit --json --no-drift` on the embedded reference (its stacks, rendered
   and loaded by Compose), and compose-lint on the same rendered files.

Usage: python3 bench/audit.py [--runs N] [--write]   (--write updates bench/BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import os
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
    "Loading a compose file is one Compose process (`config --format json`), so the corpus row "
    "is bound by the anchor row: lares starts four at a time and adds its rules, which take "
    "milliseconds. The target, well under a second each, is not met on this machine while "
    "it is this loaded: the Go processes wait for CPU."
)


def timed(argv: list[str], runs: int, env: dict[str, str], cwd: Path | None = None) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, env=env, cwd=cwd, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr.decode()[-2000:]}")
    return times


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


def rules_alone(files: list[str], runs: int) -> tuple[int, list[float]]:
    """The rule table on the corpus's containers, already loaded: lares's own share."""
    from lares.audit.engine import check_containers
    from lares.audit.targets import load_files

    loaded = load_files([Path(f) for f in files])
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        check_containers(loaded.containers, lines=loaded.lines)
        times.append(time.perf_counter() - start)
    return len(loaded.containers), times


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    files = sorted(str(p) for p in CORPUS.iterdir() if p.suffix in (".yml", ".yaml"))
    precompile()
    with tempfile.TemporaryDirectory(prefix="lares-bench-audit-") as tmp:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), LARES_STATE_DIR=f"{tmp}/state")
        lares = [sys.executable, "-m", "lares"]
        render = Path(tmp) / "render"
        subprocess.run([*lares, "render", "-o", str(render)], env=env, capture_output=True,
                       check=True)  # fmt: skip
        stacks = sorted(str(p) for p in render.glob("*/compose.yaml"))
        rows: list[tuple[str, float, str]] = []
        for what, argv in (
            (f"`lares audit` on the {len(files)} corpus files",
             [*lares, "audit", "--json", *files]),
            (f"`compose-lint` on the same {len(files)} files",
             ["compose-lint", "--format", "json", *files]),
            ("`lares audit --no-drift`, the reference render",
             [*lares, "audit", "--json", "--no-drift"]),
            ("`compose-lint` on the rendered stack files",
             ["compose-lint", "--format", "json", *stacks]),
        ):  # fmt: skip
            rows.append((what, statistics.median(timed(argv, args.runs, env, Path(tmp))), ""))
        rows.append(("anchor: the Compose binary alone, `config` on each corpus file in turn",
                     statistics.median(compose_alone(files, args.runs)), ""))  # fmt: skip
        count, t = rules_alone(files, args.runs)
        rows.append((f"of which: the rules on the corpus's {count} containers, in-process",
                     statistics.median(t), ""))  # fmt: skip
        remove_containers()
        try:
            containers(40)
            t = timed([*lares, "audit", "--running", "--json"], args.runs, env, Path(tmp))
            rows.append(("`lares audit --running`, 40 containers on the engine",
                         statistics.median(t), ""))  # fmt: skip
        finally:
            remove_containers()
    load = os.getloadavg()[0]
    table = ["| what | median |", "| --- | --- |"]
    table += [f"| {what} | {value:.4f} s |" if value < 0.01 else f"| {what} | {value:.3f} s |"
              for what, value, _ in rows]  # fmt: skip
    text = "\n".join(
        [
            "## Audit",
            "",
            f"Measured {time.strftime('%Y-%m-%d')} on {machine()}; median of {args.runs} runs, "
            f"whole processes, lares's bytecode compiled as `pip install .` leaves it; load "
            f"average {load:.1f} when done (a shared machine). "
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
