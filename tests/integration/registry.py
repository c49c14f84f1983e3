"""A real image registry on loopback for tests: Debian's docker-registry (distribution 2.8).

Started with its own config and storage under a tmp folder, on a free port; dockerd allows
plain HTTP to 127.0.0.0/8 registries, so `docker push` needs no TLS. Images to push are made
from the busybox test image with `docker commit`, each with its own label, so every tag has its
own digest. ``created`` gives a pushed image another build date: its config is rewritten
with it and pushed as a new blob under a new manifest, through the Registry API as any image
tool does it (the layers stay), so the registry serves an image that says it was built then.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRegistry:
    def __init__(self, address: str) -> None:
        self.address = address  # 127.0.0.1:PORT
        self.pushed: list[str] = []

    def push(
        self,
        base: str,
        repository: str,
        tag: str,
        *,
        label: str | None = None,
        env: dict[str, str] | None = None,
        created: str | None = None,
    ) -> str:
        """Push a variant of ``base`` as ``repository:tag`` (with ``env`` set in the image,
        built at ``created``, RFC 3339, when given); returns the pushed digest."""
        target = f"{self.address}/{repository}:{tag}"
        cid = subprocess.run(
            ["docker", "create", base, "true"], capture_output=True, text=True, check=True
        ).stdout.strip()
        try:
            changes = [f"LABEL lt.build={label or tag}"]
            changes += [f"ENV {k}={v}" for k, v in (env or {}).items()]
            argv = ["docker", "commit"] + [a for c in changes for a in ("-c", c)]
            subprocess.run([*argv, cid, target], capture_output=True, check=True)
        finally:
            subprocess.run(["docker", "rm", "-f", cid], capture_output=True, check=False)
        subprocess.run(["docker", "push", target], capture_output=True, check=True, timeout=120)
        self.pushed.append(target)
        if created is not None:
            return self._rebuilt_at(repository, tag, created)
        response = httpx.head(
            f"http://{self.address}/v2/{repository}/manifests/{tag}",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        )
        return response.headers["docker-content-digest"]

    def _rebuilt_at(self, repository: str, tag: str, created: str) -> str:
        api = f"http://{self.address}/v2/{repository}"
        kind = "application/vnd.docker.distribution.manifest.v2+json"
        manifest = httpx.get(f"{api}/manifests/{tag}", headers={"Accept": kind}).json()
        assert manifest["mediaType"] == kind, manifest
        config = httpx.get(f"{api}/blobs/{manifest['config']['digest']}").json()
        config["created"] = created
        body = json.dumps(config).encode()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        upload = httpx.post(f"{api}/blobs/uploads/")
        assert upload.status_code == 202, upload.text
        location = upload.headers["location"]
        location = location if location.startswith("http") else f"http://{self.address}{location}"
        location += ("&" if "?" in location else "?") + f"digest={digest}"
        put = httpx.put(
            location, content=body, headers={"Content-Type": "application/octet-stream"}
        )
        assert put.status_code == 201, put.text
        manifest["config"] = {**manifest["config"], "digest": digest, "size": len(body)}
        put = httpx.put(
            f"{api}/manifests/{tag}",
            content=json.dumps(manifest).encode(),
            headers={"Content-Type": kind},
        )
        assert put.status_code == 201, put.text
        return str(put.headers["docker-content-digest"])

    def cleanup(self) -> None:
        for image in self.pushed:
            subprocess.run(["docker", "rmi", "-f", image], capture_output=True, check=False)


@contextmanager
def running_registry(root: Path, token_realm: str | None = None) -> Iterator[LocalRegistry]:
    """The registry, anonymous; with ``token_realm``, it asks for a Bearer token from that
    service and accepts only tokens signed by a key of its own, which no test has — so any
    token the service gives is refused, as a real registry refuses a bad or expired one."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("docker-registry is not installed; scripts/test installs it", pytrace=False)
    port = _free_port()
    config = root / "registry.yml"
    storage = root / "registry-data"
    storage.mkdir(parents=True)
    auth = ""
    if token_realm is not None:
        cert = root / "token.crt"
        key = root / "token.key"
        openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        subprocess.run(
            [*openssl, "-subj", "/CN=lt-token", "-keyout", str(key), "-out", str(cert)],
            capture_output=True,
            check=True,
        )
        auth = (
            f"auth: {{token: {{realm: '{token_realm}', service: lt.registry, issuer: lt-token, "
            f"rootcertbundle: {cert}}}}}\n"
        )
    config.write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {storage}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n" + auth
    )
    log = (root / "registry.log").open("wb")
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    registry = LocalRegistry(f"127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = httpx.get(f"http://{registry.address}/v2/", timeout=1)
                if answer.status_code == (200 if token_realm is None else 401):
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"docker-registry did not start: {(root / 'registry.log').read_text()}")
            time.sleep(0.1)
        yield registry
    finally:
        registry.cleanup()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
