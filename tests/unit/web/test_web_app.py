"""The dashboard's routes through FastAPI's TestClient: who gets in, cookie flags, CSRF, the
login rate limit, the pages' markup and the API's shapes."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from lares.web import actions, schemas
from lares.web.auth import Auth
from lares.web.data import Data
from web.webkit import PASSWORD, SECRET, TestClient, log_in, login_csrf, page_csrf

PAGES = ["/", "/health", "/storage", "/backups", "/system"]
API = [
    "/api/status",
    "/api/apps",
    "/api/alerts",
    "/api/storage",
    "/api/backups",
    "/api/system",
    "/api/jobs/nope",
    "/api/openapi.json",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_without_a_session_go_to_the_login(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


@pytest.mark.parametrize("path", [*API, "/events"])
def test_the_api_and_the_events_without_a_session_say_401(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 401
    assert r.json()["error"] == "log in first"


@pytest.mark.parametrize("path", ["/api/silence", "/api/ack", "/api/backup", "/api/drill"])
def test_api_actions_without_a_session_say_401(client: TestClient, path: str) -> None:
    assert client.post(path, json={}).status_code == 401


def test_a_forged_cookie_is_no_session(client: TestClient) -> None:
    client.cookies.set("lares_session", "abc.123.def")
    assert client.get("/api/status").status_code == 401


def test_the_login_form(client: TestClient) -> None:
    html = client.get("/login").text
    assert '<form id="login"' in html
    assert 'name="username"' in html and 'name="password"' in html
    assert 'button type="submit"' in html and 'name="csrf"' in html
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/app.js").status_code == 200


def test_logging_in_sets_a_strict_http_only_cookie(client: TestClient) -> None:
    r = log_in(client)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("lares_session="))
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert "secure" not in flags  # plain http
    assert client.get("/").status_code == 200


def test_the_cookie_is_secure_behind_https(client: TestClient) -> None:
    r = log_in(client, headers={"X-Forwarded-Proto": "https"})
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("lares_session="))
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]


def test_a_wrong_password_is_refused(client: TestClient) -> None:
    r = log_in(client, password="wrong")
    assert r.status_code == 401
    assert "Wrong user name or password" in r.text
    assert "lares_session" not in r.headers.get("set-cookie", "")
    r = client.post(
        "/login",
        data={"username": "root", "password": PASSWORD, "csrf": login_csrf(client)},
        follow_redirects=False,
    )
    assert r.status_code == 401


def test_a_login_without_its_csrf_token_is_refused(client: TestClient) -> None:
    login_csrf(client)
    r = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert r.status_code == 403
    r = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf": "x"})
    assert r.status_code == 403


def test_more_than_five_wrong_passwords_are_rate_limited(client: TestClient) -> None:
    for _ in range(5):
        assert log_in(client, password="wrong").status_code == 401
    r = log_in(client)  # even the right one, for a while
    assert r.status_code == 429
    assert "Too many attempts" in r.text
    assert 1 <= int(r.headers["Retry-After"]) <= 300
    # X-Forwarded-For is believed only from the proxy on this machine, not from a client
    r = log_in(client, headers={"X-Forwarded-For": "192.168.1.77"})
    assert r.status_code == 429


def test_logging_out_ends_the_session(session: TestClient) -> None:
    cookie = session.cookies.get("lares_session")
    r = session.post("/logout", data={"csrf": page_csrf(session)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert 'lares_session=""' in r.headers["set-cookie"]
    session.cookies.set("lares_session", cookie or "")
    assert session.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("action", ["silence", "ack", "backup", "drill"])
def test_forms_need_the_csrf_token(session: TestClient, action: str) -> None:
    fields = {"rule": "container-down", "subject": "nextcloud-db"}
    assert session.post(f"/actions/{action}", data=fields).status_code == 403
    assert session.post(f"/actions/{action}", data={**fields, "csrf": "x"}).status_code == 403


@pytest.mark.parametrize("path", ["/api/silence", "/api/ack", "/api/backup", "/api/drill"])
def test_json_calls_with_a_cookie_need_the_csrf_header(session: TestClient, path: str) -> None:
    assert session.post(path, json={}).status_code == 403
    assert session.post(path, json={}, headers={"X-CSRF-Token": "nope"}).status_code == 403


def test_silence_from_the_page(session: TestClient) -> None:
    r = session.post(
        "/actions/silence",
        data={
            "rule": "container-down",
            "subject": "nextcloud-db",
            "duration": "1h",
            "csrf": page_csrf(session),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/health"
    silences = session.get("/api/alerts").json()["silences"]
    assert [s["target"] for s in silences] == ["nextcloud"]  # the alert's app
    assert 3500 < silences[0]["until"] - time.time() <= 3600
    assert 'data-target="nextcloud"' in session.get("/health").text


def test_a_silence_with_a_bad_duration_says_why(session: TestClient) -> None:
    r = session.post(
        "/api/silence",
        json={"rule": "x", "subject": "immich", "duration": "soon"},
        headers={"X-CSRF-Token": page_csrf(session)},
    )
    assert r.status_code == 400 and "30m, 2h or 1d" in r.json()["hint"]
    r = session.post(
        "/api/silence",
        json={"rule": "nope", "subject": "nobody", "duration": "1h"},
        headers={"X-CSRF-Token": page_csrf(session)},
    )
    assert r.status_code == 400
    assert r.json()["error"] == "there is nothing called 'nope' to silence"


def test_ack_of_an_alert_without_counters(session: TestClient) -> None:
    r = session.post(
        "/api/ack",
        json={"rule": "container-down", "subject": "nextcloud-db"},
        headers={"X-CSRF-Token": page_csrf(session)},
    )
    assert r.status_code == 409
    assert "silence this alert instead" in r.json()["hint"]


def test_a_bearer_token_needs_no_csrf(client: TestClient, board_data: Data) -> None:
    token = Auth(board_data.settings.state_dir / "web").new_token()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/status", headers=headers).status_code == 200
    r = client.post("/api/silence", json={"subject": "immich", "duration": "2h"}, headers=headers)
    assert r.status_code == 200 and r.json()["target"] == "immich"
    assert client.get("/", headers=headers).status_code == 200
    bad = {"Authorization": f"Bearer {token}x"}
    assert client.get("/api/status", headers=bad).status_code == 401


def test_back_up_now_runs_in_the_background(
    session: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def backup(settings: object, repository: str | None, progress: actions.Progress) -> dict:
        progress(f"backing up {repository}")
        progress(f"password is {SECRET}")
        return {"ok": True, "items": []}

    monkeypatch.setattr(actions, "backup", backup)
    r = session.post(
        "/api/backup", json={"repository": "local"}, headers={"X-CSRF-Token": page_csrf(session)}
    )
    assert r.status_code == 202
    job = schemas.Job.model_validate(r.json())
    for _ in range(100):
        job = schemas.Job.model_validate(session.get(f"/api/jobs/{job.id}").json())
        if job.state != "running":
            break
        time.sleep(0.02)
    assert job.state == "ok" and job.progress[0] == "backing up local"
    assert job.progress[1] == "password is [secret]"
    html = session.get("/backups").text
    assert f'<div class="job" data-job="{job.id}" data-state="ok">' in html
    assert 'id="backup-now"' in html and 'id="drill-now"' in html


def test_a_failing_job_is_failed(session: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from lares.errors import LaresError

    def drill(settings: object, repository: str | None, progress: actions.Progress) -> dict:
        raise LaresError("restic is not installed")

    monkeypatch.setattr(actions, "drill", drill)
    r = session.post("/actions/drill", data={"csrf": page_csrf(session)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/backups"
    for _ in range(100):
        jobs = session.get("/api/backups").json()["jobs"]
        if jobs and jobs[0]["state"] != "running":
            break
        time.sleep(0.02)
    assert jobs[0]["state"] == "failed" and "restic is not installed" in jobs[0]["error"]


def test_home_shows_every_app_grouped_by_stack_worst_first(session: TestClient) -> None:
    html = session.get("/").text
    assert '<input id="search" type="search"' in html
    stacks = re.findall(r'<section class="stack" data-stack="([^"]+)"', html)
    assert stacks == ["cloud", "media"]
    tiles = re.findall(r'<article class="tile" data-app="([^"]+)" data-health="([^"]+)"', html)
    assert tiles == [
        ("nextcloud", "critical"),
        ("immich", "warning"),
        ("sonarr", "unknown"),
        ("jellyfin", "ok"),
    ]
    assert 'href="https://nextcloud.home.lan"' in html
    assert 'href="https://nextcloud.example.org"' in html
    assert "200.0 MiB / 512.0 MiB" in html  # two containers of 100 MiB, limits 2 × 256 MiB


def test_health_groups_an_alert_under_its_root_cause(session: TestClient) -> None:
    html = session.get("/health").text
    root = html.index('data-rule="container-down" data-subject="nextcloud-db"')
    child = html.index('data-rule="endpoint-down" data-subject="nextcloud"')
    children = html.index('<ul class="children">')
    assert root < children < child
    assert html.count('<button type="submit" class="silence">') == 3
    assert html.count('<button type="submit" class="ack">') == 3
    assert 'action="/actions/silence"' in html and 'action="/actions/ack"' in html
    alerts = schemas.Alerts.model_validate(session.get("/api/alerts").json())
    assert [a.key for a in alerts.alerts] == [
        "container-down:nextcloud-db",
        "container-unhealthy:immich",
    ]
    assert [c.key for c in alerts.alerts[0].children] == ["endpoint-down:nextcloud"]
    assert alerts.history[0].kind == "firing"
    # the last 7 days: today has the firing alerts (a minute old), the days before nothing
    assert [d.health for d in alerts.days[:5]] == ["ok"] * 5
    assert alerts.days[-1].health == "critical"
    assert alerts.days[-1].alerts == 3
    assert html.count("data-day=") == 7
    assert f'data-day="{alerts.days[-1].day}" data-health="critical"' in html


def test_no_secret_value_and_no_secret_path_in_any_answer(
    session: TestClient, board_data: Data
) -> None:
    folder = str(board_data.settings.state_dir / "secrets")
    for path in [*PAGES, *API]:
        r = session.get(path)
        assert SECRET not in r.text, path
        assert folder not in r.text, path
    assert "[secret]" in session.get("/health").text


def test_api_shapes(session: TestClient) -> None:
    status = schemas.Status.model_validate(session.get("/api/status").json())
    assert status.summary.apps == 4 and status.summary.critical == 1
    assert status.host == "nas"
    apps = schemas.Apps.model_validate(session.get("/api/apps").json())
    assert [a.id for a in apps.apps] == [a.id for a in status.apps]
    storage = schemas.Storage.model_validate(session.get("/api/storage").json())
    assert storage.pools[0].used_percent == 25.0 and storage.pools[0].days_until_full == 120.0
    assert storage.drives[0].subject == "/dev/sda" and storage.drives[0].health == "ok"
    assert 'data-subject="/dev/sda" data-health="ok"' in session.get("/storage").text
    system = schemas.System.model_validate(session.get("/api/system").json())
    assert system.cpu_percent == 12.5 and system.public_urls == ["https://nextcloud.example.org"]
    backups = schemas.Backups.model_validate(session.get("/api/backups").json())
    assert backups.repositories[0].name == "local" and backups.repositories[0].next_due
    assert session.get("/api/jobs/nope").status_code == 404


def test_the_openapi_document_declares_every_api_route(session: TestClient) -> None:
    doc = session.get("/api/openapi.json").json()
    assert set(doc["paths"]) == {
        "/api/status",
        "/api/apps",
        "/api/alerts",
        "/api/storage",
        "/api/backups",
        "/api/system",
        "/api/jobs/{job_id}",
        "/api/silence",
        "/api/ack",
        "/api/backup",
        "/api/drill",
    }
    for methods in doc["paths"].values():
        for operation in methods.values():
            assert "401" in operation["responses"]
    assert doc["security"] == [{"token": []}, {"session": []}]
    assert doc["components"]["securitySchemes"]["session"]["name"] == "lares_session"


def test_the_event_stream_sends_the_status(session: TestClient) -> None:
    with session.stream("GET", "/events") as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        body = r.read().decode()
    assert "event: status\ndata: {" in body
    data = body.split("event: status\ndata: ", 1)[1].split("\n", 1)[0]
    assert '"nextcloud":"critical"' in data and SECRET not in data


def test_pages_send_security_headers(session: TestClient) -> None:
    r = session.get("/")
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/api/silence", "/api/ack", "/api/backup", "/api/drill"])
def test_without_a_session_the_body_is_not_even_read(client: TestClient, path: str) -> None:
    for body in ("{not json", '{"duration": 5}', "[]"):
        r = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 401, (path, body)
        assert r.json()["error"] == "log in first"


@pytest.mark.parametrize("path", ["/api/silence", "/api/ack", "/api/backup", "/api/drill"])
def test_a_body_that_does_not_parse_answers_the_declared_model(
    session: TestClient, path: str
) -> None:
    headers = {"X-CSRF-Token": page_csrf(session), "Content-Type": "application/json"}
    doc = session.get("/api/openapi.json").json()
    assert "422" in doc["paths"][path]["post"]["responses"]
    for body in ("{not json", '{"duration": 5, "repository": 7}', "[]"):
        r = session.post(path, content=body, headers=headers)
        assert r.status_code == 422, (path, body, r.text)
        schemas.Problem.model_validate(r.json())


def test_posting_to_a_view_is_not_served_from_the_cache(session: TestClient) -> None:
    r = session.post("/api/status", headers={"X-CSRF-Token": page_csrf(session)})
    assert r.status_code == 405
    schemas.Problem.model_validate(r.json())


def test_an_oversized_login_form_is_not_read(client: TestClient) -> None:
    csrf = login_csrf(client)
    body = f"username=admin&password={PASSWORD}&csrf={csrf}&pad=" + "x" * 40_000
    r = client.post(
        "/login",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert r.status_code == 403  # no field read: not even the CSRF token


def test_an_alert_whose_app_is_no_longer_deployed_is_silenced_by_its_rule(tmp_path: Path) -> None:
    from lares.monitor.config import AppTarget, WatchConfig
    from lares.web.data import Settings

    config = WatchConfig(host="nas", apps=(AppTarget("immich", "media", ("immich-server",)),))
    settings = Settings(state_dir=tmp_path)
    alert = {"rule": "container-unhealthy", "subject": "old-web", "app": "old"}
    assert actions.silence(settings, config, alert, "1h")["target"] == "container-unhealthy"
    alert = {"rule": "container-unhealthy", "subject": "immich", "app": "old"}
    assert actions.silence(settings, config, alert, "1h")["target"] == "immich"


def test_the_client_is_named_by_a_proxy_on_loopback_or_on_caddys_networks() -> None:
    from starlette.requests import Request

    from lares.web.app import client_address

    def asked(peer: str, forwarded: str | None) -> Request:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        scope = {"type": "http", "headers": headers, "client": (peer, 40000)}
        return Request(scope)

    caddy = ("172.20.3.0/24",)
    # Caddy in its container: the last entry is the one it added, earlier ones the client's claim
    assert client_address(asked("172.20.3.7", "10.9.9.9, 192.168.1.77"), caddy) == "192.168.1.77"
    assert client_address(asked("127.0.0.1", "192.168.1.78")) == "192.168.1.78"
    # anyone else saying who they are is not believed
    assert client_address(asked("192.168.1.50", "192.168.1.77"), caddy) == "192.168.1.50"
    assert client_address(asked("172.20.4.7", "192.168.1.77"), caddy) == "172.20.4.7"
    assert client_address(asked("172.20.3.7", None), caddy) == "172.20.3.7"


def test_caddys_and_newts_networks_are_the_dashboards_proxies() -> None:
    from lares.blueprint.load import load_reference
    from lares.plan import plan
    from lares.web.data import proxy_subnets

    system = plan(load_reference()).system
    docker = system.blueprint.network.docker
    caddy = system.app("caddy")
    assert caddy is not None
    on = {n for svc in caddy.services for n in svc.networks}
    proxies = proxy_subnets(system)
    assert {str(docker[n].subnet) for n in on if n in docker} <= set(proxies)
    # a stack's default network is somewhere in Docker's address pool
    assert ("default" in on) == ("172.16.0.0/12" in proxies)
