"""Creating a round from the office's pages and the API (the same as `toolkit round create`)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from toolkit.core.digits import date_of
from toolkit.core.errors import UserError
from toolkit.pipeline import check_agency, check_year, get_form
from toolkit.serve.checks import FORM_IDS
from toolkit.serve.records import ServiceError, create_round
from toolkit.serve.web import office_user, office_write, page, service_of

MAX_AGENCIES = 5000


def _person(item: Any) -> tuple[str, str, str]:
    """An agency as a name, a `名称,联系人,电话` line, or {"name", "contact", "phone"}."""
    if isinstance(item, dict):
        parts = [str(item.get(k) or "") for k in ("name", "contact", "phone")]
    else:
        parts = [*str(item).replace("，", ",").split(",", 2), "", ""][:3]
    name, contact, phone = (p.strip() for p in parts)
    return check_agency(name), contact[:100], phone[:50]


def _valid(form_id: str, year: Any, deadline: Any, people: list[Any]) -> tuple[str, int, str | None, list[tuple[str, str, str]]]:
    try:
        form = get_form(form_id or None)
        made = [_person(p) for p in people if str(p).strip()]
        year_value = check_year(year)
    except KeyError:
        raise ServiceError(f"未知的表式“{form_id}”", 422) from None
    except UserError as e:
        raise ServiceError(str(e), 422) from None
    if deadline:
        day = date_of(deadline)  # 2025-01-31, 2025.1.31, 2025年1月31日, as the CLI's --deadline
        if day is None:
            raise ServiceError(f"“{str(deadline)[:40]}”不是有效的日期（应为 YYYY-MM-DD，如 2025-01-31）", 422)
        deadline = day.isoformat()
    names = [p[0] for p in made]
    if not made or len(made) > MAX_AGENCIES:
        raise ServiceError(f"机关名单应有 1 至 {MAX_AGENCIES} 个机关", 422)
    if len(set(names)) != len(names):
        raise ServiceError("机关名单中有重复的名称", 422)
    return form.id, year_value, deadline or None, made


def _create(request: Request, user, body) -> tuple[int, list[tuple[str, str]]]:
    form_id, year, deadline, people = _valid(
        str(body.get("form_id") or ""), body.get("year"), body.get("deadline"), body["people"]
    )
    with service_of(request).writing() as conn:
        round_id, made = create_round(conn, form_id, year, deadline, people, f"user:{user['name']}")
    return round_id, [(m[1], f"{request.base_url}a/{m[4]}") for m in made]


def new_round_form(request: Request) -> Response:
    user = office_user(request)
    return page(request, "round_new.html", user=user, forms=FORM_IDS, message="")


async def create_round_form(request: Request) -> Response:
    user, form = await office_write(request)
    body = {
        "form_id": form.get("form_id"),
        "year": form.get("year"),
        "deadline": form.get("deadline"),
        "people": str(form.get("agencies", "")).splitlines(),
    }
    round_id, links = await run_in_threadpool(_create, request, user, body)
    return page(request, "round_links.html", user=user, round_id=round_id, links=links)


async def create_round_api(request: Request) -> Response:
    """`{"form_id", "year", "deadline", "agencies": ["名称", … or {"name", "contact", "phone"}]}` → the links, shown once."""
    user, body = await office_write(request)
    if not isinstance(body.get("agencies"), list):
        raise ServiceError("agencies 应为机关列表", 422)
    round_id, links = await run_in_threadpool(_create, request, user, {**body, "people": body["agencies"]})
    return JSONResponse({"round_id": round_id, "links": [{"agency": a, "link": link} for a, link in links]}, status_code=201)


routes = [
    Route("/office/rounds/new", new_round_form),
    Route("/office/rounds", create_round_form, methods=["POST"]),
    Route("/api/rounds", create_round_api, methods=["POST"]),
]
