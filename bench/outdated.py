"""`lares outdated` over 40 images against a real registry on loopback.

Starts Debian's docker-registry on a free loopback port (tests/integration/registry.py), pushes
40 small repositories (one busybox-based image, tags 1.0.0, 1.0.1, 1.1.0 and 2.0.0 each), writes a
blueprint of 40 apps that pin 1.0.0 with every image recorded in lares.lock (so lares asks for
each image's tags, digest, manifest and config), then times `lares outdated` as a whole process.
Needs a running Docker engine, the test images (scripts/build-test-images) and docker-registry.

Usage: python3 bench/outdated.py [--runs N] [--write]   (--write updates bench/BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from plan import machine, precompile, timed, write_section

from integration.registry import LocalRegistry, running_registry
from lares.update.lock import Lock

ROOT = Path(__file__).resolve().parents[1]

IMAGES = 40
TAGS = ("1.0.0", "1.0.1", "1.1.0", "2.0.0")
BASE = "lares-test/busybox:1"

CATALOG = """\
id: lt-app{n}
name: App {n}
description: a pinned test image from the local registry
category: tools
containers:
  lt-app{n}:
    image: {image}
    version: "1.0.0"
    user: "1000:1000"
    command: [sleep, "3600"]
    memory: {{reservation: 8MiB, limit: 32MiB}}
    pids: 16
    exceptions:
      no_healthcheck: a test app that only sleeps
"""
BLUEPRINT = """\
version: 1
host:
  name: lt-bench-outdated
  cpu: {{cores: 2, threads: 2}}
  memory: 8GiB
  reserved: {{os: 512MiB, docker: 256MiB}}
paths:
  appdata: /tmp/lt-bench-outdated/appdata
  pool: /tmp/lt-bench-outdated/pool
network:
  lan: 127.0.0.0/24
  host_address: 127.0.0.2
  domain: lt.test
  docker:
    lt-bench-net: {{subnet: 10.199.92.0/24}}
stacks:
  lt-bench-outdated:
    network: lt-bench-net
    apps: [{apps}]
catalog: [catalog]
"""


def push_all(reg: LocalRegistry) -> dict[str, str]:
    """Every repository:tag pushed (one image, so the layers are uploaded once); the digest of
    each repository's 1.0.0."""
    targets = [f"{reg.address}/lt/app{n}:{tag}" for n in range(IMAGES) for tag in TAGS]
    for target in targets:
        subprocess.run(["docker", "tag", BASE, target], capture_output=True, check=True)
        reg.pushed.append(target)

    def push(target: str) -> None:
        proc = subprocess.run(
            ["docker", "push", target], capture_output=True, text=True, timeout=120, check=False
        )
        if proc.returncode != 0:
            raise SystemExit(f"docker push {target} failed:\n{proc.stdout}{proc.stderr}")

    for target in targets:  # one at a time: concurrent blob mounts make the registry answer 500
        push(target)
    kind = "application/vnd.docker.distribution.manifest.v2+json"
    return {
        f"{reg.address}/lt/app{n}:1.0.0": httpx.head(
            f"http://{reg.address}/v2/lt/app{n}/manifests/1.0.0", headers={"Accept": kind}
        ).headers["docker-content-digest"]
        for n in range(IMAGES)
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    precompile()
    with tempfile.TemporaryDirectory() as tmp, running_registry(Path(tmp) / "reg") as reg:
        work = Path(tmp) / "bp"
        (work / "catalog").mkdir(parents=True)
        digests = push_all(reg)
        for n in range(IMAGES):
            image = f"{reg.address}/lt/app{n}"
            (work / "catalog" / f"lt-app{n}.yaml").write_text(CATALOG.format(n=n, image=image))
        apps = ", ".join(f"lt-app{n}" for n in range(IMAGES))
        (work / "lares.yaml").write_text(BLUEPRINT.format(apps=apps))
        lock = Lock.beside(work)
        for image, digest in digests.items():
            lock.record(image, digest)
        lock.save()
        argv = [sys.executable, "-m", "lares", "outdated", "-f", str(work / "lares.yaml")]
        check = subprocess.run([*argv, "--json"], capture_output=True, text=True, check=False)
        data = json.loads(check.stdout)
        assert len(data["images"]) == IMAGES, check.stdout
        assert data["outdated"] == IMAGES and data["unreachable"] == 0, check.stdout
        times = timed(argv, args.runs)
    med = statistics.median(times)
    text = (
        "## Outdated\n\n"
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()}, Debian's docker-registry "
        f"(distribution 2.8) on loopback; median of {args.runs} runs. "
        "`python3 bench/outdated.py --write`.\n\n"
        f"| what ({IMAGES} images, {len(TAGS)} tags each, all locked) | median | target |\n"
        "| --- | --- | --- |\n"
        f"| `lares outdated` (tags, digest, manifest, config per image) | {med:.3f} s | < 2 s |\n"
    )
    print(text)
    if args.write:
        write_section(ROOT / "bench" / "BENCHMARKS.md", "## Outdated", text)


if __name__ == "__main__":
    main()
