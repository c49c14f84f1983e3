"""A URL exists only when something serves it: the proxy for LAN names, the tunnel for public ones,
a published port for itself."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import LaresRunner
from lares.blueprint.load import load_text
from lares.monitor.config import build
from lares.plan import make_context

DATA = Path(__file__).resolve().parents[1] / "data"
DEPLOY = DATA / "deploy" / "lares.yaml"  # ld-web publishes 18080 on the LAN; no Caddy
ACCESS = DATA / "access" / "blueprint.yaml"  # Caddy and the tunnel


def _lab(tmp_path: Path, *, published: bool = True) -> Path:
    """A copy of the deploy blueprint and its catalog; ``published`` false drops ld-web's port."""
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for name in ("ld-db", "ld-web"):
        source = (DEPLOY.parent / "catalog" / f"{name}.yaml").read_text()
        if not published and name == "ld-web":
            source = source.replace(
                "    ports:\n      - {container: 8080, host: 18080, bind: lan}\n", ""
            )
            assert "ports:" not in source
        (catalog / f"{name}.yaml").write_text(source)
    blueprint = tmp_path / "lares.yaml"
    blueprint.write_text(DEPLOY.read_text().replace("${LT_ROOT}", str(tmp_path / "data")))
    return blueprint


def test_without_the_proxy_the_monitor_checks_the_published_port_not_the_lan_name() -> None:
    loaded = load_text(
        DEPLOY.read_text(), filename="lares.yaml", base_dir=DEPLOY.parent, env={"LT_ROOT": "/lt"}
    )
    config = build(make_context(loaded).system, deployed=["ld-data", "ld-front"])
    assert [(e.app, e.kind, e.url, e.address) for e in config.endpoints] == [
        ("ld-web", "port", "http://127.0.0.2:18080/", None)
    ]


def test_with_the_proxy_and_the_tunnel_names_are_checked() -> None:
    loaded = load_text(ACCESS.read_text(), filename="access.yaml", base_dir=ACCESS.parent, env={})
    config = build(make_context(loaded).system)
    kinds = {(e.app, e.kind) for e in config.endpoints}
    assert ("aweb", "lan") in kinds and ("apub", "public") in kinds
    assert all(e.kind != "port" for e in config.endpoints)


def test_plan_lists_the_published_port_and_no_lan_name_without_the_proxy(
    run_lares: LaresRunner, tmp_path: Path
) -> None:
    blueprint = _lab(tmp_path)
    proc = run_lares("plan", "--json", "-f", str(blueprint))
    urls = json.loads(proc.stdout)["urls"]
    assert urls["ld-web"] == {
        "exposure": "lan",
        "lan": None,
        "public": None,
        "direct": ["http://127.0.0.2:18080"],
    }
    text = run_lares("plan", "-f", str(blueprint)).stdout
    assert "https://web.lt.test" not in text
    assert "http://127.0.0.2:18080" in text


def test_plan_says_which_apps_nothing_serves(run_lares: LaresRunner, tmp_path: Path) -> None:
    blueprint = _lab(tmp_path, published=False)
    proc = run_lares("plan", "-f", str(blueprint))
    assert "No URL (no caddy, no port published): ld-web" in proc.stdout
    assert "https://web.lt.test" not in proc.stdout
    data = json.loads(run_lares("plan", "--json", "-f", str(blueprint)).stdout)
    assert data["urls"]["ld-web"]["direct"] == [] and data["urls"]["ld-web"]["lan"] is None
