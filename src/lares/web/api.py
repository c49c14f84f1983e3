"""The JSON API under ``/api/`` and the event stream ``/events``.

GET answers are serialized once per version of the view (checked against their response model
then) and served from that cache. POST calls take JSON bodies; with a session cookie they need
the ``X-CSRF-Token`` header, with a bearer token nothing more. The OpenAPI document FastAPI
writes from the models is served at ``/api/openapi.json``, behind the same authentication.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from lares.errors import LaresError
from lares.web import actions, schemas
from lares.web.auth import SESSION_COOKIE

if TYPE_CHECKING:
    from lares.web.app import Dashboard, Who
    from lares.web.data import View

PING_EVERY = 15.0


def _problem(exc: LaresError, status_code: int) -> JSONResponse:
    return JSONResponse({"error": exc.message, "hint": exc.hint}, status_code=status_code)


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": schemas.Problem, "description": "No session cookie or bearer token"},
}
POST_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    400: {"model": schemas.Problem, "description": "The request cannot be carried out"},
    403: {"model": schemas.Problem, "description": "Missing or wrong X-CSRF-Token"},
    422: {"model": schemas.Problem, "description": "The body is not JSON of the declared shape"},
}
BODY_HINT = "send a JSON object of the shape the OpenAPI document declares"


VIEWS: dict[str, tuple[type[BaseModel], Callable[[View], dict[str, Any]], str]] = {
    "status": (
        schemas.Status,
        lambda v: v.status(),
        "Summary, every app with its health, the active alerts",
    ),
    "apps": (schemas.Apps, lambda v: {"apps": v.apps}, "Every app, what is wrong first"),
    "alerts": (
        schemas.Alerts,
        lambda v: {
            "alerts": v.alerts,
            "history": v.history,
            "days": v.days,
            "silences": v.silences,
        },
        "Active alerts grouped by root cause, recent transitions, each of the last 7 days, "
        "silences in force",
    ),
    "storage": (
        schemas.Storage,
        lambda v: v.storage,
        "Pools, mounts, btrfs and RAID state, SMART per drive, scrubs",
    ),
    "system": (
        schemas.System,
        lambda v: v.system,
        "Host CPU, memory and load, the memory budget of the plan, public URLs",
    ),
}


def cached_json(board: Dashboard, name: str) -> bytes:
    """The JSON of ``/api/<name>``: checked against its model and redacted once per view."""
    view = board.data.view
    key = f"api:{name}"
    body = view.cache.get(key)
    if body is None:
        model, build, _ = VIEWS[name]
        checked = model.model_validate({**build(view), "version": view.version})
        body = board.data.redact(checked.model_dump_json()).encode()
        view.cache[key] = body
    return bytes(body)


class Front:
    """The ASGI layer in front of the app: adds the security headers to every response, and
    answers the GETs of pages and cached API views itself when the caller is known (the same
    check as the routes, without routing and dependency resolution: most requests are these).
    Everything else, and every caller without a session or token, goes on to the app."""

    def __init__(self, app: Any, board: Dashboard) -> None:
        from lares.web.app import HEADERS, PAGES

        self.app = app
        self.board = board
        self.raw = [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
        self.pages = {("/" if p == "home" else f"/{p}"): p for p in PAGES}
        self.views = {f"/api/{name}": name for name in VIEWS}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        guarded = path.startswith("/api/") or path == "/events"
        fast = method == "GET" and (path in self.pages or path in self.views)
        if guarded or fast:
            who = self._who(scope)
            if guarded and who is None:
                # before the body is read: whatever a caller sends, without a session it is 401
                await self._send(send, 401, _json(UNAUTHORIZED), b"application/json", _BEARER)
                return
            if who is not None and who.sid is not None and guarded and method == "POST":
                given = _header(scope, b"x-csrf-token")
                if not self.board.auth.csrf_ok(self.board.auth.csrf(who.sid), given):
                    await self._send(send, 403, _json(BAD_CSRF), b"application/json")
                    return
            if fast and who is not None:
                if path in self.views:
                    body, kind = cached_json(self.board, self.views[path]), b"application/json"
                else:
                    body = self.board.page_bytes(self.pages[path], who)
                    kind = b"text/html; charset=utf-8"
                await self._send(send, 200, body, kind)
                return

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.raw]
            await send(message)

        await self.app(scope, receive, sending)

    async def _send(
        self, send: Any, status: int, body: bytes, kind: bytes, extra: tuple[Any, ...] = ()
    ) -> None:
        headers = [
            (b"content-type", kind),
            (b"content-length", str(len(body)).encode()),
            *extra,
            *self.raw,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _who(self, scope: Any) -> Who | None:
        from starlette.requests import cookie_parser

        cookie = _header(scope, b"cookie")
        return self.board.who_of(
            _header(scope, b"authorization") or "", cookie_parser(cookie) if cookie else {}
        )


def _header(scope: Any, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


UNAUTHORIZED = {"error": "log in first", "hint": "send a session cookie or a bearer token"}
BAD_CSRF = {"error": "missing or wrong CSRF token", "hint": "reload the page and try again"}
_BEARER = ((b"www-authenticate", b"Bearer"),)


def _cached_route(board: Dashboard, name: str) -> Callable[..., Any]:
    async def view(_: User) -> Response:
        return Response(cached_json(board, name), media_type="application/json")

    view.__name__ = f"get_{name}"
    return view


def api_user(request: Request) -> Who:
    """Who calls: a session or a token, else 401."""
    board: Dashboard = request.app.state.board
    return board.require(request, api=True)


def csrf_user(request: Request) -> Who:
    """Who calls, with the session's X-CSRF-Token (403 without); a token needs none."""
    board: Dashboard = request.app.state.board
    who = board.require(request, api=True)
    board.check_csrf(who, request.headers.get("x-csrf-token"))
    return who


User = Annotated[Any, Depends(api_user)]
Acting = Annotated[Any, Depends(csrf_user)]


def routes(app: FastAPI, board: Dashboard, *, event_seconds: float | None = None) -> None:

    for name, (model, _, summary) in VIEWS.items():
        app.add_api_route(
            f"/api/{name}",
            _cached_route(board, name),
            methods=["GET"],
            response_model=model,
            responses=ERRORS,
            summary=summary,
            name=name,
        )

    @app.get("/api/backups", response_model=schemas.Backups, responses=ERRORS)
    async def backups(_: User) -> Response:
        """Per repository and app: last success, next due run, drills; the dashboard's jobs."""
        view = board.data.view
        jobs, cached = board.jobs.version, view.cache.get("api:backups")
        if cached is None or cached[0] != jobs:
            checked = schemas.Backups.model_validate(
                {"version": view.version, **view.backups, "jobs": board.jobs.all()}
            )
            cached = view.cache["api:backups"] = (
                jobs,
                board.data.redact(checked.model_dump_json()).encode(),
            )
        return Response(cached[1], media_type="application/json")

    @app.get(
        "/api/jobs/{job_id}",
        response_model=schemas.Job,
        responses={**ERRORS, 404: {"model": schemas.Problem, "description": "No such job"}},
    )
    async def job(job_id: str, _: User) -> Response:
        """One background job: its state and progress."""
        found = board.jobs.get(job_id)
        if found is None:
            return JSONResponse({"error": f"there is no job {job_id}", "hint": None}, 404)
        return board.json(schemas.Job.model_validate(found.to_dict()).model_dump())

    @app.post("/api/silence", response_model=schemas.Silenced, responses=POST_ERRORS)
    async def silence(body: schemas.SilenceRequest, _: Acting) -> Response:
        """Mute notifications about an alert's subject for a while (30m, 2h, 1d)."""
        call = partial(
            actions.silence,
            board.settings,
            board.data.blueprint.config,
            board.alert(body.rule, body.subject),
            body.duration,
            body.reason,
        )
        try:
            result = await run_in_threadpool(call)
        except LaresError as exc:
            return _problem(exc, 400)
        await run_in_threadpool(board.data.refresh)
        return board.json(schemas.Silenced.model_validate(result).model_dump())

    @app.post(
        "/api/ack",
        response_model=schemas.Acknowledged,
        responses={**POST_ERRORS, 409: {"model": schemas.Problem, "description": "Nothing to ack"}},
    )
    async def ack(body: schemas.AckRequest, _: Acting) -> Response:
        """Accept btrfs error counters or SMART sector counts as they are now."""
        alert = board.alert(body.rule, body.subject)
        call = partial(actions.ack, board.settings, board.data.blueprint.config, alert)
        try:
            result = await run_in_threadpool(call)
        except actions.NothingToAck as exc:
            return _problem(exc, 409)
        except LaresError as exc:
            return _problem(exc, 400)
        await run_in_threadpool(board.data.refresh)
        return board.json(schemas.Acknowledged.model_validate(result).model_dump())

    def start(kind: str, body: schemas.JobRequest) -> Response:
        run = actions.backup if kind == "backup" else actions.drill
        found = board.jobs.start(kind, partial(run, board.settings, body.repository))
        return board.json(schemas.Job.model_validate(found.to_dict()).model_dump(), 202)

    job_responses: dict[int | str, dict[str, Any]] = {
        **POST_ERRORS,
        202: {"model": schemas.Job, "description": "The job started (or was running)"},
    }

    @app.post("/api/backup", status_code=202, response_model=schemas.Job, responses=job_responses)
    async def backup(body: schemas.JobRequest, _: Acting) -> Response:
        """Back up now, in the background; follow it at /api/jobs/{id} or on /events."""
        return start("backup", body)

    @app.post("/api/drill", status_code=202, response_model=schemas.Job, responses=job_responses)
    async def drill(body: schemas.JobRequest, _: Acting) -> Response:
        """Run a restore drill now, in the background."""
        return start("drill", body)

    @app.get("/api/openapi.json", include_in_schema=False)
    async def openapi(_: User) -> JSONResponse:
        if app.openapi_schema is None:
            doc = app.openapi()
            doc.setdefault("components", {})["securitySchemes"] = {
                "token": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
            }
            doc["security"] = [{"token": []}, {"session": []}]
        return JSONResponse(app.openapi_schema)

    @app.get("/events", include_in_schema=False)
    async def events(request: Request, _: User) -> StreamingResponse:
        return StreamingResponse(
            _stream(board, request, event_seconds),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


def _event(board: Dashboard, kind: str, data: Any) -> bytes:
    body = board.data.redact(json.dumps(data, separators=(",", ":")))
    return f"event: {kind}\ndata: {body}\n\n".encode()


async def _stream(board: Dashboard, request: Request, limit: float | None) -> AsyncIterator[bytes]:
    """``status`` whenever the view's version changes, ``job`` for every job that moved."""
    started = time.monotonic()
    sent_version = -1
    jobs_version = -1
    jobs_seen: dict[str, tuple[Any, ...]] = {}
    pinged = started
    yield b"retry: 3000\n\n"
    while True:
        view = board.data.view
        if view.version != sent_version:
            sent_version = view.version
            yield _event(board, "status", view.event())
        if board.jobs.version != jobs_version:
            jobs_version = board.jobs.version
            for job in board.jobs.all():
                mark = (job["state"], *job["progress"])
                if jobs_seen.get(job["id"]) != mark:
                    jobs_seen[job["id"]] = mark
                    yield _event(board, "job", job)
        now = time.monotonic()
        if limit is not None and now - started >= limit:
            return
        if now - pinged >= PING_EVERY:
            pinged = now
            yield b": ping\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.5)
