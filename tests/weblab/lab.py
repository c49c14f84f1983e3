"""A deployed test homelab with its watcher and dashboard running, as a person would run them.

:class:`WebLab` writes a blueprint of three busybox apps in two stacks (one holding a generated
secret and publishing its web port, one backed up to a local restic repository and with a
database container), deploys it with ``lares up`` on the real
engine, creates the repository, starts ``lares watch`` (a 2 s interval, alerts at first
sight) and ``lares serve`` on a free loopback port, and stops and removes all of it in
:meth:`WebLab.close`, also after a failure half-way. Every name starts with ``lt-`` and every
file lives under ``/tmp/lares-test-web-*``, which the integration conftest sweeps when a killed
run left them.

:class:`Client` is an HTTP client of that server that logs in the way the browser does (the
login form's hidden fields, the session cookie, the page's ``csrf-token``) and keeps every
response it got, so a test can grep them all for secrets.
"""

from __future__ import annotations

import html
import os
import random
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from integration.lares_lab import (
    die_with_parent,
    free_port,
    lares_argv,
    lares_env,
    run_lares,
)

if TYPE_CHECKING:
    import docker

INTERVAL = 2.0  # the watcher's interval, seconds (monitor.interval in the blueprint)
PASSWORD_LEN = 20
HIDDEN_RE = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
ATTR_RE = re.compile(r'([a-zA-Z_:-]+)\s*=\s*"([^"]*)"')
META_CSRF_RE = re.compile(r'<meta\s+name="csrf-token"\s+content="([^"]*)"', re.IGNORECASE)

APP_YAML = """\
id: {app}
name: {title}
description: busybox httpd for the dashboard tests
category: tools
web: {{container: {app}, port: 8080, subdomain: {app}}}
{secrets}containers:
  {app}:
    image: lares-test/busybox
    version: "1"
    user: "1000:1000"
    command:
      - sh
      - -c
      - >-
        touch /tmp/healthy && mkdir -p /tmp/www && echo {app} > /tmp/www/index.html
        && exec httpd -f -p 8080 -h /tmp/www
    tmpfs: [/tmp]
{networks}{ports}{environment}    healthcheck:
      test: [CMD, test, -f, /tmp/healthy]
      interval: 1s
      timeout: 2s
      retries: 1
      start_period: 1s
    memory: {{reservation: 8MiB, limit: 32MiB}}
    pids: 32
{database}{backup}"""

#: The backed-up app's database container: a root cause of the app's alerts when it stops.
DATABASE_YAML = """  db:
    image: lares-test/busybox
    version: "1"
    user: "1000:1000"
    role: database
    networks: [database]
    command: [sleep, "86400"]
    memory: {reservation: 8MiB, limit: 32MiB}
    pids: 16
    exceptions:
      no_healthcheck: a stand-in database that only sleeps
"""

BLUEPRINT_YAML = """\
version: 1
host:
  name: lt-web-host
  cpu: {{cores: 2, threads: 2}}
  memory: 4GiB
  reserved: {{os: 512MiB, docker: 256MiB}}
paths:
  appdata: {root}/appdata
  pool: {root}/pool
network:
  lan: 127.0.0.0/24
  host_address: 127.0.0.2
  domain: lt.test
  docker:
    {prefix}-db: {{subnet: {subnet}, internal: true, purpose: database}}
stacks:
{stacks}catalog: [catalog]
backup:
  repositories:
    local: {{url: {root}/repo, schedule: daily}}
monitor:
  interval: {interval}s
  thresholds: {{pending_samples: 1}}
dashboard: {{listen: "127.0.0.1:{port}"}}
"""


def free_subnet() -> str:
    """A /24 in 10.233.0.0/16 that no Docker network holds (other tests run beside these)."""
    ids = subprocess.run(
        ["docker", "network", "ls", "-q"], capture_output=True, text=True, check=True
    ).stdout.split()
    subnets = "{{range .IPAM.Config}}{{.Subnet}} {{end}}"
    taken = subprocess.run(
        ["docker", "network", "inspect", "--format", subnets, *ids],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    free = [f"10.233.{n}.0/24" for n in range(256) if f"10.233.{n}.0/24" not in taken]
    return random.choice(free)


@dataclass
class WebLab:
    """The homelab under ``root`` (see the module docstring); ``apps`` maps stack → app ids."""

    root: Path = field(default_factory=lambda: Path(f"/tmp/lares-test-web-{uuid.uuid4().hex[:8]}"))
    password: str = field(default_factory=lambda: secrets.token_urlsafe(PASSWORD_LEN))
    port: int = field(default_factory=free_port)
    #: The host port of the first app's web UI (on the blueprint's 127.0.0.2), its LAN URL.
    web_port: int = field(default_factory=free_port)
    apps: dict[str, list[str]] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        tag = self.root.name.rsplit("-", 1)[-1]
        self.prefix = f"lt-{tag}"
        self.apps = {
            f"{self.prefix}-front": [f"{self.prefix}-one", f"{self.prefix}-two"],
            f"{self.prefix}-back": [f"{self.prefix}-three"],
        }

    # ── paths and commands ──────────────────────────────────────────────────────────────

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def blueprint(self) -> Path:
        return self.root / "lares.yaml"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def all_apps(self) -> list[str]:
        return [app for apps in self.apps.values() for app in apps]

    @property
    def lan_url(self) -> str:
        """The first app's URL: without a proxy app, its published web port."""
        return f"http://127.0.0.2:{self.web_port}"

    @property
    def secret_app(self) -> str:
        return self.all_apps[0]

    @property
    def backed_up_app(self) -> str:
        return self.all_apps[1]

    @property
    def database(self) -> str:
        """The container name of the backed-up app's database."""
        return f"{self.backed_up_app}-db"

    def argv(self, *args: str) -> list[str]:
        return lares_argv(self.blueprint, self.state, *args)

    def env(self) -> dict[str, str]:
        return lares_env(self.state)

    def lares(
        self, *args: str, input: str | None = None, timeout: float = 240, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``lares ARGS -f blueprint --state-dir state``; raises with its output on failure."""
        return run_lares(
            self.blueprint,
            self.state,
            *args,
            outputs=self.outputs,
            input=input,
            timeout=timeout,
            check=check,
        )

    # ── set-up ──────────────────────────────────────────────────────────────────────────

    def write(self) -> None:
        """The catalog folder, the blueprint and the app folders."""
        catalog = self.root / "catalog"
        catalog.mkdir(parents=True)
        for app in self.all_apps:
            secret = app == self.secret_app
            backed_up = app == self.backed_up_app
            (catalog / f"{app}.yaml").write_text(
                APP_YAML.format(
                    app=app,
                    title=app.rsplit("-", 1)[-1].capitalize(),
                    secrets="secrets:\n  api_key: {length: 24}\n" if secret else "",
                    environment=(
                        '    environment:\n      API_KEY_FILE: "{secret_file:api_key}"\n'
                        if secret
                        else ""
                    ),
                    backup='backup:\n  paths: ["{appdata}/data"]\n' if backed_up else "",
                    database=DATABASE_YAML if backed_up else "",
                    networks="    networks: [stack, database]\n" if backed_up else "",
                    ports=(
                        "    ports:\n"
                        f"      - {{container: 8080, host: {self.web_port}, bind: lan}}\n"
                        if secret
                        else ""
                    ),
                )
            )
            (self.root / "appdata" / app / "data").mkdir(parents=True)
        (self.root / "appdata" / self.backed_up_app / "data" / "notes.txt").write_text("kept\n")
        (self.root / "pool").mkdir()
        stacks = "".join(
            f"  {stack}:\n    apps: [{', '.join(apps)}]\n" for stack, apps in self.apps.items()
        )
        self.blueprint.write_text(
            BLUEPRINT_YAML.format(
                root=self.root,
                stacks=stacks,
                interval=f"{INTERVAL:g}",
                port=self.port,
                prefix=self.prefix,
                subnet=free_subnet(),
            )
        )

    def start(self) -> None:
        """Set the admin password, start the server, deploy, create the repository, start the
        watcher. The server starts (its imports take seconds) while the stacks come up."""
        self.write()
        self.lares("serve", "--set-password", input=self.password + "\n", timeout=60)
        self.spawn("serve", "serve", "--listen", f"127.0.0.1:{self.port}")
        init = subprocess.Popen(
            self.argv("backup", "init"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env(),
        )
        try:
            self.lares("up", "--yes")
        finally:
            out, _ = init.communicate(timeout=120)
        self.outputs.append(out)
        assert init.returncode == 0, f"lares backup init exited {init.returncode}:\n{out}"
        self.spawn("watch", "watch")
        self.wait_for_server()

    def spawn(self, name: str, *args: str) -> None:
        """Start ``lares ARGS`` in the background, its output in ``<root>/<name>.log``; the
        kernel ends it if this test process dies, so a killed run leaves no server behind."""
        log = open(self.root / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            self.argv(*args),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env(),
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        log.close()

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for_server(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            proc = self.processes["serve"]
            if proc.poll() is not None:
                raise AssertionError(f"lares serve exited {proc.returncode}:\n{self.log('serve')}")
            try:
                if httpx.get(f"{self.url}/login", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"lares serve did not answer in {seconds:g} s:\n{self.log('serve')}")

    def wait_for_watcher(self, seconds: float = 30) -> None:
        """Until the watcher has stored a cycle that saw every app's container."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            proc = self.processes["watch"]
            if proc.poll() is not None:
                raise AssertionError(f"lares watch exited {proc.returncode}:\n{self.log('watch')}")
            if (self.state / "monitor" / "watch.json").exists():
                return
            time.sleep(0.2)
        raise AssertionError(f"lares watch stored nothing in {seconds:g} s:\n{self.log('watch')}")

    # ── what must never leave the server ────────────────────────────────────────────────

    def secret_values(self) -> list[str]:
        """Every secret value this homelab holds: the generated secrets (the app's key, the
        restic password), the admin password, the dashboard's session key and API tokens."""
        values = [self.password]
        for folder in (self.state / "secrets", self.state / "web"):
            if folder.is_dir():
                for path in folder.rglob("*"):
                    if path.is_file():
                        values.append(path.read_bytes().decode(errors="replace").strip())
        return [v for v in values if len(v) >= 8]

    def secret_paths(self) -> list[str]:
        """Paths of secret files, which no response names either."""
        return [str(self.state / "secrets"), str(self.state / "web"), "/run/secrets/"]

    # ── tear-down ───────────────────────────────────────────────────────────────────────

    def stop(self, name: str) -> None:
        proc = self.processes.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        except ProcessLookupError:
            pass

    def close(self, client: docker.DockerClient) -> None:
        """Stop the processes, remove the stacks' containers and networks and the files;
        fails if something could not be removed."""
        from integration.conftest import remove_docker_objects

        for name in list(self.processes):
            self.stop(name)
        # Removing the containers and networks by name is what `lares down` would do here,
        # in a fraction of its time.
        leftovers = remove_docker_objects(client, prefixes=(self.prefix,), projects=set(self.apps))
        shutil.rmtree(self.root, ignore_errors=True)
        assert not leftovers, leftovers


class Client:
    """An HTTP client of the lab's server that keeps every response (see the module docstring).

    ``source`` binds the client's side of the connection to another loopback address, so
    the server counts its login attempts apart from the browser's; ``sni`` asks 127.0.0.1 for
    that host name over TLS (the certificate checked with ``verify``).
    """

    def __init__(
        self,
        base: str,
        *,
        source: str | None = None,
        verify: ssl.SSLContext | bool = True,
        sni: str | None = None,
    ) -> None:
        transport = httpx.HTTPTransport(local_address=source, verify=verify) if source else None
        self.http = httpx.Client(
            base_url=base, follow_redirects=False, transport=transport, verify=verify
        )
        self.responses: list[httpx.Response] = []
        self.csrf: str | None = None
        self.sni = sni

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        if self.sni:  # a name that resolves nowhere, asked of 127.0.0.1 (curl --resolve)
            kwargs["headers"] = {"Host": self.sni, **(kwargs.get("headers") or {})}  # type: ignore[dict-item]
            kwargs["extensions"] = {"sni_hostname": self.sni}
        response = self.http.request(method, url, **kwargs)  # type: ignore[arg-type]
        self.responses.append(response)
        return response

    def get(self, url: str, **kwargs: object) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: object) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def login_fields(self) -> dict[str, str]:
        """The login form's hidden fields (its CSRF token), read from GET /login."""
        page = self.get("/login")
        assert page.status_code == 200, page.text
        fields: dict[str, str] = {}
        for tag in HIDDEN_RE.findall(page.text):
            attrs = dict(ATTR_RE.findall(tag))
            if attrs.get("type", "").lower() == "hidden" and "name" in attrs:
                fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
        return fields

    def login(
        self, password: str, *, user: str = "admin", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """POST the login form; on success also read the CSRF token of the home page."""
        form = {**self.login_fields(), "username": user, "password": password}
        response = self.post("/login", data=form, headers=headers or {})
        if response.status_code == 303:
            home = self.get("/")
            found = META_CSRF_RE.search(home.text)
            self.csrf = html.unescape(found.group(1)) if found else None
        return response

    @property
    def session_cookie(self) -> str | None:
        return self.http.cookies.get("lares_session")

    def every_text(self) -> Iterator[tuple[str, str]]:
        """(what, text) of every kept response: its request line, headers and body."""
        for r in self.responses:
            what = f"{r.request.method} {r.request.url.path} -> {r.status_code}"
            headers = "\n".join(f"{k}: {v}" for k, v in r.headers.items())
            yield what, headers + "\n" + r.text


@contextmanager
def running_lab(client: docker.DockerClient) -> Iterator[WebLab]:
    """A started :class:`WebLab` whose watcher has stored a cycle; closed on the way out,
    also when starting it failed half-way."""
    lab = WebLab()
    try:
        lab.start()
        lab.wait_for_watcher()
        yield lab
    finally:
        lab.close(client)
