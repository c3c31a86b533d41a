"""The office's pages: login, the board of a round, 催报, one agency's uploads and diff, reviews, links."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from toolkit.core.digits import count_of
from toolkit.core.fileio import safe_filename
from toolkit.serve import collect
from toolkit.serve.accounts import authenticate, rate_limited
from toolkit.serve.checks import annotated_copy, value_names
from toolkit.serve.csvfile import csv_bytes
from toolkit.serve.records import ServiceError, agency_row, change_link, log, round_agency, round_row, upload_of, uploads_of
from toolkit.serve.tables import rounds, submissions
from toolkit.serve.web import (
    XLSX,
    check_csrf,
    client_ip,
    download,
    error_answer,
    is_htmx,
    office_user,
    office_write,
    page,
    service_of,
)
from toolkit.serve.workflow import STATES, board, counts, review, state_of, warning_keys


def login_form(request: Request) -> Response:
    return page(request, "login.html", next=_safe_next(request.query_params.get("next")), message="")


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/office") and "//" not in target else "/office"


async def login(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    try:
        check_csrf(request, form.get("csrf"))
    except ServiceError as e:
        return error_answer(request, str(e), e.http_status)
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    target = _safe_next(form.get("next"))

    def attempt():
        with service_of(request).engine.begin() as conn:
            if rate_limited(conn, name, client_ip(request)):
                return "limited"
            return authenticate(conn, name, password, client_ip(request), "form")

    user = await run_in_threadpool(attempt)
    if user == "limited":
        return page(request, "login.html", code=429, next=target, message="登录失败次数过多，请 15 分钟后再试")
    if user is None:
        return page(request, "login.html", code=401, next=target, message="账号或密码不正确")
    request.session.clear()
    request.session["user_id"] = user["id"]
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    check_csrf(request, form.get("csrf"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def rounds_page(request: Request) -> Response:
    user = office_user(request)
    with service_of(request).engine.connect() as conn:
        rows = list(conn.execute(select(rounds).order_by(rounds.c.id.desc())).mappings())
    return page(request, "office_rounds.html", user=user, rounds=rows)


def round_of(request: Request) -> Mapping[str, Any]:
    with service_of(request).engine.connect() as conn:
        rnd = round_row(conn, request.path_params["round_id"])
    if rnd is None:
        raise ServiceError("没有这个收集轮次", 404)
    return rnd


def _filtered(rows: list[dict], params) -> list[dict]:
    state, late, q = params.get("state", ""), params.get("late", ""), params.get("q", "").strip()
    if state in STATES:
        rows = [r for r in rows if r["state"] == state]
    if late == "1":
        rows = [r for r in rows if r["late"]]
    if q:
        rows = [r for r in rows if q in r["name"]]
    return rows


def board_page(request: Request) -> Response:
    user = office_user(request)
    rnd = round_of(request)
    with service_of(request).engine.connect() as conn:
        rows = board(conn, rnd["id"], rnd["deadline"])
    shown = _filtered(rows, request.query_params)
    job = collect.latest_job(service_of(request).engine, rnd["id"])
    name = "_board_counts.html" if is_htmx(request) and request.query_params.get("part") == "counts" else "board.html"
    return page(request, name, user=user, round=rnd, rows=shown, counts=counts(rows), filters=request.query_params, job=job)


def _chase_rows(request: Request) -> tuple[Mapping[str, Any], list[dict]]:
    office_user(request)
    rnd = round_of(request)
    with service_of(request).engine.connect() as conn:
        rows = board(conn, rnd["id"], rnd["deadline"])
    return rnd, [r for r in rows if r["state"] in ("not_returned", "uploaded", "returned")]


def chase_csv(request: Request) -> Response:
    rnd, rows = _chase_rows(request)
    table = [
        [
            r["name"],
            r["contact"],
            r["phone"],
            r["state_text"],
            "是" if r["late"] else "",
            r["last_upload"]["received_at"] if r["last_upload"] else "",
        ]
        for r in rows
    ]
    data = csv_bytes(["机关名称", "联系人", "联系电话", "状态", "逾期", "最近上传"], table)
    return download(data, f"催报名单_{rnd['year']}年度_第{rnd['id']}轮.csv", "text/csv; charset=utf-8")


def chase_page(request: Request) -> Response:
    rnd, rows = _chase_rows(request)
    return page(request, "chase.html", round=rnd, rows=rows)


def _diff(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, form_id: str) -> list[tuple[str, str, str]]:
    """(where, old, new) of every value that differs, in the form's order, where named as the clerk finds it
    (sheet!cell「labels」)."""
    if a is None or b is None:
        return []
    old, new, names = json.loads(a["values_json"]), json.loads(b["values_json"]), value_names(form_id)
    order = {key: i for i, key in enumerate(names)}
    keys = sorted(old.keys() | new.keys(), key=lambda k: (order.get(k, len(order)), k))
    return [(names.get(k, k), old.get(k, ""), new.get(k, "")) for k in keys if old.get(k, "") != new.get(k, "")]


def agency_page(request: Request) -> Response:
    user = office_user(request)
    rnd = round_of(request)
    service = service_of(request)
    with service.engine.connect() as conn:
        agency = round_agency(conn, rnd["id"], request.path_params["agency_id"])
        status = state_of(conn, {**agency, "deadline": rnd["deadline"]})
        history = uploads_of(conn, agency["id"])
        subs = list(
            conn.execute(
                select(submissions).where(submissions.c.agency_id == agency["id"]).order_by(submissions.c.id.desc())
            ).mappings()
        )
    by_id = {u["id"]: u for u in history}
    a, b = (by_id.get(count_of(request.query_params.get(k))) for k in ("a", "b"))  # "x", "²": no upload, no 500
    views = [{**dict(u), "problem_list": json.loads(u["problems"])} for u in history]
    explanations = [{**dict(s), "notes": _explained(s, history)} for s in subs]
    return page(
        request,
        "office_agency.html",
        user=user,
        round=rnd,
        agency=agency,
        status=status,
        uploads=views,
        diff=_diff(a, b, rnd["form_id"]),
        a=a,
        b=b,
        submissions=explanations,
    )


def _explained(submission: Mapping[str, Any], history: list) -> list[tuple[str, str]]:
    upload = next((u for u in history if u["id"] == submission["upload_id"]), None)
    given = json.loads(submission["explanations"])
    keyed = warning_keys(json.loads(upload["problems"])) if upload else []
    return [(p["message"], given.get(key, "")) for key, p in keyed]


def _upload_for_office(request: Request):
    office_user(request)
    rnd = round_of(request)
    with service_of(request).engine.connect() as conn:
        agency = agency_row(conn, rnd["id"], request.path_params["agency_id"])
        row = upload_of(conn, agency["id"], request.path_params["upload_id"]) if agency else None
    if row is None:
        raise ServiceError("没有这次上传", 404)
    return agency, row


def original_file(request: Request) -> Response:
    agency, row = _upload_for_office(request)
    return download(
        service_of(request).store.path(row["sha256"]), safe_filename(f"{agency['name']}_上传{row['id']}", ".xlsx"), XLSX
    )


def office_annotated(request: Request) -> Response:
    agency, row = _upload_for_office(request)
    if row["status"] == "unreadable":
        raise ServiceError("这份文件无法读取，没有批注副本", 409)
    service = service_of(request)
    out = service.store.derived / "annotated" / f"{row['sha256']}.xlsx"
    if not out.exists():
        out.parent.mkdir(exist_ok=True)
        service.run_sync(annotated_copy, str(service.store.path(row["sha256"])), str(out))
    return download(out, safe_filename(f"{agency['name']}_上传{row['id']}_批注", ".xlsx"), XLSX)


def review_many(service, round_id: int, agency_ids: list[int], decision: str, comment: str, user) -> list[dict]:
    """Each agency's review, in its own transaction: one refused does not stop the others."""
    results = []
    for agency_id in agency_ids:
        try:
            with service.engine.begin() as conn:
                round_agency(conn, round_id, agency_id)
                review(conn, round_id, agency_id, decision, comment, user)
            results.append({"agency_id": agency_id, "ok": True})
        except ServiceError as e:
            results.append({"agency_id": agency_id, "ok": False, "error": str(e), "status": e.http_status})
    return results


async def reviews_form(request: Request) -> Response:
    user, form = await office_write(request)
    rnd = round_of(request)
    ids = [n for n in (count_of(x) for x in form.getlist("agency")) if n is not None]
    if not ids:
        raise ServiceError("请先勾选要审核的机关", 422)
    decision, comment = str(form.get("decision", "")), str(form.get("comment", ""))
    results = await run_in_threadpool(review_many, service_of(request), rnd["id"], ids, decision, comment, user)
    failed = [r for r in results if not r["ok"]]
    if failed and len(ids) == 1:
        raise ServiceError(failed[0]["error"], failed[0]["status"])
    back = str(form.get("back", ""))
    target = back if back.startswith(f"/office/rounds/{rnd['id']}") and "//" not in back else f"/office/rounds/{rnd['id']}"
    return RedirectResponse(
        target + ("?notice=" + quote(f"{len(failed)} 个机关未能审核（未提交或已审核）") if failed else ""), status_code=303
    )


def relink(request: Request, action: str, user) -> tuple[Mapping[str, Any], Mapping[str, Any], str | None]:
    """(round, agency, new token or None): the link page's and the API's reissue/revoke, in one transaction."""
    rnd = round_of(request)
    with service_of(request).engine.begin() as conn:
        agency, token = change_link(conn, rnd["id"], request.path_params["agency_id"], action, f"user:{user['name']}")
    return rnd, agency, token


async def link_form(request: Request) -> Response:
    user, form = await office_write(request)
    rnd, agency, token = await run_in_threadpool(relink, request, str(form.get("action", "")), user)
    link = f"{request.base_url}a/{token}" if token else ""
    return page(request, "link.html", user=user, round=rnd, agency=agency, link=link)


async def collection_start(request: Request) -> Response:
    user, _ = await office_write(request)
    rnd = round_of(request)
    service = service_of(request)
    await run_in_threadpool(collect.start, service.engine, service.store, service.pool, rnd, f"user:{user['name']}")
    if is_htmx(request):
        return collection_status(request)
    return RedirectResponse(f"/office/rounds/{rnd['id']}#collection", status_code=303)


def collection_status(request: Request) -> Response:
    office_user(request)
    rnd = round_of(request)
    job = collect.latest_job(service_of(request).engine, rnd["id"])
    return page(request, "_collection.html", round=rnd, job=job)


def collection_zip(request: Request) -> Response:
    user = office_user(request)
    rnd = round_of(request)
    service = service_of(request)
    job = collect.latest_job(service.engine, rnd["id"])
    if job is None or job["state"] != "done":
        raise ServiceError("汇总文件尚未生成；请先点击“生成汇总”并等待完成", 409)
    with service.engine.begin() as conn:
        log(conn, f"user:{user['name']}", "collection_downloaded", rnd["id"], job=job["id"])
    return download(collect.zip_path(service.store, job["id"]), f"汇总_{rnd['year']}年度_第{rnd['id']}轮.zip", "application/zip")


def home(request: Request) -> Response:
    return RedirectResponse("/office", status_code=303)


P = "/office/rounds/{round_id:int}"
routes = [
    Route("/", home),
    Route("/login", login_form),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/office", rounds_page),
    Route(P, board_page),
    Route(P + "/chase.csv", chase_csv),
    Route(P + "/chase", chase_page),
    Route(P + "/agencies/{agency_id:int}", agency_page),
    Route(P + "/agencies/{agency_id:int}/uploads/{upload_id:int}/file", original_file),
    Route(P + "/agencies/{agency_id:int}/uploads/{upload_id:int}/annotated", office_annotated),
    Route(P + "/agencies/{agency_id:int}/link", link_form, methods=["POST"]),
    Route(P + "/reviews", reviews_form, methods=["POST"]),
    Route(P + "/collection", collection_start, methods=["POST"]),
    Route(P + "/collection", collection_status),
    Route(P + "/collection.zip", collection_zip),
]
