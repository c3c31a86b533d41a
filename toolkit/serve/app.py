"""The ASGI application: routes, sessions, security headers, the check pool's life, error pages."""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from toolkit.core.errors import UserError
from toolkit.serve import agency_pages, api, collect, office_pages, setup_pages
from toolkit.serve.checks import warm_up
from toolkit.serve.db import open_database
from toolkit.serve.records import ServiceError
from toolkit.serve.store import FileStore, StoreError
from toolkit.serve.web import MB, LoginRequired, Service, error_answer, login_redirect

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Every answer: CSP without inline script, no referrer (a link's token never leaks), no framing;
    pages of a link are not cached."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        private = not scope["path"].startswith("/static/")

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + HEADERS
                if private:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def secret_key(data: Path) -> str:
    """The session key, made once per data folder (shared by every worker using the folder)."""
    path = data / "secret.key"
    try:  # created readable by the owner only, and by one worker only when several start at once
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
            f.flush()
            os.fsync(f.fileno())
    for _ in range(50):  # another worker may have created the file a moment ago and be writing it
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.02)
    raise UserError(f"{path}：会话密钥文件是空的；请删除该文件后重新启动")


def _handlers():
    async def service_error(request: Request, exc: ServiceError) -> Response:
        return error_answer(request, str(exc), exc.http_status)

    async def store_error(request: Request, exc: StoreError) -> Response:
        return error_answer(request, str(exc), exc.http_status)

    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return login_redirect(request)

    async def database_down(request: Request, exc: OperationalError) -> Response:
        return error_answer(request, "服务器的数据库暂时不可用，本次操作未完成（已保存的数据不受影响）；请稍后重试", 503)

    async def internal(request: Request, exc: Exception) -> Response:
        return error_answer(
            request,
            "服务器内部错误（这是 toolkit 的缺陷，不是您的文件或操作有误），本次操作未完成；请稍后重试并告知管理部门",
            500,
        )

    async def missing(request: Request, exc) -> Response:
        return error_answer(request, "页面不存在", getattr(exc, "status_code", 404))

    return {
        ServiceError: service_error,
        StoreError: store_error,
        LoginRequired: login_required,
        OperationalError: database_down,
        404: missing,
        405: missing,
        500: internal,
    }


def create_app(
    data: str | Path,
    db: str | None = None,
    max_upload_mb: float = 20,
    check_workers: int | None = None,
    secure_cookies: bool = False,
) -> Starlette:
    data = Path(data)
    engine = open_database(data, db)  # makes the folder
    store = FileStore(data)
    service = Service(engine, store, int(max_upload_mb * MB), check_workers or os.cpu_count() or 2)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        store.remove_partial()
        if engine.dialect.name == "sqlite":  # one server owns a SQLite folder: a job still "running" died with it
            collect.recover(engine)
        warm_up(store.derived)
        service.pool = service.new_pool()
        try:
            yield
        finally:
            service.pool.shutdown(wait=True, cancel_futures=True)
            service.writer.close()
            engine.dispose()

    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secret_key(data),
            session_cookie="toolkit_session",
            same_site="strict",
            https_only=secure_cookies,
            max_age=12 * 3600,
        ),
    ]
    routes = [
        *agency_pages.routes,
        *setup_pages.routes,
        *office_pages.routes,
        *api.routes,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=_handlers(), lifespan=lifespan)
    app.state.service = service
    return app


def app_from_environment() -> Starlette:
    """For `uvicorn --factory toolkit.serve.app:app_from_environment` (several workers): TOOLKIT_DATA, TOOLKIT_DB,
    TOOLKIT_MAX_UPLOAD_MB, TOOLKIT_SECURE_COOKIES=1 (behind HTTPS)."""
    env = os.environ
    secure = env.get("TOOLKIT_SECURE_COOKIES", "") == "1"
    return create_app(
        env["TOOLKIT_DATA"], env.get("TOOLKIT_DB") or None, float(env.get("TOOLKIT_MAX_UPLOAD_MB", "20")), secure_cookies=secure
    )
