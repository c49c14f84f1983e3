"""A compose file read in Python gives the model the Compose binary gives, container for
container: for every file of the corpus that does not need Compose, every rule's trigger and
near-miss file, lares's reference render, and a file that uses every form the reader knows.
The files it must leave to Compose are named, and go to Compose."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from lares.audit.targets import (
    _missing_env_file,
    compose_bundle,
    compose_config,
    containers_of,
    first_is,
    load_bundle,
    native_file,
)

from .audit_cases import BASE, CASES, patched

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
FILES = sorted(CORPUS.glob("*.y*ml")) if CORPUS.is_dir() else []
#: The corpus files only Compose reads as Docker would, and why: what they need is Compose's.
NEEDS_COMPOSE = {
    # ${DATA_ROOT} unset makes a volume ":/data", which Compose refuses, then reads as written
    "AdrienPoupa__docker-compose-nas__docker-compose.yml",
    # env_file: ${CONFIG_ROOT:-.}/vaultwarden/.env, a path only interpolation says
    "AdrienPoupa__docker-compose-nas__vaultwarden__docker-compose.yml",
}


def _same(native: dict[str, Any], compose: dict[str, Any], source: str, text: str) -> None:
    mine, mine_lines = containers_of(native, source=source, text=text)
    theirs, their_lines = containers_of(compose, source=source, text=text)
    assert [c.name for c in mine] == [c.name for c in theirs]
    for a, b in zip(mine, theirs, strict=True):
        assert a == b, a.name
    assert mine_lines == their_lines


@pytest.mark.skipif(not FILES, reason="no shared/ checkout beside the repo")
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_a_corpus_file_reads_the_same_in_python_and_in_compose(path: Path) -> None:
    text = path.read_text()
    missing = _missing_env_file(path)
    native = native_file(path, text, as_written=missing is not None)
    compose, note = compose_config(path)  # Compose alone, both of its steps
    if path.name in NEEDS_COMPOSE:
        assert native is None
        # Compose refuses what interpolation makes of it and reads it as written: so does lares
        assert note is not None and first_is(note)
        native = native_file(path, text, as_written=True)
    else:
        assert (note is not None) == (missing is not None)  # read as written, both ways
    assert native is not None
    _same(native, compose, str(path), text)


def test_every_rule_case_reads_the_same_in_python_and_in_compose(tmp_path: Path) -> None:
    for case in CASES:
        for kind, patch in (("trigger", case.trigger), ("miss", case.near_miss)):
            path = tmp_path / f"{case.rule}-{kind}.yaml"
            doc = {"name": f"lt-audit-{case.rule}", "services": {"app": patched(BASE, patch)}}
            path.write_text(yaml.safe_dump(doc) + (case.text or ""))
            native = native_file(path, path.read_text())
            assert native is not None, path.name
            _same(native, compose_config(path)[0], str(path), path.read_text())


def test_the_reference_render_reads_the_same_in_python_and_in_compose(tmp_path: Path) -> None:
    from lares.blueprint.load import load_source
    from lares.blueprint.source import Source
    from lares.plan import make_context
    from lares.render import render_all

    system = make_context(load_source(Source.find(None))).system
    home = render_all(system, source="the reference homelab", target="home")
    files = {p: f.content for p, f in home.files.items()}
    env = {e.path: "".join(f"{k}=lares-audit-placeholder\n" for k in e.variables)
           for e in home.env_files}  # fmt: skip
    stacks = sorted(p for p in files if p.endswith("/compose.yaml"))
    assert len(stacks) >= 4
    compose = compose_bundle(files, env, "the reference homelab", stacks, tmp_path)
    native = load_bundle(files, env, "the reference homelab", root=str(tmp_path))
    expected = [c for rel in stacks for c in containers_of(compose[rel], source=rel)[0]]
    assert native.containers == expected
    assert any(c.environment.get("PAPERLESS_REDIS") for c in expected)  # from an env_file


EVERY_FORM = """\
name: lt-audit-forms
services:
  web:
    image: "nginx:${LT_TAG:-1.27}"
    container_name: ${LT_UNSET_NAME-lt-forms-web}
    user: ${LT_UID:-1000}
    privileged: ${LT_PRIV:-false}
    read_only: true
    mem_limit: 1g
    cpus: "0.5"
    pids_limit: "100"
    restart: on-failure:3
    ports: ["80", "127.0.0.1:8080:80/udp", "9000-9001:9000-9001", "[::1]:53:53", 8443,
            {target: 81, published: 8081, host_ip: 0.0.0.0}, "127.0.0.1::82"]
    volumes: ["./data/:/data/:ro", "named:/x", "/srv/:/srv:shared", "/y/", "~/h:/h:z",
              {type: bind, source: ./rel, target: /z/}, {type: tmpfs, target: /tmp}]
    environment: [A=1, LT_SET, LT_NOT_SET, "C=", "D=$$HOME", "E=$LT_SET", "F=${LT_SET:+yes}",
                  "G=${LT_EMPTY:-dflt}", "H=${LT_EMPTY-kept}", "I=${LT_DOLLAR}"]
    labels: [x=1, y]
    healthcheck: {test: "curl -f http://localhost", interval: 30s}
    ulimits: {nofile: 1024, nproc: {soft: 1, hard: 2}}
    devices: ["/dev/dri:/dev/dri", {source: /dev/null, target: /dev/lt-null}]
    cap_add: [net_admin, CAP_SYS_TIME]
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true", "apparmor=unconfined"]
    networks: [front, back]
  worker:
    image: busybox:1.36
    environment: {X: 1, Y: true, Z: null, LT_SET: null}
    labels: {a: 1, b: false}
    healthcheck: {disable: true}
    deploy:
      resources: {limits: {memory: 512M, cpus: '0.25', pids: 50}}
      restart_policy: {condition: any, max_attempts: 3}
    networks: {back: {aliases: [w]}, shared: {}}
  sidecar:
    image: busybox:1.36
    network_mode: "service:worker"
  lone:
    image: busybox:1.36
    pid: host
    ipc: host
    uts: host
    userns_mode: host
networks:
  front: {}
  back: {name: lt-forms-back}
  shared: {external: true}
volumes: {named: {}}
"""


def test_every_form_the_reader_knows_reads_as_compose_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LT_SET", "from-env")
    monkeypatch.setenv("LT_EMPTY", "")
    monkeypatch.setenv("LT_DOLLAR", "a$b")
    path = tmp_path / "forms" / "compose.yaml"
    path.parent.mkdir()
    path.write_text(EVERY_FORM)
    native = native_file(path, EVERY_FORM)
    assert native is not None
    _same(native, compose_config(path)[0], str(path), EVERY_FORM)
    # and without a name, the project is named after the folder, as Compose names it
    unnamed = EVERY_FORM.replace("name: lt-audit-forms\n", "")
    path.write_text(unnamed)
    native = native_file(path, unnamed)
    assert native is not None and native["name"] == "forms"
    _same(native, compose_config(path)[0], str(path), unnamed)


TWICE = (
    "services:\n  a:\n    image: b:1\n    mem_limit: 1g\n"
    "    deploy: {resources: {limits: {memory: 2g}}}\n"
)


@pytest.mark.parametrize(
    ("why", "text"),
    [
        ("extends", "services:\n  a:\n    image: b:1\n    extends: {file: x.yaml, service: c}\n"),
        ("include", "include: [other.yaml]\nservices:\n  a:\n    image: b:1\n"),
        ("a required variable", "services:\n  a:\n    image: b:${LT_NOPE:?set it}\n"),
        ("a nested default", "services:\n  a:\n    image: b:${LT_NOPE:-${LT_NO}}\n"),
        ("a key Compose refuses", "services:\n  a:\n    image: b:1\n    privilegd: true\n"),
        ("a limit set twice", TWICE),
        ("an env file", "services:\n  a:\n    image: b:1\n    env_file: [app.env]\n"),
        ("broken YAML", "services:\n  a:\n    image: [unclosed\n"),
    ],
)
def test_what_needs_compose_goes_to_compose(tmp_path: Path, why: str, text: str) -> None:
    (tmp_path / "app.env").write_text("A=1\n")
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    assert native_file(path, text) is None, why


def test_a_dot_env_or_a_compose_variable_leaves_the_file_to_compose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n  a:\n    image: b:1\n")
    assert native_file(path, path.read_text()) is not None
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", "other")
    assert native_file(path, path.read_text()) is None
    monkeypatch.delenv("COMPOSE_PROJECT_NAME")
    (tmp_path / ".env").write_text("TAG=1\n")
    assert native_file(path, path.read_text()) is None
    assert "COMPOSE_PROJECT_NAME" not in os.environ
