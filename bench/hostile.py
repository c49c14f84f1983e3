"""How quickly, and in how much memory, lares refuses hostile blueprints.

Each case of tests/hostile.py (alias and merge-key bombs, deep nesting, a file over the size
limit, a file packed with values, thousands of unknown keys or unset variables) is written to a
file and loaded by a new interpreter that measures the load alone: wall and CPU seconds, and
the child's peak RSS (the interpreter and lares's imports included). `-f /dev/zero` is timed as
a whole `lares plan` process, and the reference blueprint's load is the baseline.

Usage: python3 bench/hostile.py [--runs N] [--write]   (--write updates bench/BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))
from plan import write_section  # noqa: E402

from hostile import CASES, measure  # noqa: E402
from lares.blueprint.load import reference_text  # noqa: E402


def _whole_process(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "lares", *args], capture_output=True, check=False, timeout=60
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    rows: list[tuple[str, str, float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="lt-bench-hostile-") as tmp:
        cases = {"reference blueprint (baseline, loads)": (reference_text, "—"), **CASES}
        for name, (build, _code) in cases.items():
            path = Path(tmp) / "lares.yaml"
            path.write_text(build(), encoding="utf-8")
            size = path.stat().st_size
            results = [measure(path) for _ in range(args.runs)]
            rows.append(
                (
                    f"{name} ({size / 1024:,.0f} KiB)",
                    "loads" if "loaded" in results[0] else str(results[0]["codes"][0]),  # type: ignore[index]
                    statistics.median(float(r["wall"]) for r in results),  # type: ignore[arg-type]
                    statistics.median(float(r["cpu"]) for r in results),  # type: ignore[arg-type]
                    max(float(r["rss_mib"]) for r in results),  # type: ignore[arg-type]
                )
            )
            print(rows[-1], flush=True)
        zero = statistics.median(
            _whole_process(["plan", "-f", "/dev/zero"]) for _ in range(args.runs)
        )
        help_ = statistics.median(_whole_process(["--help"]) for _ in range(args.runs))
    lines = [
        "## Hostile input",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {_cpu()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Linux {platform.release()}; median of {args.runs} runs, "
        "each a new interpreter that times the load alone; RSS is the child's peak, imports "
        "included (the most of any run); load average "
        f"{os.getloadavg()[0]:.1f} from other work on the machine, so wall times run above CPU "
        "times. `python3 bench/hostile.py --write`.",
        "",
        "| file | refused as | wall | CPU | peak RSS | target |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, said, wall, cpu, rss in rows:
        lines.append(
            f"| {name} | {said} | {wall:.3f} s | {cpu:.3f} s | {rss:.0f} MiB | < 1 s, < 200 MB |"
        )
    lines += [
        "",
        "| whole process | median | target |",
        "| --- | --- | --- |",
        f"| `lares plan -f /dev/zero` | {zero:.3f} s | < 1 s |",
        f"| of which: `lares --help` (interpreter, CLI) | {help_:.3f} s | — |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(ROOT / "bench" / "BENCHMARKS.md", "## Hostile input", text)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
