"""The dashboard's web app: login, the pages, the action forms; the JSON API is in ``api``.

Every route needs a session cookie or an API token (``Authorization: Bearer …``) except the
login page and ``/static/``: without one a page answers 303 to ``/login``, ``/api/`` and
``/events`` answer 401. Every action needs the session's CSRF token (a form's ``csrf`` field,
or the ``X-CSRF-Token`` header of a JSON call); a bearer token needs none. Pages are rendered
once per version of the view (:mod:`lares.web.data`) with a placeholder for the CSRF token,
which is filled in per request: serving a page costs a dictionary lookup and a replace.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from lares.errors import LaresError
from lares.web import actions
from lares.web.auth import LOGIN_COOKIE, SESSION_COOKIE, SESSION_SECONDS, Auth, RateLimit
from lares.web.data import Data, Settings
from lares.web.jobs import Jobs

HERE = Path(__file__).parent
CSRF_SLOT = "\x00csrf\x00"
MAX_FORM = 16 * 1024
PAGES = ("home", "health", "storage", "backups", "system")
WRONG = "Wrong user name or password"
TOO_MANY = "Too many attempts"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
}


class Unauthorized(Exception):
    """No valid session or token: a page goes to the login form, the API says 401."""

    def __init__(self, api: bool) -> None:
        self.api = api


class Forbidden(Exception):
    """A missing or wrong CSRF token."""


@dataclass(frozen=True)
class Who:
    sid: str | None  # the session, or None for an API token

    @property
    def token(self) -> bool:
        return self.sid is None


class Dashboard:
    """What the routes share: settings, credentials, the view, the jobs, the templates."""

    def __init__(self, settings: Settings, data: Data, auth: Auth) -> None:
        from jinja2 import Environment, FileSystemLoader, select_autoescape

        self.settings = settings
        self.data = data
        self.auth = auth
        self.jobs = Jobs(redact=data.redact)
        self.limit = RateLimit()
        # logins are checked in one thread: one scrypt's memory is kept, not one per thread
        self.login_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lares-login")
        self.env = Environment(
            loader=FileSystemLoader(str(HERE / "templates")),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["size"] = _size
        self.env.filters["ago"] = _ago
        self.env.filters["duration"] = _duration
        self.env.filters["stamp"] = _stamp

    # -- who is asking ---------------------------------------------------------------------

    def who(self, request: Request) -> Who | None:
        return self.who_of(request.headers.get("authorization", ""), request.cookies)

    def who_of(self, authorization: str, cookies: Mapping[str, str]) -> Who | None:
        """A bearer token's caller, else the session of the cookie, else None."""
        if authorization[:7].lower() == "bearer ":
            return Who(None) if self.auth.token_ok(authorization[7:].strip()) else None
        sid = self.auth.session(cookies.get(SESSION_COOKIE))
        return Who(sid) if sid else None

    def require(self, request: Request, *, api: bool) -> Who:
        who = self.who(request)
        if who is None:
            raise Unauthorized(api)
        return who

    def check_csrf(self, who: Who, given: str | None) -> None:
        if who.sid is not None and not self.auth.csrf_ok(self.auth.csrf(who.sid), given):
            raise Forbidden()

    def alert(self, rule: str, subject: str) -> dict[str, Any]:
        """The active alert with ``rule`` and ``subject``, else just those two."""
        for alert in self.data.view.alerts:
            for a in (alert, *alert["children"]):
                if a["rule"] == rule and a["subject"] == subject:
                    return dict(a)
        return {"rule": rule, "subject": subject}

    # -- rendering -------------------------------------------------------------------------

    def page_bytes(self, name: str, who: Who) -> bytes:
        """Page ``name`` for ``who``: rendered once per view (and jobs version) and kept in
        pieces around the CSRF token, which each request fills in."""
        view = self.data.view
        jobs = self.jobs.version if name == "backups" else 0
        cached = view.cache.get(f"page:{name}")
        if cached is None or cached[0] != jobs:
            html = self.render(
                f"{name}.html", view=view, page=name, jobs=self.jobs.all(), csrf=CSRF_SLOT
            )
            cached = view.cache[f"page:{name}"] = (jobs, html.encode().split(CSRF_SLOT.encode()))
        token = self.auth.csrf(who.sid).encode() if who.sid else b""
        return token.join(cached[1])

    def page(self, name: str, who: Who) -> HTMLResponse:
        return HTMLResponse(self.page_bytes(name, who))

    def render(self, template: str, **values: Any) -> str:
        return self.data.redact(self.env.get_template(template).render(**values))

    def json(self, data: Any, status_code: int = 200) -> Response:
        body = self.data.redact(json.dumps(data, separators=(",", ":")))
        return Response(body, status_code=status_code, media_type="application/json")


def _size(n: float | None) -> str:
    from lares.units import format_size

    return "–" if n is None else format_size(n)


def _duration(seconds: float) -> str:
    from lares.units import format_duration

    return format_duration(seconds)


def _ago(ts: float | None, now: float | None = None) -> str:
    import time

    if not ts:
        return "never"
    from lares.units import format_duration

    return format_duration(max((now or time.time()) - ts, 0)) + " ago"


def _stamp(ts: float | str | None) -> str:
    import time

    if ts is None or ts == "":
        return "–"
    if isinstance(ts, str):
        return ts.replace("T", " ").replace("+00:00", " UTC")
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def client_address(request: Request, proxies: tuple[str, ...] = ()) -> str:
    """The client's address; behind a proxy on this machine, the one the proxy names.

    A proxy is a peer on loopback or on one of ``proxies`` (the Caddy app's networks). Only the
    last X-Forwarded-For entry counts: it is the one that proxy added; earlier ones are what
    the client claimed.
    """
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and _is_proxy(peer, proxies):
        return forwarded.split(",")[-1].strip() or peer
    return peer


def _is_proxy(peer: str, proxies: tuple[str, ...]) -> bool:
    import ipaddress

    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return peer == "localhost"
    return address.is_loopback or any(
        address in ipaddress.ip_network(net, strict=False) for net in proxies
    )


def _secure(request: Request) -> bool:
    return (
        request.url.scheme == "https"
        or request.headers.get("x-forwarded-proto", "").lower() == "https"
    )


async def form(request: Request) -> dict[str, str]:
    """The fields of a urlencoded form body (the first value of each); a body over 16 KiB is
    not read further and gives no field."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return {}
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in fields.items() if v}


def create_app(
    settings: Settings,
    *,
    data: Data | None = None,
    auth: Auth | None = None,
    refresh: bool = True,
    event_seconds: float | None = None,
) -> FastAPI:
    """The dashboard app for ``settings``. ``refresh`` starts the thread that follows the
    sources; ``event_seconds`` ends each event stream after that long (for tests)."""
    from contextlib import asynccontextmanager

    from lares.web import api

    data = data or Data(settings)
    auth = auth or Auth(settings.state_dir / "web")
    board = Dashboard(settings, data, auth)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        if refresh:
            data.start()
        yield
        data.stop()
        board.login_thread.shutdown(wait=False)

    app = FastAPI(
        title="lares dashboard",
        version="1",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.board = board
    app.add_middleware(api.Front, board=board)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> Response:
        if exc.api:
            return JSONResponse(
                api.UNAUTHORIZED, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return JSONResponse(api.BAD_CSRF, status_code=403)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = str(first.get("msg") or "the request is not valid")
        return JSONResponse(
            {"error": f"{where}: {message}" if where else message, "hint": api.BODY_HINT},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return JSONResponse(
            {"error": str(exc.detail), "hint": None},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    _pages(app, board)
    _login(app, board)
    _actions(app, board)
    api.routes(app, board, event_seconds=event_seconds)
    return app


def _pages(app: FastAPI, board: Dashboard) -> None:
    def make(name: str) -> Callable[[Request], Any]:
        async def show(request: Request) -> HTMLResponse:
            return board.page(name, board.require(request, api=False))

        show.__name__ = f"page_{name}"
        return show

    for name in PAGES:
        app.add_api_route(
            "/" if name == "home" else f"/{name}",
            make(name),
            methods=["GET"],
            include_in_schema=False,
            response_class=HTMLResponse,
        )


def _login_page(
    board: Dashboard, request: Request, message: str = "", status_code: int = 200
) -> HTMLResponse:
    import secrets

    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(18)
    html = board.render(
        "login.html", page="login", message=message, login_csrf=board.auth.login_csrf(nonce)
    )
    response = HTMLResponse(html, status_code=status_code)
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=3600,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


def _login(app: FastAPI, board: Dashboard) -> None:
    @app.get("/login", include_in_schema=False, response_class=HTMLResponse)
    async def login_form(request: Request) -> Response:
        if board.who(request) is not None:
            return RedirectResponse("/", status_code=303)
        return _login_page(board, request)

    @app.post("/login", include_in_schema=False, response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        client = client_address(request, board.data.blueprint.proxies)
        wait = board.limit.retry_after(client)
        if wait is not None:
            response = _login_page(board, request, f"{TOO_MANY}: try again later.", 429)
            response.headers["Retry-After"] = str(wait)
            return response
        fields = await form(request)
        nonce = request.cookies.get(LOGIN_COOKIE) or ""
        if not nonce or not board.auth.csrf_ok(board.auth.login_csrf(nonce), fields.get("csrf")):
            return _login_page(board, request, "The form expired: log in again.", 403)
        user, password = fields.get("username", ""), fields.get("password", "")
        loop = asyncio.get_running_loop()
        checked = loop.run_in_executor(board.login_thread, board.auth.check, user, password)
        if not await checked:
            board.limit.failed(client)
            return _login_page(board, request, WRONG, 401)
        board.limit.succeeded(client)
        done = RedirectResponse("/", status_code=303)
        done.set_cookie(
            SESSION_COOKIE,
            board.auth.new_session(),
            max_age=SESSION_SECONDS,
            path="/",
            httponly=True,
            samesite="strict",
            secure=_secure(request),
        )
        done.delete_cookie(
            LOGIN_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
        )
        return done

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        who = board.require(request, api=False)
        board.check_csrf(who, (await form(request)).get("csrf"))
        board.auth.end_session(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(
            SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
        )
        return response


def _actions(app: FastAPI, board: Dashboard) -> None:
    settings = board.settings

    async def checked(request: Request) -> dict[str, str]:
        who = board.require(request, api=False)
        fields = await form(request)
        board.check_csrf(who, fields.get("csrf"))
        return fields

    async def done(back: str, call: Callable[[], Any]) -> Response:
        try:
            await run_in_threadpool(call)
        except LaresError as exc:
            await run_in_threadpool(board.data.refresh)
            return _failed(board, back, exc)
        await run_in_threadpool(board.data.refresh)
        return RedirectResponse(f"/{back}", status_code=303)

    @app.post("/actions/silence", include_in_schema=False)
    async def silence(request: Request) -> Response:
        f = await checked(request)
        call = partial(
            actions.silence,
            settings,
            board.data.blueprint.config,
            board.alert(f.get("rule", ""), f.get("subject", "")),
            f.get("duration", "2h"),
            f.get("reason", ""),
        )
        return await done("health", call)

    @app.post("/actions/ack", include_in_schema=False)
    async def ack(request: Request) -> Response:
        f = await checked(request)
        alert = board.alert(f.get("rule", ""), f.get("subject", ""))
        call = partial(actions.ack, settings, board.data.blueprint.config, alert)
        return await done("health", call)

    @app.post("/actions/backup", include_in_schema=False)
    async def backup(request: Request) -> Response:
        f = await checked(request)
        board.jobs.start("backup", partial(actions.backup, settings, f.get("repository") or None))
        return RedirectResponse("/backups", status_code=303)

    @app.post("/actions/drill", include_in_schema=False)
    async def drill(request: Request) -> Response:
        f = await checked(request)
        board.jobs.start("drill", partial(actions.drill, settings, f.get("repository") or None))
        return RedirectResponse("/backups", status_code=303)


def _failed(board: Dashboard, back: str, exc: LaresError) -> Response:
    html = board.render("failed.html", page=back, message=exc.message, hint=exc.hint, back=back)
    return HTMLResponse(html, status_code=400)
