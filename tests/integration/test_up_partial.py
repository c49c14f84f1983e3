"""`lares up` when one app cannot start, and when apps wait for outside peers, on a real engine.

The blueprint in tests/data/upflow has two stacks. The first holds a healthy app that takes a
few seconds, an app whose command prints its secret and exits 3, a tunnel-like app whose peer
(TEST-NET-1) never answers, and a VPN-like pair: a gateway whose health waits for a file the
test creates (the peer "answering") and a client that starts only once the gateway is healthy.
The second stack holds one app and is applied after the first.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest

from integration.deploy_lab import DeployLab as Lab

STACKS = ("lt-up-first", "lt-up-second")
NETWORKS = ("lt-up-front", "lt-up-back")


@pytest.fixture
def lab(deploy_lab: Callable[..., Lab]) -> Lab:
    always = lambda command: True  # noqa: E731
    return deploy_lab(
        "upflow",
        stacks=STACKS,
        networks=NETWORKS,
        columns=250,
        timeout=300,
        state_for=always,
        file_for=always,
    )


def drop_app(lab: Lab, app: str) -> None:
    path = lab.dir / "lares.yaml"
    path.write_text(path.read_text().replace(f" {app},", ""))


def state_of(name: str) -> dict:
    out = subprocess.run(
        ["docker", "inspect", name], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)[0]["State"]


def test_one_failing_app_does_not_stop_the_others(lab: Lab) -> None:
    run = lab.lares("up", "--yes", "--json", check=False)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    report = json.loads(run.stdout)
    apps = {a["app"]: a for a in report["apps"]}
    assert {a: apps[a]["status"] for a in apps} == {
        "lt-up-ok": "up",
        "lt-up-crash": "failed",
        "lt-up-tunnel": "waiting",
        "lt-up-vpn": "waiting",
        "lt-up-later": "up",
    }
    # the healthy neighbour in the same stack and the app of the later stack are up
    assert state_of("lt-up-ok")["Health"]["Status"] == "healthy"
    assert state_of("lt-up-later")["Health"]["Status"] == "healthy"

    crash = apps["lt-up-crash"]
    assert crash["why"] == "the process keeps exiting (last exit code 3)"
    (svc,) = crash["services"]
    assert "cannot open /config/app.ini" in svc["logs"]
    assert "token is ******" in svc["logs"]
    token = (lab.state / "secrets" / "lt-up-crash_token").read_text().strip()
    assert len(token) == 24
    assert token not in run.stdout + run.stderr

    assert apps["lt-up-tunnel"]["why"] == "waiting for the test tunnel server"
    vpn = {s["service"]: s for s in apps["lt-up-vpn"]["services"]}
    assert vpn["lt-up-vpn-gateway"]["why"] == "waiting for the test VPN server"
    assert vpn["lt-up-vpn"]["why"] == (
        "held back until lt-up-vpn-gateway is healthy (waiting for the test VPN server)"
    )
    assert state_of("lt-up-vpn")["Status"] == "created"

    # the stack with the failed app keeps no record; the later one is recorded
    assert report["recorded"] == ["lt-up-second"]
    assert lab.record("lt-up-first") is None
    assert lab.record("lt-up-second") is not None


def test_summary_names_what_is_up_and_what_is_not(lab: Lab) -> None:
    run = lab.lares("up", "--yes", check=False)
    assert run.returncode == 1
    rows = [line.split(None, 3) for line in run.stdout.splitlines()]
    table = {r[1]: (r[2], r[3].strip() if len(r) > 3 else "") for r in rows if len(r) >= 3}
    assert table["lt-up-ok"] == ("up", "—")
    assert table["lt-up-later"] == ("up", "—")
    assert table["lt-up-crash"] == ("failed", "the process keeps exiting (last exit code 3)")
    assert table["lt-up-tunnel"] == ("waiting", "waiting for the test tunnel server")
    assert "lt-up-first/lt-up-crash: failed, the process keeps exiting" in run.stdout
    assert "    | cannot open /config/app.ini" in run.stdout
    assert "✗ 1 app did not come up: lt-up-crash; the other 4 are up or waiting" in run.stderr
    # a first up: no good revision to roll back to yet
    assert "lt-up-first has no applied revision to roll back to" in run.stderr
    assert (
        "! lt-up-tunnel: waiting for the test tunnel server; the next `lares up` after it "
        "answers finishes it" in run.stderr
    )


def test_waiting_for_a_peer_does_not_block_and_finishes_once_it_answers(lab: Lab) -> None:
    drop_app(lab, "lt-up-crash")
    run = lab.lares("up", "--yes", "--json", check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["ok"] is True
    # waiting is not failing: both stacks are recorded as good revisions
    assert report["recorded"] == ["lt-up-first", "lt-up-second"]
    assert state_of("lt-up-tunnel")["Running"] is True
    assert state_of("lt-up-vpn")["Status"] == "created"

    # the VPN peer answers: the next `up` starts the client it held back
    peer = lab.root / "data" / "appdata" / "lt-up-vpn" / "peer"
    (peer / "up").write_text("")
    again = lab.lares("up", "--yes", "--json", check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    apps = {a["app"]: a["status"] for a in json.loads(again.stdout)["apps"]}
    assert apps["lt-up-vpn"] == "up"
    assert apps["lt-up-tunnel"] == "waiting"
    assert state_of("lt-up-vpn")["Running"] is True
    assert state_of("lt-up-vpn-gateway")["Health"]["Status"] == "healthy"
