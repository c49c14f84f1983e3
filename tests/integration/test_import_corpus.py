"""Every compose file of the shared corpus imported, its blueprint planned and rendered back.

Each file is copied into a project folder with the ``.env`` its author keeps beside it (every
``${VAR}`` it needs without a default, given a plausible value) and empty env files where it
names them, as on the machine it came from.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from lares import hostpaths
from lares.blueprint.load import load
from lares.importer import credentials, service
from lares.importer.actions import ImportReport, import_projects
from lares.plan import plan
from lares.render import render_all
from lares.secrets import SecretStore

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
if not CORPUS.is_dir():
    pytest.skip("no shared/ checkout beside the repo", allow_module_level=True)
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".yml", ".yaml"))
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: The share of the corpus's services that must become a catalog app or a clean custom file
#: (one that plans with no error, with no manual edit). A service that runs a floating tag
#: (latest, or none) is a clean custom app too: lares pins it by digest (lares.lock).
MAPPED_AT_LEAST = 0.9


def _value(name: str) -> str:
    upper = name.upper()
    if upper.endswith(("ROOT", "STORAGE", "DIR")):
        return f"/mnt/data/{name.lower()}"
    if upper.endswith(("_ID", "UID", "GID")):
        return "1000"
    if "TIMEZONE" in upper:
        return "Europe/Berlin"
    if upper.endswith("_IP"):
        return "172.28.0.10"
    if upper.startswith("PORT") or upper.endswith("PORT"):
        return "5432"
    return f"example-{name.lower().replace('_', '-')}-value"


def prepare(file: Path, folder: Path) -> Path:
    """``file`` as a project folder: compose.yaml, its .env, and the env files it names."""
    folder.mkdir(parents=True, exist_ok=True)
    text = file.read_text()
    shutil.copy(file, folder / "compose.yaml")
    names = sorted(set(_VAR.findall(text)))
    (folder / ".env").write_text("".join(f"{n}={_value(n)}\n" for n in names))
    data = yaml.safe_load(text) or {}
    for spec in (data.get("services") or {}).values():
        entries = spec.get("env_file") or []
        for entry in [entries] if isinstance(entries, str | dict) else entries:
            path = entry["path"] if isinstance(entry, dict) else entry
            path = re.sub(r"\$\{[A-Za-z_]+:-([^}]*)\}", r"\1", path)
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
    return folder


def _imported(file: Path, tmp: Path) -> tuple[ImportReport, Path]:
    project = prepare(file, tmp / "project")
    out = tmp / "out"
    return import_projects([project], out, secrets_dir=tmp / "secrets"), out


@pytest.mark.parametrize("file", FILES, ids=[f.name for f in FILES])
def test_corpus_file_imports_plans_and_renders_back(file: Path, tmp_path: Path) -> None:
    report, out = _imported(file, tmp_path)
    assert report.plan_errors == []
    written = load(out / "lares.yaml")
    planned = plan(written)
    assert [f.render() for f in planned.errors] == []
    bundle = render_all(planned.system, source="lares.yaml")
    store = SecretStore(tmp_path / "secrets")
    text = "".join((out / rel).read_text() for rel in report.written)
    dump = json.dumps(report.to_dict())
    for a in report.apps:
        if a.review:
            continue
        for name, value in a.secrets.items():
            assert store.read(f"{a.id}_{name}") == value
    for spec in _resolved(tmp_path / "project").values():  # no credential in files or --json
        for var, value in service.environment(spec).items():
            if credentials.is_credential(var, value):
                assert f"{var}: {value}" not in text, var
                assert f'"{var}": "{value}"' not in dump and f"{var}={value}" not in dump, var
    rendered = {
        name: spec
        for rel, f in bundle.files.items()
        if rel.endswith("/compose.yaml")
        for name, spec in (yaml.safe_load(f.content).get("services") or {}).items()
    }
    original = report.trips
    assert len(original) == report.mapped
    for trip in original:
        assert trip.rendered in rendered, trip.rendered
        for field in trip.fields:
            assert field.status == "equal" or field.why, (trip.service, field)
        assert trip.hardening, f"{trip.service}: no hardening change listed"
    for a in report.apps:
        if a.catalog:
            for key, svc in a.services.items():
                _kept_as_overrides(_resolved(tmp_path / "project")[svc], a.id, key, rendered)
    for a in report.apps:
        if a.catalog or a.review:
            continue
        project_services = _resolved(tmp_path / "project")
        for key, svc in a.services.items():
            name = a.id if key == a.id else f"{a.id}-{key}"
            _same_service(project_services[svc], rendered[name], store, a.id)


def _resolved(folder: Path) -> dict[str, dict[str, object]]:
    from lares.importer.load import find, load_one

    [source] = find([folder])
    return load_one(source).services


def _kept_as_overrides(before: dict, app_id: str, key: str, rendered: dict) -> None:  # type: ignore[type-arg]
    """A catalog app keeps, as overrides, the folders the original mounts (in place of the
    catalog's own for the same path) and the ports it publishes, but for its web port and
    80 and 443 (the proxy's), and a container that shares another's network."""
    from lares.catalog.load import load_catalog

    app = load_catalog(())[app_id]
    name = app.service_name(key)
    after = rendered[name]
    mounted = {(hostpaths.normal(v.source), v.target.rstrip("/")) for v in service.volumes(after)}
    for v in service.volumes(before):
        if v.kind == "bind" and not v.socket and not hostpaths.declared_problem(v.source):
            assert (hostpaths.normal(v.source), v.target.rstrip("/")) in mounted, (name, v)
    if app.containers[key].network_mode is not None:
        return
    web = app.web.port if app.web is not None and app.web.container == key else None
    published = {(p.host or p.container, p.container, p.protocol) for p in service.ports(after)}
    for p in service.ports(before):
        if p.container != web and (p.host or p.container) not in (80, 443):
            assert (p.host or p.container, p.container, p.protocol) in published, (name, p)


def _same_service(before: dict, after: dict, store: SecretStore, app: str) -> None:  # type: ignore[type-arg]
    """A custom app renders the service it came from: image, mounts, environment (a secret
    read as its value), healthcheck."""
    assert service.split_image(before["image"]) == service.split_image(after["image"])
    mountable = {
        v.target
        for v in service.volumes(before)
        if v.kind == "bind" and not v.socket and not hostpaths.declared_problem(v.source)
    }
    assert mountable <= {v.target for v in service.volumes(after)}
    env_after = service.environment(after)
    for var, value in service.environment(before).items():
        if var in env_after:
            assert env_after[var] == value.replace("$$", "$"), var
        else:  # a credential: now a lares secret with the same value
            assert any(store.read(p.name) == value for p in store.root.iterdir()), var
    if service.healthcheck(before):
        assert service.healthcheck(after)["test"] == service.healthcheck(before)["test"]  # type: ignore[index]


def test_most_of_the_corpus_maps_to_the_catalog_or_a_clean_custom_file(tmp_path: Path) -> None:
    total = mapped = 0
    floating = 0
    left: list[str] = []  # the services that do not map, and why
    for i, file in enumerate(FILES):
        report, _ = _imported(file, tmp_path / str(i))
        total += report.services
        mapped += report.mapped
        left += [f"{file.name}: {a.review}" for a in report.apps if a.review]
        floating += sum(
            "floating_tag" in (c.get("exceptions") or {})
            for a in report.apps
            if a.custom and a.review is None
            for c in a.custom["containers"].values()
        )
        assert report.plan_errors == [], file.name
    assert total >= 60
    assert mapped / total >= MAPPED_AT_LEAST, f"{mapped} of {total}; not mapped:\n" + "\n".join(
        left
    )
    assert floating >= 20  # the corpus's latest and untagged images, each kept and pinned
    print(f"\n{mapped} of {total} corpus services mapped; not mapped: {left or 'none'}")


def test_a_floating_tag_plans_with_a_warning_and_pins_by_digest(tmp_path: Path) -> None:
    """An untagged custom service is kept as it runs (latest), planned with a warning, not an
    error; the catalog app of the same project keeps the catalog's pinned release."""
    file = next(f for f in FILES if "Traefikv3" in f.name)
    report, out = _imported(file, tmp_path)
    [traefik] = [a for a in report.apps if a.id == "traefik"]
    assert traefik.review is None
    main = traefik.custom["containers"]["traefik"]  # type: ignore[index]
    assert main["version"] == "latest"
    assert main["exceptions"]["floating_tag"].startswith("imported: review")
    planned = plan(load(out / "lares.yaml"))
    assert [f.render() for f in planned.errors] == []
    warned = [f.message for f in planned.findings if "floating tag" in f.message]
    assert any("traefik" in w and "pinned by digest at first `lares up`" in w for w in warned)


def test_the_python_reading_as_written_is_what_compose_prints(tmp_path: Path) -> None:
    """Where the import reads a project as written in Python (instead of a second Compose run),
    each service's environment (all it reads from it) is the one `--no-interpolate` gives."""
    from lares.importer.load import _config, _written, find

    native = 0
    for i, file in enumerate(FILES):
        [source] = find([prepare(file, tmp_path / str(i))])
        written = _written(source)
        if written is None:
            continue
        native += 1
        compose = _config(source, "--no-interpolate")["services"]
        assert set(written["services"]) == set(compose), file.name
        for name, spec in compose.items():
            mine = service.environment(written["services"][name])
            assert mine == service.environment(spec), (file.name, name)
    assert native >= 10, native  # 10 of the 18: one file, no env_file, plain values
