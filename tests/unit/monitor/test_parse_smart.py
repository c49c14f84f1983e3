"""The smartctl JSON parser on every recorded sample, the exit-status bits, and random input."""

from __future__ import annotations

import copy
import filecmp
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lares.monitor.parsers import smart
from lares.monitor.parsers.smart import ExitFlag, Health

HERE = Path(__file__).resolve()
SAMPLES = HERE.parents[2] / "data" / "samples"
SHARED = HERE.parents[3] / ".." / "shared" / "samples"

COVERED = {
    "smartctl-ata.json",
    "smartctl-ata-failing.json",
    "smartctl-ata-packed-raw.json",
    "smartctl-ata-full-ssd.json",
    "smartctl-nvme.json",
    "smartctl-nvme-media-errors.json",
    "smartctl-scsi.json",
    "smartctl-scan.json",
}


def text(name: str) -> str:
    assert name in COVERED, f"{name} is not listed in COVERED"
    return (SAMPLES / name).read_text()


def doc(name: str) -> dict[str, object]:
    loaded = json.loads(text(name))
    assert isinstance(loaded, dict)
    return loaded


def test_every_smartctl_sample_is_covered() -> None:
    assert {p.name for p in SAMPLES.glob("smartctl-*")} == COVERED


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared/ checkout beside the repo")
def test_copies_match_shared_samples() -> None:
    for name in COVERED:
        assert filecmp.cmp(SAMPLES / name, SHARED / name, shallow=False), name


def test_command_does_not_wake_a_sleeping_disk() -> None:
    assert smart.command("/dev/sda") == ("smartctl", "--json", "-a", "-n", "standby", "/dev/sda")
    assert smart.command("/dev/sdc", device_type="sat") == (
        "smartctl",
        "--json",
        "-a",
        "-n",
        "standby",
        "-d",
        "sat",
        "/dev/sdc",
    )
    assert smart.scan_command() == ("smartctl", "--scan", "-j")


def test_exit_status_bits_are_named() -> None:
    assert smart.decode_exit_status(0) is ExitFlag.NONE
    assert smart.decode_exit_status(2) == ExitFlag.DEVICE_OPEN_FAILED
    flags = smart.decode_exit_status(216)
    assert flags == (
        ExitFlag.DISK_FAILING
        | ExitFlag.PREFAIL_AT_THRESHOLD
        | ExitFlag.ERROR_LOG
        | ExitFlag.SELF_TEST_LOG
    )
    assert ExitFlag.COMMAND_FAILED not in flags
    assert [f.value for f in ExitFlag if f.value] == [1, 2, 4, 8, 16, 32, 64, 128]


def test_ata_passing_disk() -> None:
    report = smart.parse(text("smartctl-ata.json"))
    assert (report.device, report.device_type, report.protocol) == ("/dev/sdb", "sat", "ATA")
    assert (report.model, report.serial, report.firmware) == (
        "WDC WD140EDFZ-11A0VA0",
        "9RK1XXXX",
        "81.00A81",
    )
    assert report.capacity_bytes == 14000519643136
    assert report.smartctl_version == "7.0"
    assert (report.exit_status, report.exit_flags) == (0, ExitFlag.NONE)
    assert report.passed is True
    assert report.temperature == 32
    assert report.power_on_hours == 1730
    assert report.critical == {5: 0, 10: 0, 196: 0, 197: 0, 198: 0}
    assert report.error_log_count == 0
    assert report.self_test_failures == ()
    assert (report.health, report.reasons, report.unparsed) == (Health.OK, (), ())


def test_ata_failing_disk() -> None:
    report = smart.parse(text("smartctl-ata-failing.json"))
    assert report.device_type == "usbjmicron"
    assert report.model == "Hitachi HDS721050DLE630"
    assert report.passed is False
    assert report.exit_status == 216
    assert ExitFlag.DISK_FAILING in report.exit_flags
    assert ExitFlag.SELF_TEST_LOG in report.exit_flags
    assert report.temperature == 25
    assert report.power_on_hours == 65592
    assert report.critical == {5: 1975, 10: 0, 196: 3831, 197: 8, 198: 0}
    (failed,) = report.failed_attributes
    assert (failed.id, failed.when_failed, failed.value, failed.threshold) == (5, "now", 1, 5)
    assert failed.prefailure
    assert report.error_log_count == 56
    newest = report.self_test_failures[0]
    assert (newest.kind, newest.status, newest.lifetime_hours, newest.lba) == (
        "Extended offline",
        "Completed: read failure",
        4,
        104870168,
    )
    # The log's 16-bit hour counter wrapped: 4 h in the log is 65540 h of power-on time.
    assert [f.lifetime_hours for f in report.self_test_failures] == [4, 65375, 65231]
    assert report.health is Health.FAILING
    assert report.reasons[:3] == (
        "SMART overall-health self-assessment: FAILED",
        "smartctl exit bit 4: a pre-fail attribute is at its threshold",
        "Reallocated_Sector_Ct (5) failing now: value 1 <= 5",
    )
    assert "Current_Pending_Sector (197) raw 8 > 0" in report.reasons
    assert "ATA error log holds 56 errors" in report.reasons


def test_packed_temperature_raw_value_without_temperature_block() -> None:
    data = doc("smartctl-ata-failing.json")
    del data["temperature"]
    attribute = smart.parse(data).attribute(194)
    assert attribute is not None
    assert (attribute.raw_value, attribute.raw_string) == (167504969753, "25 (Min/Max 19/39)")
    assert smart.parse(data).temperature == 25
    table = data["ata_smart_attributes"]
    assert isinstance(table, dict)
    for entry in table["table"]:
        entry["raw"].pop("string", None)
    assert smart.parse(data).temperature == 167504969753 & 0xFF == 25


def test_ata_packed_raw_values() -> None:
    report = smart.parse(text("smartctl-ata-packed-raw.json"))
    assert report.passed is None
    assert report.model is None
    power_on = report.attribute(9)
    assert power_on is not None
    assert (power_on.raw, power_on.raw_value) == (2725, 167031278144165)
    assert report.power_on_hours == 2725
    assert report.temperature == 29
    assert report.critical == {5: 0, 10: 0, 184: 0, 187: 0, 188: 0, 196: 2111, 197: 0, 198: 0}
    assert report.health is Health.WARNING
    assert report.reasons == ("Reallocated_Event_Count (196) raw 2111 > 0",)


def test_temperature_falls_back_to_194_then_190() -> None:
    data = doc("smartctl-ata-packed-raw.json")
    del data["temperature"]
    assert smart.parse(data).temperature == 29  # 194 "29 (0 18 0 0 0)"
    ssd = doc("smartctl-ata-full-ssd.json")
    del ssd["temperature"]
    assert smart.parse(ssd).temperature == 36  # only 190 Airflow_Temperature_Cel


def test_ata_full_ssd() -> None:
    report = smart.parse(text("smartctl-ata-full-ssd.json"))
    assert report.model == "Samsung SSD 860 EVO 500GB"
    assert report.capacity_bytes == 500107862016
    assert report.temperature == 36
    assert report.temperature_limit == 70
    assert report.power_on_hours == 14551
    assert report.critical == {5: 0, 187: 0}
    assert report.error_log_count == 0
    assert report.self_test_failures == ()
    assert report.health is Health.OK


def test_nvme_passing() -> None:
    report = smart.parse(text("smartctl-nvme.json"))
    assert (report.device_type, report.model, report.firmware) == (
        "nvme",
        "INTEL SSDPEKNW010T8",
        "002C",
    )
    assert report.capacity_bytes == 1024209543168
    assert report.temperature == 36
    assert report.power_on_hours == 2401
    assert report.nvme == smart.NvmeLog(
        critical_warning=0,
        media_errors=0,
        percentage_used=0,
        available_spare=100,
        available_spare_threshold=10,
        num_err_log_entries=0,
        unsafe_shutdowns=43,
        temperature=36,
        power_on_hours=2401,
    )
    assert report.attributes == ()
    assert report.health is Health.OK


def test_nvme_media_errors_while_passed_is_a_warning() -> None:
    report = smart.parse(text("smartctl-nvme-media-errors.json"))
    assert report.passed is True
    assert report.nvme is not None
    assert (report.nvme.media_errors, report.nvme.num_err_log_entries) == (7, 62)
    assert report.nvme.percentage_used == 3
    assert report.power_on_hours == 12798
    assert report.health is Health.WARNING
    assert report.reasons == ("NVMe media errors: 7",)


def test_nvme_critical_warning_and_spare() -> None:
    data = doc("smartctl-nvme.json")
    log = data["nvme_smart_health_information_log"]
    assert isinstance(log, dict)
    hot = copy.deepcopy(data)
    hot["nvme_smart_health_information_log"] = {**log, "critical_warning": 2}
    report = smart.parse(hot)
    assert report.health is Health.WARNING
    assert report.reasons == ("NVMe critical warning: temperature outside its thresholds",)
    worn = copy.deepcopy(data)
    worn["nvme_smart_health_information_log"] = {**log, "critical_warning": 1, "available_spare": 5}
    report = smart.parse(worn)
    assert report.health is Health.FAILING
    assert report.reasons == (
        "NVMe critical warning: available spare below threshold",
        "NVMe available spare 5% below threshold 10%",
    )


def test_scsi_grown_defects() -> None:
    report = smart.parse(text("smartctl-scsi.json"))
    assert (report.device, report.device_type, report.model, report.firmware) == (
        "/dev/sdg",
        "scsi",
        "SEAGATE ST4000NM0043",
        "MS03",
    )
    assert report.exit_status is None  # the fixture has no smartctl block
    assert report.capacity_bytes == 4000787030016
    assert (report.temperature, report.temperature_limit) == (34, 68)
    assert report.power_on_hours == 43549
    assert report.scsi == smart.ScsiCounters(
        grown_defects=56, uncorrected_read=0, uncorrected_write=0, uncorrected_verify=None
    )
    assert report.passed is True
    assert report.health is Health.WARNING
    assert report.reasons == ("SCSI grown defect list: 56",)


def test_exit_status_from_the_runner_when_json_lacks_it() -> None:
    report = smart.parse(text("smartctl-scsi.json"), exit_status=64)
    assert report.exit_status == 64
    assert report.exit_flags == ExitFlag.ERROR_LOG
    assert report.health is Health.WARNING
    assert "smartctl exit bit 6: the error log has errors" in report.reasons


def test_scan() -> None:
    devices = smart.parse_scan(text("smartctl-scan.json"))
    assert [d.name for d in devices] == [f"/dev/sd{c}" for c in "abcdefg"]
    assert devices[0] == smart.ScanDevice("/dev/sda", "/dev/sda", "scsi", "SCSI")
    assert smart.parse_scan(doc("smartctl-scan.json")) == devices
    assert smart.parse_scan("not json") == []


def test_standby_is_unknown_not_failure() -> None:
    standby = {
        "smartctl": {
            "version": [7, 3],
            "exit_status": 2,
            "messages": [
                {"string": "Device is in STANDBY mode, exit(2)", "severity": "information"}
            ],
        },
        "device": {"name": "/dev/sda", "type": "sat", "protocol": "ATA"},
    }
    report = smart.parse(json.dumps(standby))
    assert report.standby
    assert report.exit_flags == ExitFlag.DEVICE_OPEN_FAILED
    assert report.health is Health.UNKNOWN
    assert report.reasons == (
        "standby: not woken to read SMART (Device is in STANDBY mode, exit(2))",
    )


def test_open_failure_is_unknown() -> None:
    failed = {
        "smartctl": {
            "exit_status": 2,
            "messages": [{"string": "Smartctl open device: /dev/sdz failed: No such device"}],
        }
    }
    report = smart.parse(failed)
    assert not report.standby
    assert report.health is Health.UNKNOWN
    assert report.reasons == (
        "no SMART data (Smartctl open device: /dev/sdz failed: No such device)",
        "smartctl exit bit 1: DEVICE_OPEN_FAILED",
    )


def test_not_json_is_unknown_and_reported() -> None:
    report = smart.parse("smartctl: command not found", exit_status=127)
    assert report.health is Health.UNKNOWN
    assert report.unparsed[0].startswith("not JSON: ")
    assert smart.parse("[1, 2]").unparsed == ("not a JSON object: list",)


def test_wrong_types_are_reported_not_raised() -> None:
    report = smart.parse(
        {
            "smartctl": "seven",
            "smart_status": {"passed": "yes"},
            "ata_smart_attributes": {"table": [1, {"id": "five"}, {"id": 5, "raw": 3}]},
            "temperature": [],
        }
    )
    assert report.passed is None
    assert [a.id for a in report.attributes] == [5]
    assert report.attributes[0].raw is None
    assert report.unparsed == (
        "smartctl: expected an object, got str",
        "ata_smart_attributes.table[0]: not an attribute with an integer id",
        "ata_smart_attributes.table[1]: not an attribute with an integer id",
        "temperature: expected an object, got list",
    )


# -- random input -----------------------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
_KEYS = st.sampled_from(
    [
        "smartctl",
        "device",
        "smart_status",
        "temperature",
        "power_on_time",
        "ata_smart_attributes",
        "ata_smart_error_log",
        "ata_smart_self_test_log",
        "nvme_smart_health_information_log",
        "nvme_self_test_log",
        "scsi_grown_defect_list",
        "scsi_error_counter_log",
        "user_capacity",
        "model_name",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_random_text_never_raises(raw: str) -> None:
    report = smart.parse(raw)
    assert isinstance(report.health, Health)
    assert smart.parse_scan(raw) is not None


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS, _JSON, max_size=8))
def test_random_documents_never_raise(document: dict[str, object]) -> None:
    report = smart.parse(document)
    assert isinstance(report.health, Health)
    assert all(isinstance(item, str) for item in report.unparsed)
    smart.parse_scan({"devices": document.get("device")})


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(sorted(COVERED - {"smartctl-scan.json"})), _KEYS, _JSON)
def test_a_sample_with_one_field_scrambled_never_raises(name: str, key: str, value: object) -> None:
    data = doc(name)
    data[key] = value
    assert isinstance(smart.parse(data).health, Health)
