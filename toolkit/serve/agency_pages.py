"""The agency's side, reached only through its secret link `/a/<token>`: every route finds the agency by
the token first and only ever looks at that agency's own uploads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from toolkit.core.fileio import safe_filename
from toolkit.pipeline import find_soffice, get_form, write_template
from toolkit.serve.checks import annotated_copy, pdf_report, word_report
from toolkit.serve.intake import accept, receive
from toolkit.serve.records import ServiceError, agency_by_token, log, upload_of, uploads_of
from toolkit.serve.store import TooLarge
from toolkit.serve.web import DOCX, XLSX, download, error_answer, is_htmx, not_found, page, service_of, wants_html
from toolkit.serve.workflow import state_of, submit, warning_keys


def _agency(request: Request) -> Mapping[str, Any] | None:
    with service_of(request).engine.connect() as conn:
        return agency_by_token(conn, request.path_params["token"])


def _upload_view(upload: Mapping[str, Any]) -> dict[str, Any]:
    problems = json.loads(upload["problems"])
    return {**dict(upload), "problem_list": problems, "warning_keys": warning_keys(problems)}


def _context(request: Request, agency: Mapping[str, Any]) -> dict[str, Any]:
    with service_of(request).engine.connect() as conn:
        status = state_of(conn, agency)
        history = [_upload_view(u) for u in uploads_of(conn, agency["id"])]
    return {
        "agency": agency,
        "status": status,
        "uploads": history,
        "latest": history[0] if history else None,
        "token": request.path_params["token"],
        "pdf": find_soffice() is not None,
    }


def agency_page(request: Request) -> Response:
    agency = _agency(request)
    if agency is None:
        return not_found(request)
    context = _context(request, agency)
    if "application/json" in request.headers.get("accept", ""):
        s = context["status"]
        return JSONResponse(
            {
                "agency": agency["name"],
                "year": agency["year"],
                "form_id": agency["form_id"],
                "deadline": agency["deadline"],
                "state": s["state"],
                "late": s["late"],
                "comment": s["review"]["comment"] if s["review"] else "",
                "uploads": [
                    {"upload_id": u["id"], "sha256": u["sha256"], "status": u["status"], "received_at": u["received_at"]}
                    for u in context["uploads"]
                ],
            }
        )
    return page(request, "agency.html", **context)


def _uploadable(request: Request) -> Mapping[str, Any] | None:
    """The link's agency (None for no live link), refused once its return is approved; one connection, one hop."""
    with service_of(request).engine.connect() as conn:
        agency = agency_by_token(conn, request.path_params["token"])
        if agency is not None and state_of(conn, agency)["state"] == "approved":
            raise ServiceError("本机关的报表已通过审核，不能再上传；如需更正请联系管理部门", 409)
        return agency


async def upload(request: Request) -> Response:
    service = service_of(request)
    try:
        agency = await run_in_threadpool(_uploadable, request)
        if agency is None:
            return not_found(request)
        incoming, filename = await receive(request, lambda: service.store.incoming(service.max_upload), service.max_upload)
        answer = await accept(service, agency, incoming, filename)
    except TooLarge:
        limit = round(service.max_upload / (1024 * 1024), 2)
        return error_answer(
            request, f"文件太大：超过 {limit:g} MB 的上限（一份填好的报表通常只有几十 KB），未保存；请确认选择的是填报表格", 413
        )
    except ServiceError as e:
        return error_answer(request, str(e), e.http_status)
    except ClientDisconnect:  # the uploader went away mid-file: the partial file is already removed
        return Response(status_code=400)
    status = 422 if "refused" in answer else 201
    if "refused" in answer:
        answer["error"] = answer["refused"]
    if is_htmx(request) or wants_html(request):
        return await _after_upload(request, agency, answer)
    return JSONResponse(answer, status_code=status)


async def _after_upload(request: Request, agency: Mapping[str, Any], answer: dict[str, Any]) -> Response:
    token = request.path_params["token"]
    if wants_html(request):
        return RedirectResponse(f"/a/{token}#upload-{answer['upload_id']}", status_code=303)
    return page(request, "_agency_main.html", **await run_in_threadpool(_context, request, agency))


def annotated(request: Request) -> Response:
    agency = _agency(request)
    if agency is None:
        return not_found(request)
    service = service_of(request)
    with service.engine.connect() as conn:
        row = upload_of(conn, agency["id"], request.path_params["upload_id"])
    if row is None:
        return not_found(request, "没有这次上传")
    if row["status"] == "unreadable":
        return error_answer(request, "这份文件无法读取，没有批注副本；请按提示重新保存后上传", 409)
    out = service.store.derived / "annotated" / f"{row['sha256']}.xlsx"
    if not out.exists():
        out.parent.mkdir(exist_ok=True)
        service.run_sync(annotated_copy, str(service.store.path(row["sha256"])), str(out))
    name = safe_filename(f"{agency['name']}_{agency['year']}年_上传{row['id']}_批注", ".xlsx")
    return download(out, name, XLSX)


def template(request: Request) -> Response:
    agency = _agency(request)
    if agency is None:
        return not_found(request)
    service = service_of(request)
    out = service.store.derived / "templates" / f"{agency['id']}.xlsx"
    if not out.exists():
        out.parent.mkdir(exist_ok=True)
        write_template(get_form(agency["form_id"]), agency["name"], agency["year"], out)
    return download(out, safe_filename(f"{agency['name']}_{agency['year']}年_{agency['form_id']}", ".xlsx"), XLSX)


async def submit_upload(request: Request) -> Response:
    agency = await run_in_threadpool(_agency, request)
    if agency is None:
        return not_found(request)
    try:
        upload_id, explanations = await _submission(request)

        def do():
            with service_of(request).writing() as conn:
                return submit(conn, agency, upload_id, explanations)

        submission_id = await run_in_threadpool(do)
    except ServiceError as e:
        return error_answer(request, str(e), e.http_status)
    if is_htmx(request):
        return page(request, "_agency_main.html", **await run_in_threadpool(_context, request, agency))
    if wants_html(request):
        return RedirectResponse(f"/a/{request.path_params['token']}", status_code=303)
    return JSONResponse({"submission_id": submission_id, "state": "submitted"}, status_code=201)


async def _submission(request: Request) -> tuple[int, dict[str, Any]]:
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            raise ServiceError("请求内容不是有效的 JSON", 400) from None
        if not isinstance(body, dict) or not isinstance(body.get("explanations", {}), dict):
            raise ServiceError('请求应为 {"upload_id": …, "explanations": {…}}', 400)
        raw_id, explanations = body.get("upload_id"), body.get("explanations") or {}
    else:
        form = await request.form(max_files=0, max_fields=2000)
        raw_id = form.get("upload_id")
        explanations = {k.removeprefix("explain:"): v for k, v in form.items() if k.startswith("explain:")}
    try:
        return int(raw_id), explanations
    except (TypeError, ValueError):
        raise ServiceError("缺少要提交的上传编号 upload_id", 400) from None


def _approved_upload(service, agency: Mapping[str, Any]) -> Mapping[str, Any]:
    """The upload of the agency's approved submission; 409 before approval (reports are for approved returns only)."""
    with service.engine.connect() as conn:
        status = state_of(conn, agency)
        if status["state"] != "approved":
            raise ServiceError("报表通过审核后才能下载年度报告", 409)
        return upload_of(conn, agency["id"], status["submission"]["upload_id"])


def _report_name(agency: Mapping[str, Any], suffix: str) -> str:
    """The report's file name: the form's own report title, as `toolkit report` names it."""
    return safe_filename(get_form(agency["form_id"]).report_title(agency["name"], agency["year"]), suffix)


def report(request: Request) -> Response:
    """The Word report of the approved return."""
    agency = _agency(request)
    if agency is None:
        return not_found(request)
    service = service_of(request)
    row = _approved_upload(service, agency)
    data = service.run_sync(word_report, str(service.store.path(row["sha256"])))
    with service.engine.begin() as conn:
        log(conn, f"agency:{agency['id']}", "report_downloaded", agency["round_id"], agency["id"])
    return download(data, _report_name(agency, ".docx"), DOCX)


def report_pdf(request: Request) -> Response:
    """The approved return's report as PDF, where LibreOffice is installed (made once, then kept)."""
    agency = _agency(request)
    if agency is None:
        return not_found(request)
    if find_soffice() is None:
        return error_answer(request, "服务器未安装 LibreOffice，无法生成 PDF；请下载 Word 版本", 404)
    service = service_of(request)
    row = _approved_upload(service, agency)
    folder = service.store.derived / "reports" / row["sha256"]
    pdf = folder / "report.pdf"
    if not pdf.exists():
        pdf = Path(service.run_sync(pdf_report, str(service.store.path(row["sha256"])), str(folder)))
    return download(pdf, _report_name(agency, ".pdf"), "application/pdf")


routes = [
    Route("/a/{token}", agency_page),
    Route("/a/{token}/uploads", upload, methods=["POST"]),
    Route("/a/{token}/uploads/{upload_id:int}/annotated", annotated),
    Route("/a/{token}/template", template),
    Route("/a/{token}/submit", submit_upload, methods=["POST"]),
    Route("/a/{token}/report.docx", report),
    Route("/a/{token}/report.pdf", report_pdf),
]
