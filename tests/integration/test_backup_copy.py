"""Copy repositories: created with the source's chunker parameters, filled by `restic copy` with
the newest good snapshots, recorded per app; retention and check work on both."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from integration.backup_helpers import make_lab


def test_copy_repository_gets_the_newest_good_snapshots(
    tmp_path: Path, unique_name: Callable[..., str]
) -> None:
    app = unique_name()
    usb = tmp_path / "usb"
    lab = make_lab(
        tmp_path,
        app,
        appdata=tmp_path / "appdata",
        with_db=False,
        extra_repos=f'    usb:\n      url: {usb}\n      schedule: "Sun *-*-* 04:00:00"\n'
        "      copy_from: local\n",
    )
    (lab.data / "a.txt").write_text("first\n")
    code, init = lab.lares_json("backup", "init")
    assert code == 0, init
    assert [r["result"] for r in init["repositories"]] == ["created", "created (chunker of local)"]

    def chunker(repo: Path, password: str) -> str:
        out = subprocess.run(
            ["restic", "cat", "config", "--no-lock"],
            env={
                "RESTIC_REPOSITORY": str(repo),
                "RESTIC_PASSWORD_FILE": password,
                "PATH": "/usr/bin:/bin",
            },
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return json.loads(out)["chunker_polynomial"]

    secrets = lab.state / "secrets"
    assert chunker(lab.repo, str(secrets / "restic_local")) == chunker(
        usb, str(secrets / "restic_usb")
    )
    assert lab.password("usb") != lab.password("local")

    code, first = lab.lares_json("backup", "run")
    assert code == 0, first
    (lab.data / "a.txt").write_text("second\n")
    code, second = lab.lares_json("backup", "run")
    assert code == 0, second
    copied = [i for i in second["items"] if i["repo"] == "usb"]
    assert [(i["app"], i["item"], i["ok"]) for i in copied] == [(app, "files", True)]

    code, listing = lab.lares_json("backup", "list", "--repo", "usb")
    assert code == 0
    snaps = listing["repositories"][0]["snapshots"]
    assert len(snaps) == 2  # one copied per run: the newest good one each time
    assert all(s["good"] for s in snaps)
    status = lab.records("status.json")
    assert status["usb"][app]["state"] == "ok"
    assert status["_copies"]["usb"]["state"] == "ok"

    code, forgot = lab.lares_json("backup", "forget")
    assert code == 0, forgot
    code, checked = lab.lares_json("backup", "check")
    assert code == 0, checked
    assert [r["subset"] for r in checked["repositories"]] == ["1/20", "1/20"]
    code, checked = lab.lares_json("backup", "check", "--repo", "local")
    assert checked["repositories"][0]["subset"] == "2/20"
