"""One severity scale: plan, doctor, monitor and audit words rank on it the way each orders them,
and one function writes a finding."""

from __future__ import annotations

import pytest

from lares.errors import LaresError, Location
from lares.plan.findings import Finding
from lares.severity import SCALE, canonical, rank, render_finding


def test_the_scale_is_worst_first() -> None:
    assert [rank(s) for s in SCALE] == list(range(len(SCALE)))
    assert rank("critical") < rank("error") < rank("warning") < rank("info") < rank("ok")


def test_every_stage_orders_its_words_as_the_scale_does() -> None:
    from lares.audit.rules import SEVERITIES as AUDIT
    from lares.monitor.rules import SEVERITIES as MONITOR

    assert sorted(MONITOR, key=rank) == list(MONITOR)  # worst first
    assert sorted(AUDIT, key=rank, reverse=True) == list(AUDIT)  # mildest first
    assert sorted(["ok", "unknown", "warning", "error"], key=rank) == [
        "error",
        "warning",
        "unknown",
        "ok",
    ]


def test_aliases_translate_and_strangers_are_refused() -> None:
    assert canonical("high") == "error" and canonical("medium") == "warning"
    with pytest.raises(ValueError, match="unknown severity 'dire'"):
        rank("dire")


def test_findings_and_errors_are_written_one_way() -> None:
    where = Location("lares.yaml", 14, 9, "apps.nextcloud")
    expected = (
        "lares.yaml:14:9: apps.nextcloud: error [port-conflict] taken\n  hint: choose another"
    )
    assert (
        render_finding("error", "port-conflict", "taken", location=where, hint="choose another")
        == expected
    )
    finding = Finding("port-conflict", "error", "taken", location=where, hint="choose another")
    assert finding.render() == expected
    error = LaresError("taken", location=where, hint="choose another", code="port-conflict")
    assert error.render() == expected
    assert render_finding("ok", "cpu", "AES-NI present") == "ok [cpu] AES-NI present"
