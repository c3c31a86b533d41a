"""The office's JSON API (HTTP Basic with an office account, or the browser session with its CSRF token)."""

from __future__ import annotations

import json

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from toolkit.serve import collect
from toolkit.serve.office_pages import collection_zip, relink, review_many, round_of
from toolkit.serve.records import ServiceError, agency_by_name, agency_row, round_agency, uploads_of
from toolkit.serve.tables import rounds
from toolkit.serve.web import office_user, office_write, service_of
from toolkit.serve.workflow import board


def rounds_list(request: Request) -> Response:
    office_user(request)
    with service_of(request).engine.connect() as conn:
        rows = conn.execute(select(rounds).order_by(rounds.c.id)).mappings()
        return JSONResponse(
            [{"id": r["id"], "form_id": r["form_id"], "year": r["year"], "deadline": r["deadline"]} for r in rows]
        )


def _last_upload(row) -> dict | None:
    u = row["last_upload"]
    if u is None:
        return None
    return {"upload_id": u["id"], "sha256": u["sha256"], "status": u["status"], "received_at": u["received_at"]}


def status(request: Request) -> Response:
    office_user(request)
    rnd = round_of(request)
    with service_of(request).engine.connect() as conn:
        rows = board(conn, rnd["id"], rnd["deadline"])
    return JSONResponse(
        [
            {
                "agency": r["name"],
                "agency_id": r["id"],
                "state": r["state"],
                "late": r["late"],
                "last_upload": _last_upload(r),
                "comment": r["review"]["comment"] if r["review"] else "",
            }
            for r in rows
        ]
    )


async def reviews(request: Request) -> Response:
    """`{"agency": 名称 or id, "decision": "approve"|"return", "comment": …}`, or `"agencies": [...]` for many."""
    user, body = await office_write(request)
    rnd = round_of(request)
    wanted = body.get("agencies") if isinstance(body.get("agencies"), list) else [body.get("agency")]
    service = service_of(request)

    def resolve() -> list[int]:
        ids = []
        with service.engine.connect() as conn:
            for w in wanted:
                row = agency_row(conn, rnd["id"], w) if isinstance(w, int) else agency_by_name(conn, rnd["id"], str(w or ""))
                if row is None:
                    raise ServiceError(f"这个轮次中没有机关“{w}”", 404)
                ids.append(row["id"])
        return ids

    ids = await run_in_threadpool(resolve)
    results = await run_in_threadpool(
        review_many, service, rnd["id"], ids, str(body.get("decision", "")), str(body.get("comment") or ""), user
    )
    if len(results) == 1 and not results[0]["ok"]:
        raise ServiceError(results[0]["error"], results[0]["status"])
    return JSONResponse({"results": results}, status_code=201)


def collection(request: Request) -> Response:
    """The zip of the latest collection when it is made from today's approved returns; else one is started (202)."""
    user = office_user(request)
    rnd = round_of(request)
    service = service_of(request)
    job = collect.latest_job(service.engine, rnd["id"])
    fresh = (
        job is not None
        and job["state"] == "done"
        and json.loads(job["uploads"]) == collect.current(service.engine, rnd["id"], rnd["deadline"])
    )
    if fresh:
        return collection_zip(request)
    if job is None or job["state"] != "running":
        collect.start(service.engine, service.store, service.pool, rnd, f"user:{user['name']}")
        job = collect.latest_job(service.engine, rnd["id"])
    return JSONResponse(
        {"state": job["state"], "done": job["done"], "total": job["total"], "error": job["error"]},
        status_code=202,
        headers={"Retry-After": "2"},
    )


def uploads(request: Request) -> Response:
    office_user(request)
    rnd = round_of(request)
    with service_of(request).engine.connect() as conn:
        rows = uploads_of(conn, round_agency(conn, rnd["id"], request.path_params["agency_id"])["id"])
    return JSONResponse(
        [
            {
                "upload_id": u["id"],
                "sha256": u["sha256"],
                "size": u["size"],
                "filename": u["filename"],
                "received_at": u["received_at"],
                "status": u["status"],
                "refused": u["refusal"],
                "problems": json.loads(u["problems"]),
            }
            for u in rows
        ]
    )


async def link(request: Request) -> Response:
    """`{"action": "reissue"|"revoke"}`: a new link (shown once) or none."""
    user, body = await office_write(request)
    _, _, token = await run_in_threadpool(relink, request, str(body.get("action", "")), user)
    if token is None:
        return JSONResponse({"link": None})
    return JSONResponse({"link": f"{request.base_url}a/{token}"}, status_code=201)


P = "/api/rounds/{round_id:int}"
routes = [
    Route("/api/rounds", rounds_list),
    Route(P + "/status", status),
    Route(P + "/reviews", reviews, methods=["POST"]),
    Route(P + "/collection", collection),
    Route(P + "/agencies/{agency_id:int}/uploads", uploads),
    Route(P + "/agencies/{agency_id:int}/link", link, methods=["POST"]),
]
