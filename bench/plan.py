"""How fast `lares plan` and `lares render` are.

1. `lares plan` on the embedded reference, whole process, cold (a new interpreter each run).
2. `lares plan` and `lares render` on a synthetic 500-app blueprint (1,000 containers in 10
   stacks), whole process.
3. The anchor: `docker compose config --quiet` on the rendered reference files, in the same run.
4. With --swarm instead: `lares plan --target swarm` and `lares render --target swarm` (which
   plans too) on a synthetic 3-host, 120-app blueprint (240 containers in 6 stacks, apps placed
   by host and by label), whole process; target under 2 s.

Usage: python3 bench/plan.py [--runs N] [--write] [--swarm]
       (--write updates bench/BENCHMARKS.md)
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

APP = """\
id: {id}
name: Synthetic {n}
description: a web app with its own PostgreSQL, for the benchmark
category: tools
web: {{container: {id}, port: 8080, subdomain: {id}}}
secrets:
  db_password: {{length: 32}}
containers:
  {id}:
    image: example/app
    version: "1.{n}.0"
    user: "1000:1000"
    networks: [stack, database]
    volumes: ["{{appdata}}/data:/data"]
    environment:
      DB_HOST: "{{service:db}}"
      DB_PASSWORD_FILE: "{{secret_file:db_password}}"
      TZ: "{{tz}}"
    tmpfs: [/tmp]
    healthcheck: {{test: [CMD, wget, -q, -O, /dev/null, "http://127.0.0.1:8080/"]}}
    memory: {{reservation: 64MiB, limit: 256MiB}}
    depends_on: {{db: service_healthy}}
  db:
    image: postgres
    version: "16.10-alpine"
    role: database
    secret_uid: 70
    networks: [database]
    volumes: ["{{appdata}}/db:/var/lib/postgresql/data"]
    environment: {{POSTGRES_PASSWORD_FILE: "{{secret_file:db_password}}"}}
    cap_add: [CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID]
    tmpfs: [/tmp, /var/run/postgresql]
    healthcheck: {{test: [CMD-SHELL, pg_isready]}}
    memory: {{reservation: 64MiB, limit: 512MiB}}
    exceptions:
      root: the entrypoint prepares the data folder, then drops to postgres
      capabilities: preparing the data folder needs CHOWN, DAC_OVERRIDE and FOWNER;
        dropping to postgres needs SETUID and SETGID
"""


def synthetic(folder: Path, apps: int = 500, stacks: int = 10) -> Path:
    catalog = folder / "catalog"
    catalog.mkdir(parents=True)
    for n in range(apps):
        (catalog / f"app{n:03d}.yaml").write_text(APP.format(id=f"app{n:03d}", n=n))
    lines = [
        "version: 1",
        "host: {name: big, cpu: {cores: 64, threads: 128}, memory: 2TiB}",
        "paths: {appdata: /srv/appdata, pool: /srv/pool}",
        "network:",
        "  lan: 192.168.50.0/24",
        "  host_address: 192.168.50.2",
        "  docker:",
        "    database: {subnet: 10.250.0.0/16, internal: true, purpose: database}",
    ]
    for s in range(stacks):
        lines.append(f"    net{s}: {{subnet: 10.{200 + s}.0.0/16}}")
    lines.append("stacks:")
    per = apps // stacks
    for s in range(stacks):
        lines.append(f"  stack{s}:")
        lines.append(f"    network: net{s}")
        lines.append(
            "    apps: [" + ", ".join(f"app{n:03d}" for n in range(s * per, (s + 1) * per)) + "]"
        )
    lines.append("catalog: [catalog]")
    path = folder / "lares.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def swarm_synthetic(folder: Path, apps: int = 120, stacks: int = 6) -> Path:
    """A 3-host blueprint: a third of the apps on each host, by name or by label."""
    path = synthetic(folder, apps=apps, stacks=stacks)
    text = path.read_text()
    text = text.replace(
        "paths: {appdata",
        "hosts:\n"
        "  - {name: big, address: 192.168.50.2, labels: {zone: a}}\n"
        "  - {name: second, address: 192.168.50.3, memory: 1TiB, labels: {zone: b}}\n"
        "  - {name: third, address: 192.168.50.4, memory: 1TiB, labels: {zone: b}}\n"
        "paths: {appdata",
    )
    lines = []
    for line in text.splitlines():
        if line.startswith("    apps: ["):
            names = line.removeprefix("    apps: [").removesuffix("]").split(", ")
            lines.append("    apps:")
            for name in names:
                n = int(name.removeprefix("app"))
                where = ("{host: big}", "{host: second}", "{labels: {zone: b}}")[n % 3]
                lines.append(f"      {name}: {{placement: {where}}}")
        else:
            lines.append(line)
    path.write_text("\n".join(lines) + "\n")
    return path


def in_process(blueprint: Path, runs: int) -> list[float]:
    """plan(target=swarm) and render_all(target=swarm), timed inside one Python process (what
    the machine's load adds to a process start is not in it)."""
    from lares.blueprint.load import load_file
    from lares.plan import plan
    from lares.render import render_all

    times = []
    for _ in range(runs):
        loaded = load_file(blueprint)
        start = time.perf_counter()
        render_all(plan(loaded, target="swarm").system, target="swarm")
        times.append(time.perf_counter() - start)
    return times


def swarm_main(runs: int, write: bool) -> None:
    precompile()
    load = os.getloadavg()[0]
    lares = [sys.executable, "-m", "lares"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "LARES_STATE_DIR": str(work / "state")}
        big = swarm_synthetic(work / "swarm")
        plan_ = timed([*lares, "plan", "-f", str(big), "--target", "swarm"], runs, env=env)
        out = work / "out"
        render = timed(
            [*lares, "render", "-f", str(big), "-t", "swarm", "-o", str(out), "--force"],
            runs,
            env=env,
        )
        bare = timed([sys.executable, "-c", "pass"], runs)
        inside = in_process(big, runs)
    med = statistics.median
    rows = [
        ("`lares plan --target swarm`, 3 hosts, 120 apps / 240 containers", med(plan_), "—"),
        (
            "in one process: plan and render for swarm, the blueprint loaded beforehand",
            med(inside),
            "—",
        ),
        (
            "`lares render --target swarm` (plan and render), 3 hosts, 120 apps",
            med(render),
            "< 2 s",
        ),
        ("for scale: a bare `python3 -c pass` in the same runs", med(bare), "—"),
    ]
    table = ["| what | median | target |", "| --- | --- | --- |"]
    table += [f"| {what} | {value:.3f} s | {target} |" for what, value, target in rows]
    text = (
        "## Swarm plan and render\n\n"
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()} (load average {load:.1f} at the "
        f"start); median of {runs} runs, whole process, the render into a folder it already "
        "wrote (secrets kept). `lares plan` prints its report, 120 warnings among it (one per "
        "app: no-new-privileges). "
        "`python3 bench/plan.py --swarm --write`.\n\n" + "\n".join(table) + "\n"
    )
    print(text)
    if write:
        write_section(ROOT / "bench" / "BENCHMARKS.md", "## Swarm plan and render", text)


def timed(
    argv: list[str], runs: int, cwd: Path | None = None, env: dict[str, str] | None = None
) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, cwd=cwd, env=env, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr.decode()}")
    return times


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {system}"


def precompile() -> None:
    """Compile lares's bytecode, as `pip install .` does.

    An editable install run with PYTHONDONTWRITEBYTECODE=1 (as in some sandboxes) never caches
    bytecode, so every start would recompile lares's modules from source (about 40 ms here) —
    a cost no installed lares pays.
    """
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "src" / "lares")],
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    )


def installed_lares(folder: Path) -> Path:
    """`lares` as a person installs it: `pip install .` into a fresh virtual environment.

    This interpreter's own site-packages may run start-up hooks of the machine (here a
    sandbox's .pth that imports certifi on every start); a clean venv has none.
    """
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(ROOT)], check=True, capture_output=True
    )
    return venv / "bin" / "lares"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--swarm", action="store_true", help="only the 3-host Swarm case")
    args = parser.parse_args()
    if args.swarm:
        swarm_main(args.runs, args.write)
        return
    precompile()
    lares = [sys.executable, "-m", "lares"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "LARES_STATE_DIR": str(work / "state")}
        empty = work / "empty"
        empty.mkdir()
        ref_plan = timed([*lares, "plan"], args.runs, cwd=empty, env=env)
        installed = installed_lares(work)
        ref_installed = timed([str(installed), "plan"], args.runs, cwd=empty, env=env)
        bare = timed([sys.executable, "-c", "pass"], args.runs)
        help_ = timed([*lares, "--help"], args.runs, env=env)
        big = synthetic(work / "big")
        big_plan = timed([*lares, "plan", "-f", str(big)], max(3, args.runs // 3), env=env)
        few = max(3, args.runs // 3)
        big_first = []
        for i in range(few):
            out = work / f"out-first-{i}"
            big_first += timed(
                [*lares, "render", "-f", str(big), "-o", str(out), "--force"], 1, env=env
            )
        big_render = timed(
            [*lares, "render", "-f", str(big), "-o", str(work / "out-first-0"), "--force"],
            few,
            env=env,
        )
        subprocess.run(
            [*lares, "render", "-o", str(work / "out-ref")],
            cwd=empty,
            env=env,
            check=True,
            capture_output=True,
        )
        files = sorted((work / "out-ref").glob("*/compose.yaml"))
        compose_argv = ["docker", "compose"]
        for f in files:
            compose_argv += ["-f", str(f)]
        anchor = []
        for f in files:
            anchor.append(
                timed(["docker", "compose", "-f", str(f), "config", "--quiet"], args.runs)
            )
        anchor_total = [sum(run) for run in zip(*anchor, strict=True)]
    med = statistics.median
    rows = [
        (
            "`lares plan`, reference, whole process, `pip install .` into a fresh venv",
            med(ref_installed),
            "≤ 0.3 s",
        ),
        (
            "`lares plan`, reference (38 containers), whole process, this checkout",
            med(ref_plan),
            "≤ 0.3 s",
        ),
        ("of which: a bare `python3 -c pass` on this machine", med(bare), "—"),
        ("of which: `lares --help` (interpreter, CLI, commands registered)", med(help_), "—"),
        ("`lares plan`, 500 apps / 1,000 containers, whole process", med(big_plan), "≤ 3 s"),
        ("`lares render`, 500 apps / 1,000 containers, whole process", med(big_render), "≤ 3 s"),
        (
            "`lares render` into an empty folder (500 new secrets, 1,510 files fsynced)",
            med(big_first),
            "—",
        ),
        (
            f"anchor: `docker compose config --quiet` on the {len(files)} reference stack files",
            med(anchor_total),
            "—",
        ),
    ]
    table = ["| what | median | target |", "| --- | --- | --- |"]
    table += [f"| {what} | {value:.3f} s | {target} |" for what, value, target in rows]
    text = (
        "## Plan and render\n\n"
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()}; median of {args.runs} runs "
        f"({max(3, args.runs // 3)} for the 500-app blueprint), with lares's bytecode compiled "
        "as `pip install .` leaves it. `python3 bench/plan.py --write`.\n\n"
        + "\n".join(table)
        + "\n"
    )
    print(text)
    if args.write:
        write_section(ROOT / "bench" / "BENCHMARKS.md", "## Plan and render", text)


def write_section(path: Path, heading: str, text: str) -> None:
    """Replace one `## ` section of BENCHMARKS.md in place (or add it at the end), leaving the
    others alone."""
    old = path.read_text() if path.exists() else "# Benchmarks\n\n"
    parts = old.split("\n## ")
    head, sections = parts[0], ["## " + p for p in parts[1:]]
    new = text.rstrip() + "\n"
    at = [i for i, s in enumerate(sections) if s.startswith(heading)]
    if at:
        sections[at[0]] = new
        sections = [s for i, s in enumerate(sections) if i not in at[1:]]
    else:
        sections.append(new)
    path.write_text(head.rstrip() + "\n\n" + "\n".join(s.rstrip() + "\n" for s in sections))


if __name__ == "__main__":
    main()
