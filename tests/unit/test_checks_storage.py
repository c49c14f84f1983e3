"""The storage check: enough devices for each level, data on a pool, app data off it."""

from __future__ import annotations

from conftest import BlueprintKit

ID = "storage"


def test_minimal_storage_passes(kit: BlueprintKit) -> None:
    assert kit.findings(kit.text(), ID) == []


def test_no_pools_at_all_passes(kit: BlueprintKit) -> None:
    assert kit.findings(kit.text(storage=None), ID) == []


def test_too_few_devices_for_the_level(kit: BlueprintKit) -> None:
    text = kit.text(
        storage="""
        pools:
          tank:
            engine: mdadm
            level: raid6
            mount: /srv/pool
            devices:
              - {path: /dev/sda, size: 4TB}
              - {path: /dev/sdb, size: 4TB}
              - {path: /dev/sdc, size: 4TB}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "pool tank: mdadm raid6 needs at least 4 devices, and 3 are listed"
    assert finding.hint == "add devices or choose a level that fits"
    assert kit.at(finding) == kit.pos(text, "devices:")


def test_device_in_two_pools(kit: BlueprintKit) -> None:
    text = kit.text(
        storage="""
        pools:
          tank:
            engine: btrfs
            level: raid1
            mount: /srv/pool
            devices:
              - {path: /dev/sda, size: 4TB}
              - {path: /dev/sdb, size: 4TB}
          spare:
            engine: btrfs
            level: single
            mount: /srv/spare
            devices:
              - {path: /dev/sdc, size: 4TB}
              - {path: /dev/sdb, size: 4TB}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "/dev/sdb is listed in pool tank and pool spare"
    assert kit.at(finding) == kit.pos(text, "{path: /dev/sdb", nth=2)
    assert finding.subject == "storage.pools.spare.devices.1"


def test_mixed_sizes_under_mdadm_are_noted(kit: BlueprintKit) -> None:
    text = kit.text(
        storage="""
        pools:
          tank:
            engine: mdadm
            level: raid5
            mount: /srv/pool
            devices:
              - {path: /dev/sda, size: 4TB}
              - {path: /dev/sdb, size: 8TB}
              - {path: /dev/sdc, size: 4TB}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "info"
    assert finding.message == "pool tank: mixed drive sizes leave 4.0 TB unused under mdadm raid5"
    assert finding.hint == (
        "fine while drives are replaced over time; btrfs native raid would use it"
    )
    assert kit.at(finding) == kit.pos(text, "tank:")


def test_small_size_difference_is_not_noted(kit: BlueprintKit) -> None:
    # the reference pool: 4 TB of 52 TB unused is under the 10 % that is worth a note
    text = kit.text(
        storage="""
        pools:
          tank:
            engine: mdadm
            level: raid5
            mount: /srv/pool
            devices:
              - {path: /dev/sda, size: 12TB}
              - {path: /dev/sdb, size: 14TB}
              - {path: /dev/sdc, size: 14TB}
              - {path: /dev/sdd, size: 12TB}
        """
    )
    assert kit.findings(text, ID) == []


def test_btrfs_raid5_metadata(kit: BlueprintKit) -> None:
    pool = """
    pools:
      tank:
        engine: btrfs
        level: raid5
        mount: /srv/pool
        {metadata}devices:
          - {{path: /dev/sda, size: 4TB}}
          - {{path: /dev/sdb, size: 4TB}}
          - {{path: /dev/sdc, size: 4TB}}
    """
    text = kit.text(storage=pool.format(metadata=""))
    [finding] = kit.findings(text, ID)
    assert finding.severity == "warning"
    assert finding.message == "pool tank: btrfs raid5 metadata is not safe against the write hole"
    assert finding.hint == "set `metadata: raid1c3` (raid6) or `metadata: raid1` (raid5)"
    assert kit.at(finding) == kit.pos(text, "tank:")

    safe = kit.text(storage=pool.format(metadata="metadata: raid1\n        "))
    assert kit.findings(safe, ID) == []


def test_data_pool_path_not_on_a_pool(kit: BlueprintKit) -> None:
    text = kit.text(paths="\nappdata: /srv/appdata\npool: /mnt/elsewhere\n")
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "paths.pool (/mnt/elsewhere) is not on any storage pool"
    assert finding.hint == "set paths.pool to a pool's mount point, or a folder inside it"
    assert kit.at(finding) == kit.pos(text, "pool: /mnt/elsewhere")


def test_data_pool_path_inside_a_pool_passes(kit: BlueprintKit) -> None:
    text = kit.text(paths="\nappdata: /srv/appdata\npool: /srv/pool/data\n")
    assert kit.findings(text, ID) == []


def test_pool_path_sharing_only_a_prefix_is_not_inside(kit: BlueprintKit) -> None:
    text = kit.text(paths="\nappdata: /srv/appdata\npool: /srv/pool2\n")
    [finding] = kit.findings(text, ID)
    assert finding.message == "paths.pool (/srv/pool2) is not on any storage pool"


def test_app_data_on_the_pool(kit: BlueprintKit) -> None:
    text = kit.text(paths="\nappdata: /srv/pool/appdata\npool: /srv/pool\n")
    [finding] = kit.findings(text, ID)
    assert finding.severity == "warning"
    assert finding.message == (
        "paths.appdata (/srv/pool/appdata) is on pool tank: databases on spinning RAID are slow, "
        "and the pool's health becomes every app's health"
    )
    assert finding.hint == "keep app data on the OS SSD, as the reference does"
    assert kit.at(finding) == kit.pos(text, "appdata: /srv/pool/appdata")


def test_volume_outside_app_data_and_the_pool(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb:
              volumes: ["/opt/thing:/thing", "/dev/dri:/dev/dri", "named:/x", "/srv/pool/a:/a"]
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "warning"
    assert finding.message == (
        "tweb mounts /opt/thing, outside app data and the pool: it will not be backed up"
    )
    assert finding.hint == "map it under paths.appdata or the pool"
    assert kit.at(finding) == kit.pos(text, "    tweb:")


RAID6 = """
pools:
  tank:
    engine: btrfs
    level: raid6
    mount: /srv/pool
    metadata: {metadata}
    devices:
      - {{path: /dev/sda, size: 4TB}}
      - {{path: /dev/sdb, size: 4TB}}
      - {{path: /dev/sdc, size: 4TB}}
      - {{path: /dev/sdd, size: 4TB}}
"""


def test_btrfs_metadata_weaker_than_data(kit: BlueprintKit) -> None:
    text = kit.text(storage=RAID6.format(metadata="raid1"))
    [finding] = kit.findings(text, ID)
    assert finding.severity == "warning"
    assert finding.message == (
        "pool tank: metadata raid1 survives 1 failed drive, the data (raid6) 2 failed drives: "
        "a second one loses the whole filesystem"
    )
    assert finding.hint == "set `metadata: raid1c3`"
    assert kit.at(finding) == kit.pos(text, "metadata: raid1")

    assert kit.findings(kit.text(storage=RAID6.format(metadata="raid1c3")), ID) == []
    [single] = kit.findings(kit.text(storage=RAID6.format(metadata="single")), ID)
    assert single.message.endswith(
        "metadata single survives no failed drive, the data (raid6) 2 failed drives: "
        "any failed drive loses the whole filesystem"
    )


def test_btrfs_metadata_needs_its_own_device_count(kit: BlueprintKit) -> None:
    text = kit.text(
        storage=RAID6.format(metadata="raid1c4").replace(
            "      - {path: /dev/sdd, size: 4TB}\n", ""
        )
    )
    findings = kit.findings(text, ID)
    messages = [f.message for f in findings]
    assert (
        "pool tank: btrfs metadata raid1c4 needs at least 4 devices, and 3 are listed" in messages
    )
    [meta] = [f for f in findings if "metadata raid1c4" in f.message]
    assert meta.severity == "error"
    assert kit.at(meta) == kit.pos(text, "metadata: raid1c4")
