"""The dashboard over HTTP: every route behind a session or a token, cookie flags, CSRF, the
event stream, the API against its own OpenAPI document (schemathesis) with and without a
session, and no secret value or secret path in any response it gave.

One deployed homelab and one `lares serve` for the module (tests/weblab/lab.py).
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from integration.lares_lab import free_port, running_caddy
from weblab.lab import Client, WebLab, running_lab

if TYPE_CHECKING:
    import docker

PAGES = ("/", "/health", "/storage", "/backups", "/system")
API_GETS = (
    "/api/status",
    "/api/apps",
    "/api/alerts",
    "/api/storage",
    "/api/backups",
    "/api/system",
    "/api/openapi.json",
)
ACTIONS = ("/actions/silence", "/actions/ack", "/actions/backup", "/actions/drill")
API_POSTS = ("/api/silence", "/api/ack", "/api/backup", "/api/drill")
#: What schemathesis's answers were, for the secrets test: (what, text).
FUZZED: list[tuple[str, str]] = []
EXAMPLES = 10


@pytest.fixture(scope="module")
def lab(docker_client: docker.DockerClient, test_images: dict[str, str]) -> Iterator[WebLab]:
    with running_lab(docker_client) as lab:
        yield lab


@pytest.fixture(scope="module")
def client(lab: WebLab) -> Iterator[Client]:
    """A logged-in client."""
    client = Client(lab.url)
    try:
        assert client.login(lab.password).status_code == 303
        assert client.csrf, "no <meta name=csrf-token> on the home page"
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def token(lab: WebLab) -> str:
    """An API token from `lares serve --new-token` (printed once, on its last line)."""
    out = lab.lares("serve", "--new-token", timeout=60).stdout
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    assert lines, "lares serve --new-token printed nothing"
    return lines[-1].split()[-1]


def test_without_a_session_pages_send_to_login_and_the_api_refuses(lab: WebLab) -> None:
    anonymous = Client(lab.url)
    try:
        assert anonymous.get("/login").status_code == 200
        css = anonymous.get("/static/app.css")
        assert css.status_code == 200 and "css" in css.headers["content-type"]
        for path in PAGES:
            answer = anonymous.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].endswith("/login"), path
        for path in (*API_GETS[:-1], "/api/jobs/1", "/events"):
            answer = anonymous.get(path)
            assert answer.status_code == 401, path
            assert answer.headers["content-type"].startswith("application/json"), path
            answer.json()
        for path in API_POSTS:
            assert anonymous.post(path, json={}).status_code == 401, path
        for path in ACTIONS:
            assert anonymous.post(path, data={}).status_code in (303, 401, 403), path
        # a forged cookie and a wrong token are no session either
        forged = {"Cookie": "lares_session=eyJ1c2VyIjoiYWRtaW4ifQ.forged"}
        assert anonymous.get("/api/status", headers=forged).status_code == 401
        bearer = {"Authorization": "Bearer not-a-token"}
        assert anonymous.get("/api/status", headers=bearer).status_code == 401
    finally:
        anonymous.close()


def session_cookie_header(response: httpx.Response) -> str:
    [header] = [h for h in response.headers.get_list("set-cookie") if "lares_session=" in h]
    return header


def test_the_session_cookie_is_signed_httponly_strict_and_secure_behind_tls(lab: WebLab) -> None:
    plain = Client(lab.url)
    behind_tls = Client(lab.url)
    try:
        header = session_cookie_header(plain.login(lab.password))
        flags = {part.strip().split("=")[0].lower() for part in header.split(";")}
        assert {"httponly", "path"} <= flags
        assert "samesite=strict" in header.lower().replace(" ", "")
        assert "path=/" in header.lower().replace(" ", "")
        assert "secure" not in flags, "plain HTTP: a Secure cookie would never come back"
        answer = behind_tls.login(lab.password, headers={"X-Forwarded-Proto": "https"})
        assert answer.status_code == 303
        assert "secure" in {p.strip().lower() for p in session_cookie_header(answer).split(";")}

        # the value is signed: one character changed is no session
        value = plain.session_cookie
        assert value
        flipped = value[:-1] + ("A" if value[-1] != "A" else "B")
        tampered = {"Cookie": f"lares_session={flipped}"}
        assert httpx.get(f"{lab.url}/api/status", headers=tampered).status_code == 401

        out = plain.post("/logout", data={"csrf": plain.csrf or ""})
        assert out.status_code == 303 and out.headers["location"].endswith("/login")
        cleared = session_cookie_header(out).lower()
        assert "max-age=0" in cleared or "expires=thu, 01 jan 1970" in cleared, cleared
    finally:
        plain.close()
        behind_tls.close()


def test_actions_need_the_csrf_token(lab: WebLab, client: Client, token: str) -> None:
    body = {"rule": "container-unhealthy", "subject": lab.all_apps[0], "duration": "1h"}
    assert client.post("/api/silence", json=body).status_code == 403
    wrong = {"X-CSRF-Token": "0" * 32}
    assert client.post("/api/silence", json=body, headers=wrong).status_code == 403
    for path in ACTIONS[:2]:
        assert client.post(path, data=body).status_code == 403, path
        assert client.post(path, data={**body, "csrf": "0" * 32}).status_code == 403, path
    # another session's token is not this one's
    other = Client(lab.url)
    try:
        assert other.login(lab.password).status_code == 303
        assert other.csrf and other.csrf != client.csrf
        foreign = {"X-CSRF-Token": other.csrf}
        assert client.post("/api/silence", json=body, headers=foreign).status_code == 403
    finally:
        other.close()

    right = {"X-CSRF-Token": client.csrf or ""}
    answer = client.post("/api/silence", json=body, headers=right)
    assert answer.status_code == 200, answer.text
    # past the CSRF check; a container alert has no counters to acknowledge, which lares says
    answer = client.post("/actions/ack", data={**body, "csrf": client.csrf or ""})
    assert answer.status_code in (200, 303, 400), answer.text
    # a bearer token needs no CSRF token
    bearer = Client(lab.url)
    try:
        auth = {"Authorization": f"Bearer {token}"}
        assert bearer.get("/api/status", headers=auth).status_code == 200
        answer = bearer.post("/api/silence", json=body, headers=auth)
        assert answer.status_code == 200, answer.text
    finally:
        bearer.close()
    client.responses.extend(bearer.responses)


def test_the_api_and_the_event_stream_describe_the_homelab(lab: WebLab, client: Client) -> None:
    status = client.get("/api/status")
    assert status.status_code == 200
    data = status.json()
    assert {"apps", "alerts"} <= set(data)
    apps = client.get("/api/apps").json()
    text = json.dumps(apps)
    for app in lab.all_apps:
        assert app in text, f"{app} not in /api/apps"

    with client.http.stream("GET", "/events", timeout=10) as events:
        assert events.status_code == 200
        assert events.headers["content-type"].startswith("text/event-stream")
        kind, payload, deadline = "", "", time.monotonic() + 8
        for line in events.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind == "status":
                payload = line.split(":", 1)[1].strip()
                break
            assert time.monotonic() < deadline, "no status event"
    event = json.loads(payload)
    assert {"version", "alerts", "apps"} <= set(event)
    assert set(lab.all_apps) <= set(event["apps"])
    client.responses.append(
        httpx.Response(200, text=payload, request=httpx.Request("GET", f"{lab.url}/events"))
    )


@pytest.fixture(scope="module")
def api_schema(lab: WebLab, client: Client) -> Any:
    return schemathesis.openapi.from_url(f"{lab.url}/api/openapi.json", headers=auth_of(client))


def auth_of(client: Client) -> dict[str, str]:
    return {"Cookie": f"lares_session={client.session_cookie}", "X-CSRF-Token": client.csrf or ""}


schema = schemathesis.pytest.from_fixture("api_schema")
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.content_type_conformance,
]


def keep(case: Any, response: Any) -> None:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    FUZZED.append((f"{case.method} {case.path} -> {response.status_code}", headers + response.text))


@schema.parametrize()
@FUZZ
def test_the_api_keeps_to_its_openapi_document(case: Any, client: Client) -> None:
    response = case.call(headers=auth_of(client), timeout=30)
    keep(case, response)
    case.validate_response(response, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_the_api_answers_nothing_without_a_session(case: Any) -> None:
    response = case.call(timeout=30)
    keep(case, response)
    assert response.status_code < 500, response.text
    assert response.status_code != 200, f"{case.method} {case.path} answered 200"
    # who is asking comes first: a caller without a session learns nothing about the body
    assert response.status_code in (401, 404, 405), (case.method, case.path, response.text)


def test_no_response_holds_a_secret(lab: WebLab, client: Client, token: str) -> None:
    for path in (*PAGES, *API_GETS, "/static/app.css", "/static/app.js"):
        assert client.get(path).status_code == 200, path
    assert client.get("/login").status_code in (200, 303)  # a session may go on to /
    secrets = [*lab.secret_values(), token]
    assert len(secrets) >= 4
    answers = [*client.every_text(), *FUZZED]
    assert len(answers) > 20
    for what, text in answers:
        for value in secrets:
            assert value not in text, f"a secret value is in {what}"
        for path in lab.secret_paths():
            assert path not in text, f"{path} is in {what}"


def test_caddy_serves_the_dashboard_at_home_and_the_cookie_turns_secure(
    lab: WebLab, tmp_path: Path
) -> None:
    from lares.blueprint.load import load
    from lares.plan import make_context
    from lares.render.proxy import caddyfile

    system = make_context(load(lab.blueprint)).system
    https_port = free_port()
    config = tmp_path / "Caddyfile"
    config.write_text(caddyfile(system, http_port=free_port(), https_port=https_port, admin="off"))
    assert "home.lt.test {" in config.read_text()
    with running_caddy(config, tmp_path) as root:
        trust = ssl.create_default_context(cafile=str(root))
        tls = Client(f"https://127.0.0.1:{https_port}", verify=trust, sni="home.lt.test")
        try:
            deadline = time.monotonic() + 30
            while True:  # Caddy issues the certificate in the background at start
                try:
                    fields = tls.login_fields()
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline, (tmp_path / "caddy.log").read_text()
                    time.sleep(0.5)
            assert fields
            answer = tls.login(lab.password)
            assert answer.status_code == 303
            assert answer.headers["strict-transport-security"] == "max-age=31536000"
            flags = {p.strip().lower() for p in session_cookie_header(answer).split(";")}
            assert "secure" in flags, "behind Caddy the session cookie is Secure"
            assert tls.get("/api/status").status_code == 200
        finally:
            tls.close()
