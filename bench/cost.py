"""How fast `lares cost` and the fill forecast are.

1. `lares cost` on the embedded reference (5 and 30 years), whole process, cold, beside
   `lares plan` in the same runs (both load the blueprint and the catalog; on a shared machine
   the anchor shows how loaded it was).
2. The Theil–Sen forecast in-process: the watcher's 7-day window (168 hourly points) and
   `lares capacity`'s 30 days (720 points, thinned to 400), against the least-squares line the
   disk collector used before, on the same points.

Usage: python3 bench/cost.py [--runs N] [--write]   (--write updates bench/BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plan import machine, precompile, timed, write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lares.forecast import full_in  # noqa: E402


def least_squares(points: Sequence[tuple[float, float]], avail: float) -> float | None:
    n = len(points)
    mean_x = sum(p[0] for p in points) / n
    mean_y = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mean_x) ** 2 for p in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    return avail / slope / 86400 if slope > 0 else None


def per_call(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    precompile()
    lares = [sys.executable, "-m", "lares"]
    rows = []
    for years in (5, 30):
        t = statistics.median(timed([*lares, "cost", "--years", str(years)], args.runs, cwd=ROOT))
        rows.append((f"`lares cost --years {years}`, reference, whole process", t, "≤ plan"))
    anchor = statistics.median(timed([*lares, "plan"], args.runs, cwd=ROOT))
    rows.append(("anchor: `lares plan`, reference, whole process, same runs", anchor, "—"))
    rng = random.Random(3)
    for hours in (168, 720):
        pts = [(i * 3600.0, 5e12 + i * 4e8 + rng.gauss(0, 2e9)) for i in range(hours)]
        robust = per_call(lambda pts=pts: full_in(pts, 1e13), args.runs)
        plain = per_call(lambda pts=pts: least_squares(pts, 1e13), args.runs)
        rows.append((f"Theil–Sen forecast, {hours} hourly points", robust, "≤ 0.1 s"))
        rows.append((f"least-squares line, {hours} hourly points (before)", plain, "—"))
    today = datetime.date.today().isoformat()
    text = (
        "## Cost and capacity\n\n"
        f"Measured {today} on {machine()}; median of {args.runs} runs. "
        "`python3 bench/cost.py --write`.\n\n"
        "| what | median | target |\n| --- | --- | --- |\n"
        + "".join(f"| {w} | {t:.4f} s | {target} |\n" for w, t, target in rows)
    )
    print(text)
    if args.write:
        write_section(ROOT / "bench" / "BENCHMARKS.md", "Cost and capacity", text)


if __name__ == "__main__":
    main()
