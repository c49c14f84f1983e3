"""Pins and settings that follow from the upstream sources in the apps' ``verified:`` lists.

Immich runs a v3 release with upstream's own database image and keeps every cache of its
machine learning in the model volume; Apache Tika's minimal image has neither curl nor wget;
Gotenberg answers on /health; every container of these apps records what it was checked against.
"""

from __future__ import annotations

import pytest

from lares.catalog.load import load_catalog

RECORDED = ["immich", "calcom", "paperless", "stirling-pdf"]


@pytest.mark.parametrize("app", RECORDED)
def test_every_container_records_its_upstream_sources(app: str) -> None:
    for name, container in load_catalog().apps[app].containers.items():
        assert container.verified, f"{app}/{name} records no upstream source"


def test_immich_runs_v3_with_upstreams_database_image() -> None:
    containers = load_catalog().apps["immich"].containers
    server, ml = containers["immich"], containers["machine-learning"]
    # the server and its machine learning are one release
    assert server.version == ml.version
    assert server.version.startswith("v3.")
    # the tag of upstream's docker-compose.yml for the v3 releases (VectorChord on PostgreSQL 14)
    assert containers["db"].image == "ghcr.io/immich-app/postgres"
    assert containers["db"].version == "14-vectorchord0.4.3-pgvectors0.2.0"


def test_immich_machine_learning_keeps_its_caches_in_the_model_volume() -> None:
    ml = load_catalog().apps["immich"].containers["machine-learning"]
    assert ml.user is not None
    assert any(v.endswith(":/cache") for v in ml.volumes)
    # a uid with no writable home: every folder the libraries would make under $HOME
    for var in ("HF_HOME", "MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        assert str(ml.environment[var]).startswith("/cache/"), var


def test_paperless_helpers_health_checks_use_what_their_images_have() -> None:
    containers = load_catalog().apps["paperless"].containers
    tika = " ".join(containers["tika"].healthcheck.test)
    assert "curl" not in tika and "wget" not in tika
    assert "/dev/tcp/127.0.0.1/9998" in tika
    assert "http://127.0.0.1:3000/health" in containers["gotenberg"].healthcheck.test
