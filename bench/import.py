"""How fast `lares import` is on the shared corpus.

The 18 real compose files of ../shared/corpus, each prepared as its project folder (its
``.env`` and env files, as the corpus test does), imported in one `lares import --json` (a
whole process, 18 projects into one blueprint), next to its floor: the Compose binary alone,
loading each project twice (resolved and as written) one after another. Then the in-process
shares: loading (Compose, in parallel), mapping, and the proof (plan, render, the rendered
stacks loaded by Compose, the audit).

Usage: python3 bench/import.py [--runs N] [--write]   (--write updates bench/BENCHMARKS.md)
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
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from plan import machine, precompile, write_section

ROOT = Path(__file__).resolve().parents[1]
NOTE = (
    "Each project is one Compose process (`config --format json`), and a second one "
    "(`--no-interpolate`) only when its files hold a `$` or pull in others and the audit's "
    "Python reader cannot read it as written, as Compose would (an `env_file`, a YAML boolean "
    "in its environment, `include`): 5 of the 18 (10 before the Python reading). The import is "
    "bound by the Compose rows, and they by the machine's two cores. The 18 projects in one "
    "blueprint clash on host ports (two Jellyfins publish 7359/udp), so `lares plan` stops the "
    "proof before the render there; each project alone is proved in the corpus test. The "
    "earlier 2.46 s was measured on another machine at load 9.4: most of the difference is "
    "the load. Right after these runs, the code before this change (two Compose runs for 10 "
    "projects, a folder fsync per written file) took 1.42 s here, the load rising to 3.9."
)


def compose_alone(folders: list[Path], runs: int) -> list[float]:
    from lares.audit.targets import compose_argv

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for folder in folders:
            base = [*compose_argv(), "--profile", "*", "--project-directory", str(folder),
                    "-f", str(folder / "compose.yaml"), "config", "--format", "json"]  # fmt: skip
            subprocess.run(base, capture_output=True, check=False)
            subprocess.run([*base, "--no-interpolate"], capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return times


def shares(folders: list[Path], runs: int) -> dict[str, list[float]]:
    from lares.catalog.load import load_catalog
    from lares.importer.actions import ImportReport, build
    from lares.importer.load import find, load
    from lares.importer.mapping import Index
    from lares.importer.proof import prove

    out: dict[str, list[float]] = {"load": [], "map": [], "proof": []}
    for _ in range(runs):
        t0 = time.perf_counter()
        projects = load(find(folders))
        t1 = time.perf_counter()
        index = Index(load_catalog(()))
        apps, data = build(projects, index)
        t2 = time.perf_counter()
        report = ImportReport(Path("out"), [], apps)
        custom = {a.id: a.custom for a in apps if a.custom and a.review is None}
        prove(report, projects, data, custom, index.catalog)
        t3 = time.perf_counter()
        out["load"].append(t1 - t0)
        out["map"].append(t2 - t1)
        out["proof"].append(t3 - t2)
    return out


def main() -> None:
    from test_import_corpus import FILES, prepare

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    precompile()
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="lares-bench-import-") as tmp:
        folders = [prepare(f, Path(tmp) / "corpus" / f.stem) for f in FILES]
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), LARES_STATE_DIR=f"{tmp}/state")
        times = []
        for n in range(args.runs):
            argv = [sys.executable, "-m", "lares", "import", "--json",
                    "-o", f"{tmp}/out{n}", *map(str, folders)]  # fmt: skip
            start = time.perf_counter()
            proc = subprocess.run(argv, capture_output=True, env=env, check=False)
            times.append(time.perf_counter() - start)
            if proc.returncode not in (0, 1):
                raise SystemExit(f"lares import failed:\n{proc.stdout.decode()[-2000:]}")
        anchor = compose_alone(folders, args.runs)
        parts = shares(folders, args.runs)
        rows += [
            (f"`lares import --json`, the {len(FILES)} corpus projects", statistics.median(times)),
            ("anchor: the Compose binary alone, each project loaded twice in turn",
             statistics.median(anchor)),
            ("of which: loading the projects (Compose, 8 at a time)",
             statistics.median(parts["load"])),
            ("of which: mapping onto the catalog and the blueprint",
             statistics.median(parts["map"])),
            ("of which: the proof (plan, render, stacks through Compose, audit)",
             statistics.median(parts["proof"])),
        ]  # fmt: skip
    lines = [f"| {what} | {value:.{4 if value < 0.01 else 3}f} s |" for what, value in rows]
    text = (
        f"## Import\n\nMeasured {time.strftime('%Y-%m-%d')} on {machine()}; median of "
        f"{args.runs} runs, load average {os.getloadavg()[0]:.1f} when done (a shared machine). "
        "`python3 bench/import.py --write`.\n\n| what | median |\n| --- | --- |\n"
        + "\n".join(lines)
        + f"\n\n{NOTE}\n"
    )
    print(text)
    if args.write:
        write_section(ROOT / "bench" / "BENCHMARKS.md", "## Import", text)


if __name__ == "__main__":
    main()
