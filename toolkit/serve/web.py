"""What every route shares: the service's parts, pages, JSON answers, sessions, CSRF and office login."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import secrets
import threading
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from toolkit.core.batch import worker_pool
from toolkit.serve.accounts import authenticate, rate_limited, user_by_id
from toolkit.serve.clock import shown
from toolkit.serve.records import ServiceError
from toolkit.serve.store import FileStore
from toolkit.serve.workflow import STATES
from toolkit.serve.writer import GroupWriter

MB = 1024 * 1024


@dataclass
class Service:
    engine: Engine
    store: FileStore
    max_upload: int = 20 * MB
    check_workers: int = 2
    pool: Executor | None = None
    jinja: Environment = field(init=False)

    async def run(self, fn, *args):
        """fn(*args) in the check pool; a pool broken by a worker's death (out of memory, killed) is replaced once."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.pool, fn, *args)
        except BrokenProcessPool:
            self.pool = self.new_pool()
            return await loop.run_in_executor(self.pool, fn, *args)

    def run_sync(self, fn, *args):
        try:
            return self.pool.submit(fn, *args).result()
        except BrokenProcessPool:
            self.pool = self.new_pool()
            return self.pool.submit(fn, *args).result()

    def new_pool(self) -> ProcessPoolExecutor:
        """Workers started at once (forked before the server's threads exist), dying with the server."""
        pool = worker_pool(self.check_workers)
        for future in [pool.submit(int) for _ in range(self.check_workers * 2)]:
            future.result()
        return pool

    async def write(self, fn):
        """fn(conn) in a write transaction, answered after its commit: SQLite's writes are committed in groups
        (one fsync for many), PostgreSQL's side by side."""
        if self.engine.dialect.name != "sqlite":

            def alone():
                with self.engine.begin() as conn:
                    return fn(conn)

            return await run_in_threadpool(alone)
        return await asyncio.wrap_future(self.writer.submit(fn))

    @contextlib.contextmanager
    def writing(self):
        """A write transaction. SQLite has one writer at a time: taking turns here is faster than its busy-wait
        (which sleeps up to 100 ms per retry); PostgreSQL writers run side by side."""
        if self.engine.dialect.name != "sqlite":
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    def __post_init__(self):
        self._write_lock = threading.Lock()
        self.writer = GroupWriter(self.engine)
        self.jinja = Environment(loader=PackageLoader("toolkit.serve", "templates"), autoescape=select_autoescape(default=True))
        self.jinja.filters["time"] = shown
        self.jinja.globals["STATES"] = STATES


def service_of(request: Request) -> Service:
    return request.app.state.service


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def page(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
    """A page (or, for htmx, the fragment named in the context) rendered with escaping on."""
    service = service_of(request)
    context.setdefault("csrf", csrf_token(request) if "session" in request.scope else "")
    html = service.jinja.get_template(name).render(request=request, **context)
    return HTMLResponse(html, status_code=code)


def wants_html(request: Request) -> bool:
    """A browser's form post (it asks for text/html); programs get JSON."""
    return "text/html" in request.headers.get("accept", "") and "hx-request" not in request.headers


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def error_answer(request: Request, message: str, status: int) -> Response:
    """The error as JSON for programs, a page for browsers, and for htmx a notice put where the form shows errors
    (htmx swaps only 2xx answers, so the status travels in X-Toolkit-Status)."""
    if is_htmx(request):
        html = service_of(request).jinja.get_template("_error.html").render(message=message)
        box = "#submit-error" if request.url.path.endswith("/submit") else "#upload-error"
        return HTMLResponse(html, headers={"HX-Retarget": box, "HX-Reswap": "innerHTML", "X-Toolkit-Status": str(status)})
    if "text/html" in request.headers.get("accept", ""):
        return page(request, "error.html", code=status, message=message)
    return JSONResponse({"error": message}, status_code=status)


NOT_FOUND = "链接无效或已失效；请向管理部门索取新的填报链接"


def not_found(request: Request, message: str = NOT_FOUND) -> Response:
    return error_answer(request, message, 404)


def download(path: Path | bytes, filename: str, media: str) -> Response:
    """A file with its Chinese name (RFC 6266 filename*), never shown inline."""
    disposition = f"attachment; filename=\"download{Path(filename).suffix}\"; filename*=UTF-8''{quote(filename)}"
    headers = {"Content-Disposition": disposition}
    if isinstance(path, bytes):
        return Response(path, media_type=media, headers=headers)
    from starlette.responses import FileResponse

    return FileResponse(path, media_type=media, headers=headers)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# ---------------------------------------------------------------- CSRF and office login


def csrf_token(request: Request) -> str:
    session = request.session
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf(request: Request, given: str | None) -> None:
    expected = request.session.get("csrf", "")
    if not expected or not hmac.compare_digest(expected, given or ""):
        raise ServiceError("表单已过期或来源不明（CSRF 校验失败）；请刷新页面后重试", 403)


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        name, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return name, password


class LoginRequired(Exception):
    """No office account in this request: a browser is sent to the login page, a program gets 401."""


def office_user(request: Request) -> Mapping[str, Any]:
    """The office account of this request: HTTP Basic (programs) or the session (browsers)."""
    service = service_of(request)
    basic = _basic(request)
    if basic:
        with service.engine.begin() as conn:
            if rate_limited(conn, basic[0], client_ip(request)):
                raise ServiceError("登录失败次数过多，请 15 分钟后再试", 429)
            user = authenticate(conn, basic[0], basic[1], client_ip(request), "basic")
        if user is None:
            raise LoginRequired
        request.state.basic = True
        return user
    user_id = request.session.get("user_id")
    if user_id is not None:
        with service.engine.connect() as conn:
            user = user_by_id(conn, user_id)
        if user is not None:
            request.state.basic = False
            return user
    raise LoginRequired


async def office_write(request: Request) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(user, form or JSON body) of a state-changing office request: CSRF checked unless it came with HTTP Basic.
    The account is found in a thread: an argon2 check of a Basic password must not stop the event loop."""
    user = await run_in_threadpool(office_user, request)
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            raise ServiceError("请求内容不是有效的 JSON", 400) from None
        if not isinstance(body, dict):
            raise ServiceError("请求内容应为 JSON 对象", 400)
    else:
        body = await request.form(max_files=0, max_fields=5000)
    if not request.state.basic:
        check_csrf(request, request.headers.get("x-csrf-token") or body.get("csrf"))
    return user, body


def login_redirect(request: Request) -> Response:
    if "text/html" in request.headers.get("accept", "") and request.method == "GET":
        return RedirectResponse("/login?next=" + quote(request.url.path), status_code=303)
    return JSONResponse(
        {"error": "需要登录：请使用管理部门账号（HTTP Basic 或登录页面）"},
        status_code=401,
        headers={"WWW-Authenticate": 'Basic realm="toolkit", charset="UTF-8"'},
    )
