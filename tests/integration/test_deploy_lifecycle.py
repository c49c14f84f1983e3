"""Day two of `lares up`, `diff`, `down`, `ps` and `rollback` on a real Docker engine.

The blueprint in tests/data/lifecycle has two stacks: lc-front (busybox httpd with a health
check) and lc-back (a shell that only waits). Each test runs lares as a person would, as a
subprocess with its own state folder, and removes every container and network it made.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from integration.deploy_lab import DeployLab as Lab

STACKS = ("lc-back", "lc-front")
NETWORKS = ("lc-net",)


@pytest.fixture
def lab(deploy_lab: Callable[..., Lab]) -> Lab:
    return deploy_lab("lifecycle", stacks=STACKS, networks=NETWORKS)


def break_web(lab: Lab) -> None:
    """httpd never starts, so the health check never passes."""
    lab.edit("exec httpd -f -p 8080 -h /tmp/www", "exec sleep 3600", "catalog/lc-web.yaml")


def inspect(name: str) -> dict:
    out = subprocess.run(
        ["docker", "inspect", name], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)[0]


def test_up_shows_each_service_coming_up_and_runs_an_init(lab: Lab) -> None:
    first = lab.lares("up", "--yes")
    lines = first.stdout.splitlines()
    # piped, the progress is one line per change, in order
    assert "  lc-front/lc-web: starting" in lines
    assert "  lc-front/lc-web: healthy" in lines
    assert lines.index("  lc-front/lc-web: starting") < lines.index("  lc-front/lc-web: healthy")
    assert "  lc-back/lc-shell: running" in lines
    assert "✓ applied lc-back, lc-front" in lines

    # Docker's init is PID 1, so a shell stops on SIGTERM instead of waiting out the 10 s
    shell = inspect("lc-shell")
    assert shell["HostConfig"]["Init"] is True
    started = time.monotonic()
    subprocess.run(["docker", "stop", "lc-shell"], capture_output=True, check=True)
    assert time.monotonic() - started < 5
    assert inspect("lc-shell")["State"]["ExitCode"] != 137  # not killed after the grace period

    # counts take their number
    again = lab.lares("up", "--yes")
    assert "lc-back: converge" in again.stdout  # the stopped shell is brought back
    one = lab.lares("up", "--yes", "lc-front")
    assert "✓ nothing to do: 1 stack matches what is running" in one.stdout
    both = lab.lares("up", "--yes")
    assert "✓ nothing to do: 2 stacks match what is running" in both.stdout


def test_ps_piped_is_not_cut_at_80_columns(lab: Lab) -> None:
    lab.lares("up", "--yes")
    env = {k: v for k, v in lab.env.items() if k != "COLUMNS"}
    ps = lab.lares("ps", "lc-front", env=env)
    rows = [line for line in ps.stdout.splitlines() if "lc-web" in line]
    assert len(rows) == 1, ps.stdout
    assert rows[0].split()[:4] == ["lc-front", "lc-web", "lc-web", "running"]
    assert rows[0].rstrip().endswith("127.0.0.3:18093->8080/tcp")
    assert len(rows[0].rstrip()) > 80


def test_down_asks_as_up_does(lab: Lab) -> None:
    lab.lares("up", "--yes")
    refused = lab.lares("down", "lc-front", input="n\n", check=False)
    assert refused.returncode == 1
    assert "Stop and remove the containers of lc-front? [y/N]" in refused.stdout
    assert "cancelled; nothing was changed" in refused.stderr
    assert inspect("lc-web")["State"]["Running"] is True

    asked = lab.lares("down", "lc-front", input="y\n")
    assert "✓ stopped lc-front" in asked.stdout
    gone = subprocess.run(["docker", "inspect", "lc-web"], capture_output=True, check=False)
    assert gone.returncode != 0
    assert inspect("lc-shell")["State"]["Running"] is True

    quiet = lab.lares("down", "--yes")
    assert "?" not in quiet.stdout
    assert "✓ stopped lc-front, lc-back" in quiet.stdout


def test_rollback_says_when_there_is_nothing_to_roll_back_to(lab: Lab) -> None:
    lab.lares("up", "--yes")
    record = lab.state / "applied" / "lc-front" / "record.json"
    good = json.loads(record.read_text())["revision"]
    before = inspect("lc-web")["Id"]

    same = lab.lares("rollback", "lc-front")
    assert same.stdout.startswith(
        f"✓ lc-front: nothing to roll back: it runs its last good revision {good[:12]}, applied "
    )
    assert same.stdout.rstrip().endswith("; no earlier revision is kept")
    assert inspect("lc-web")["Id"] == before

    break_web(lab)
    failed = lab.lares("up", "--yes", check=False)
    assert failed.returncode == 1
    assert "`lares rollback lc-front`" in failed.stderr
    # lares's own failed apply changed the container, not someone else
    diff = lab.lares("diff", check=False)
    assert "changed outside lares" not in diff.stdout
    assert "drift: lc-web: changed by the failed apply" in diff.stdout
    assert "failed; fix it and `lares up` again, or `lares rollback lc-front`" in diff.stdout
    back = lab.lares("rollback", "lc-front")
    assert f"✓ lc-front: at revision {good[:12]} (rolled back)" in back.stdout
    assert inspect("lc-web")["State"]["Health"]["Status"] == "healthy"
    # the rollback was recorded: only the blueprint's change is left, no note and no drift
    after = lab.lares("diff", check=False).stdout
    assert "lc-front: update" in after
    assert "failed" not in after and "drift:" not in after


def test_a_failed_first_up_offers_no_rollback(lab: Lab) -> None:
    break_web(lab)
    failed = lab.lares("up", "--yes", check=False)
    assert failed.returncode == 1
    assert "✗ 1 app did not come up: lc-web" in failed.stderr
    assert "lares rollback" not in failed.stderr
    assert (
        "hint: fix the app and run `lares up` again; lc-front has no applied revision to roll "
        "back to (`lares down lc-front` removes what this run created)"
    ) in failed.stderr
    assert "Traceback" not in failed.stderr


def _compose_running(project: str) -> bool:
    """Whether a `docker compose -p PROJECT` process is still alive (lares's killed child)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"compose" in b" ".join(argv) and project.encode() in argv:
            return True
    return False


def test_an_interrupted_apply_is_not_called_a_change_outside_lares(lab: Lab) -> None:
    lab.lares("up", "--yes")
    old_id = inspect("lc-web")["Id"]
    lab.env["LT_GREETING"] = "changed"
    proc = subprocess.Popen(
        lab.argv("up", "--yes"), env=lab.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    # kill lares once Compose has replaced the web container, before it is recorded
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = subprocess.run(
            ["docker", "ps", "-aq", "--no-trunc", "--filter", "name=^lc-web$"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        if found and found[0] != old_id:
            break
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    while _compose_running("lc-front") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (lab.state / "applied" / "lc-front" / "applying.json").exists()

    diff = lab.lares("diff", check=False)
    assert diff.returncode == 1
    assert "changed outside lares" not in diff.stdout
    assert "an earlier apply was interrupted (revision " in diff.stdout
    assert "`lares up` completes it" in diff.stdout
    assert "drift: lc-web: changed by the interrupted apply" in diff.stdout

    lab.lares("up", "--yes")
    assert not (lab.state / "applied" / "lc-front" / "applying.json").exists()
    done = lab.lares("diff")
    assert "lc-front: up to date" in done.stdout
