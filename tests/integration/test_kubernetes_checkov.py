"""checkov's Kubernetes checks on the reference's manifests: everything they find, the Compose
render also has, and accepts with the catalog's reason or reports the same way.

checkov (PyPI) runs offline (``--skip-download``) from its own virtualenv, which scripts/test
makes (its dependencies would pin lares's). A failed check of a workload maps to what the
Compose render does for a container of that workload:

* hardening exceptions (root, an added capability, a writable root, the host network, the
  Docker socket, a secret read from the environment) must be exceptions the catalog declares for
  that container, with their reason (the audit of the Compose render accepts them by it);
* what the audit reports and lares does not do (no CPU limits: the budget is memory; a tag, not
  a digest, pinned once ``lares up`` records the digest in lares.lock) must be REPORTED there the
  same, so the two renders agree;
* two checks have no compose counterpart and are answered here: the pull policy (``Always``
  would pull at every restart; versions are pinned and a node keeps its image) and a uid above
  10000 (the apps run as the uid that owns their data folders on the host, as in Compose).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from lares.audit.actions import audit_stacks
from lares.audit.stacks import Stacks
from lares.blueprint.load import load_reference
from lares.plan import make_context
from lares.render import render_all

CHECKOV = Path(os.environ.get("LARES_CHECKOV", "/opt/lares-checkov/bin/checkov"))

#: checkov check → the catalog exception the Compose render accepts it by
ACCEPTED_IN_COMPOSE = {
    "CKV_K8S_23": "root",
    "CKV_K8S_25": "capabilities",
    "CKV_K8S_22": "writable_root",
    "CKV_K8S_19": "host_network",
    "CKV_K8S_27": "docker_socket",
    "CKV_K8S_35": "plain_env_secret",
}
#: the audit rule of each exception, on the Compose render
AUDIT_RULE = {
    "root": "root-user",
    "capabilities": "capability-added",
    "writable_root": "writable-root",
    "host_network": "host-network",
    "docker_socket": "docker-socket",
}
#: checkov check → the audit rule that reports it (not accepted) in the Compose render too
REPORTED_IN_COMPOSE = {
    "CKV_K8S_10": "cpu-limit",
    "CKV_K8S_11": "cpu-limit",
    "CKV_K8S_43": "image-no-digest",
}
#: checks with no Compose counterpart, and why the manifests keep what they do
ANSWERED = {
    "CKV_K8S_15": "imagePullPolicy IfNotPresent: versions are pinned, a node keeps its image",
    "CKV_K8S_40": "each app runs as the uid that owns its data folder on the host (host.puid)",
}


def _checkov(folder: Path) -> list[dict[str, object]]:
    assert CHECKOV.is_file(), f"{CHECKOV} is missing: scripts/test installs it (phase checkov)"
    argv = [str(CHECKOV), "-d", str(folder), "--framework", "kubernetes", "--skip-download"]
    proc = subprocess.run(
        [*argv, "--quiet", "--compact", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    parsed = json.loads(proc.stdout)
    reports = parsed if isinstance(parsed, list) else [parsed]
    assert all(r["summary"]["parsing_errors"] == 0 for r in reports)
    assert sum(r["summary"]["passed"] for r in reports) > 1000  # it did read the manifests
    return [f for r in reports for f in r["results"]["failed_checks"]]


@pytest.mark.timeout(300)
def test_checkov_finds_nothing_the_compose_render_does_not_accept_or_report(
    tmp_path: Path,
) -> None:
    loaded = load_reference()
    system = make_context(loaded).system
    containers: dict[str, set[str]] = {}  # "Kind.namespace.name" → its containers
    for path, file in render_all(system, target="kubernetes").files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.content)
        if path.endswith(".yaml"):
            for doc in yaml.safe_load_all(file.content):
                spec = (doc or {}).get("spec", {}).get("template", {}).get("spec")
                if spec:
                    name = f"{doc['kind']}.{doc['metadata']['namespace']}.{doc['metadata']['name']}"
                    containers[name] = {c["name"] for c in spec["containers"]}
    failed = _checkov(tmp_path / "kubernetes")
    assert failed, "checkov found nothing at all: is it checking?"

    exceptions = {svc.name: svc.spec.exceptions for svc in system.services}
    report = audit_stacks(Stacks(system, loaded), "lares.yaml", drift=False)
    accepted: dict[str, set[str]] = defaultdict(set)
    reported: dict[str, set[str]] = defaultdict(set)
    for f in report.findings:
        (accepted if f.accepted else reported)[f.rule].add(f.container)

    unexplained = []
    for f in failed:
        check, resource = str(f["check_id"]), str(f["resource"])
        inside = containers.get(resource, set())
        if check in ACCEPTED_IN_COMPOSE:
            kind = ACCEPTED_IN_COMPOSE[check]
            ok = any(exceptions.get(c, {}).get(kind, "").strip() for c in inside)
        elif check in REPORTED_IN_COMPOSE:
            ok = bool(inside & reported[REPORTED_IN_COMPOSE[check]])
        else:
            ok = check in ANSWERED
        if not ok:
            unexplained.append(f"{check} {f['check_name']}: {resource}")
    assert not unexplained, "\n".join(unexplained)
    # and the other way: what the audit accepts in the Compose render shows in the manifests too
    found = {(str(f["check_id"]), c) for f in failed for c in containers[str(f["resource"])]}
    for check, kind in ACCEPTED_IN_COMPOSE.items():
        for container in accepted[AUDIT_RULE.get(kind, "")]:
            assert (check, container) in found, f"{container}: {kind} but no {check}"
