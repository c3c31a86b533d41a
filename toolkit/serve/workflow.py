"""Where each agency stands: submissions with their 说明, the office's reviews, states and lateness."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, insert, select

from toolkit.core.batch import chunks
from toolkit.serve.clock import deadline_passed, now
from toolkit.serve.records import ServiceError, log, upload_of
from toolkit.serve.tables import agencies, reviews, submissions, uploads

STATES = {
    "not_returned": "未报送",
    "uploaded": "已上传未提交",
    "submitted": "已提交待审核",
    "returned": "退回",
    "approved": "通过",
}
MAX_EXPLANATION = 500


def warning_keys(problems: list[dict]) -> list[tuple[str, dict]]:
    """(key, problem) for each warning: `code@sheet!cell` (or the code alone), numbered when repeated."""
    seen: dict[str, int] = {}
    keyed = []
    for p in problems:
        if p["severity"] != "warning":
            continue
        base = f"{p['code']}@{p['location']}" if p.get("location") else p["code"]
        seen[base] = seen.get(base, 0) + 1
        keyed.append((base if seen[base] == 1 else f"{base}#{seen[base]}", p))
    return keyed


def _clean_explanations(problems: list[dict], given: Mapping[str, Any]) -> dict[str, str]:
    keyed = warning_keys(problems)
    cleaned = {key: str(given.get(key) or "").strip() for key, _ in keyed}
    missing = [p["message"] for key, p in keyed if not cleaned[key]]
    if missing:
        raise ServiceError("以下警告需要填写说明后才能提交：" + "；".join(missing[:5]) + ("等" if len(missing) > 5 else ""), 422)
    too_long = [key for key, text in cleaned.items() if len(text) > MAX_EXPLANATION]
    if too_long:
        raise ServiceError(f"说明最多 {MAX_EXPLANATION} 字", 422)
    return cleaned


def submit(conn: Connection, agency: Mapping[str, Any], upload_id: int, explanations: Mapping[str, Any]) -> int:
    """Submit one of the agency's uploads: refused with errors, each warning needs its 说明."""
    upload = upload_of(conn, agency["id"], upload_id)
    if upload is None:
        raise ServiceError("没有这次上传", 404)
    if state_of(conn, agency)["state"] == "approved":
        raise ServiceError("本机关的报表已通过审核，不能再提交；如需更正请联系管理部门", 409)
    if upload["refusal"]:
        raise ServiceError(upload["refusal"], 409)
    if upload["status"] != "accepted":
        raise ServiceError("这份文件有错误（或无法读取），不能提交；请改正后重新上传", 409)
    cleaned = _clean_explanations(json.loads(upload["problems"]), explanations)
    stamp = now()
    submission_id = conn.execute(
        insert(submissions).values(
            agency_id=agency["id"], upload_id=upload_id, explanations=json.dumps(cleaned, ensure_ascii=False), submitted_at=stamp
        )
    ).inserted_primary_key[0]
    late = deadline_passed(agency["deadline"], stamp) if "deadline" in agency else False
    log(conn, f"agency:{agency['id']}", "submission", agency["round_id"], agency["id"], upload_id=upload_id, late=late)
    return submission_id


def review(conn: Connection, round_id: int, agency_id: int, decision: str, comment: str, user: Mapping[str, Any]) -> int:
    """通过 or 退回 the agency's latest submission; 退回 needs a comment."""
    if decision not in ("approve", "return"):
        raise ServiceError("审核结论应为 approve（通过）或 return（退回）", 422)
    comment = (comment or "").strip()
    if decision == "return" and not comment:
        raise ServiceError("退回时须填写反馈意见", 422)
    if len(comment) > 2000:
        raise ServiceError("反馈意见最多 2000 字", 422)
    latest = _latest_submissions(conn, [agency_id]).get(agency_id)
    if latest is None:
        raise ServiceError("该机关尚未提交，无法审核", 409)
    if _latest_reviews(conn, [latest["id"]]).get(latest["id"]):
        raise ServiceError("该机关最近一次提交已审核过；待其重新提交后再审核", 409)
    review_id = conn.execute(
        insert(reviews).values(
            submission_id=latest["id"], decision=decision, comment=comment, user_id=user["id"], reviewed_at=now()
        )
    ).inserted_primary_key[0]
    log(conn, f"user:{user['name']}", f"review_{decision}", round_id, agency_id, submission_id=latest["id"], comment=comment)
    return review_id


# ---------------------------------------------------------------- states


def _latest_by(conn: Connection, table, key, ids: list[int]) -> dict[int, Mapping[str, Any]]:
    if not ids:
        return {}
    newest = select(func.max(table.c.id)).where(key.in_(ids)).group_by(key)
    return {row[key.name]: row for row in conn.execute(select(table).where(table.c.id.in_(newest))).mappings()}


def _latest_submissions(conn: Connection, agency_ids: list[int]) -> dict[int, Mapping[str, Any]]:
    return _latest_by(conn, submissions, submissions.c.agency_id, agency_ids)


def _latest_reviews(conn: Connection, submission_ids: list[int]) -> dict[int, Mapping[str, Any]]:
    return _latest_by(conn, reviews, reviews.c.submission_id, submission_ids)


def _latest_uploads(conn: Connection, agency_ids: list[int]) -> dict[int, Mapping[str, Any]]:
    return _latest_by(conn, uploads, uploads.c.agency_id, agency_ids)


def _state(upload, submission, decision) -> str:
    if decision is not None:
        return "approved" if decision["decision"] == "approve" else "returned"
    if submission is not None:
        return "submitted"
    return "uploaded" if upload is not None else "not_returned"


QUERY_CHUNK = 500  # ids per IN (...) query


def states(conn: Connection, agency_rows: list[Mapping[str, Any]], deadline: str | None) -> list[dict[str, Any]]:
    """One dict per agency: its row's fields, state, 逾期, last upload and the latest submission and review."""
    ids = [a["id"] for a in agency_rows]
    last_upload, last_submission = {}, {}
    for chunk in chunks(ids, QUERY_CHUNK):
        last_upload.update(_latest_uploads(conn, chunk))
        last_submission.update(_latest_submissions(conn, chunk))
    submission_ids = [s["id"] for s in last_submission.values()]
    decisions = {}
    for chunk in chunks(submission_ids, QUERY_CHUNK):
        decisions.update(_latest_reviews(conn, chunk))
    out = []
    for a in agency_rows:
        upload, submission = last_upload.get(a["id"]), last_submission.get(a["id"])
        decision = decisions.get(submission["id"]) if submission else None
        state = _state(upload, submission, decision)
        on_time_stamp = submission["submitted_at"] if state in ("submitted", "approved") else None
        out.append(
            {
                **dict(a),
                "state": state,
                "state_text": STATES[state],
                "late": deadline_passed(deadline, on_time_stamp),
                "last_upload": upload,
                "submission": submission,
                "review": decision,
            }
        )
    return out


def state_of(conn: Connection, agency: Mapping[str, Any]) -> dict[str, Any]:
    row = conn.execute(select(agencies).where(agencies.c.id == agency["id"])).mappings().one()
    return states(conn, [row], agency.get("deadline"))[0]


def board(conn: Connection, round_id: int, deadline: str | None) -> list[dict[str, Any]]:
    rows = list(conn.execute(select(agencies).where(agencies.c.round_id == round_id).order_by(agencies.c.position)).mappings())
    return states(conn, rows, deadline)


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    tally = dict.fromkeys(STATES, 0)
    for r in rows:
        tally[r["state"]] += 1
    tally["late"] = sum(1 for r in rows if r["late"])
    tally["all"] = len(rows)
    return tally


def approved_uploads(rows: list[dict[str, Any]]) -> list[int]:
    return [r["submission"]["upload_id"] for r in rows if r["state"] == "approved"]
