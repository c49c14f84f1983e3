"""Repository sizes: a backup run measures (at most once a day) what each repository stores
(restic's raw data), `lares cost` prices offsite storage by that size instead of the
blueprint's estimate, and `lares capacity` shows the repositories' growth."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from integration.backup_helpers import make_lab


def test_runs_record_sizes_that_cost_and_capacity_use(
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
    (lab.data / "a.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    code, init = lab.lares_json("backup", "init")
    assert code == 0, init
    code, run = lab.lares_json("backup", "run")
    assert code == 0, run

    def stats(repo: Path, name: str) -> int:
        out = subprocess.run(
            ["restic", "stats", "--mode", "raw-data", "--json", "--no-lock"],
            env={
                "RESTIC_REPOSITORY": str(repo),
                "RESTIC_PASSWORD_FILE": str(lab.state / "secrets" / f"restic_{name}"),
                "PATH": "/usr/bin:/bin",
            },
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return int(json.loads(out)["total_size"])

    sizes = lab.records("sizes.json")
    assert set(sizes) == {"local", "usb"}
    assert sizes["local"][-1][1] == stats(lab.repo, "local")
    assert sizes["usb"][-1][1] == stats(usb, "usb")
    assert sizes["usb"][-1][1] > 0

    with lab.blueprint.open("a") as fh:
        fh.write("costs:\n  offsite: {repository: usb, per_tb_month: 6, estimate: 2TB}\n")
    code, cost = lab.lares_json("cost")
    assert code == 0, cost
    offsite = next(r for r in cost["running"] if r["name"] == "offsite (usb)")
    assert "measured" in offsite["detail"]
    assert offsite["per_year"] == "0.00"  # a megabyte, not the 2 TB estimate (€144 a year)

    code, capacity = lab.lares_json("capacity")
    assert code == 0, capacity
    repos = {r["repository"]: r for r in capacity["repositories"]}
    assert repos["usb"]["size"] == sizes["usb"][-1][1]
    assert repos["usb"]["trend"] is None  # one measurement is no trend
