"""What the service records: rounds, agencies and their links, uploads, submissions, reviews, events.

Every function takes an open connection (the caller owns the transaction) and only inserts rows (a
link is marked revoked, never removed). Each action also appends its event to the log."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from toolkit.core.errors import UserError
from toolkit.serve.clock import now
from toolkit.serve.tables import agencies, blobs, events, links, rounds, uploads


class ServiceError(UserError):
    """An action refused, with the HTTP status that says why and a Chinese message."""

    def __init__(self, message: str, http_status: int = 409):
        super().__init__(message)
        self.http_status = http_status


def log(
    conn: Connection, actor: str, kind: str, round_id=None, agency_id=None, subject: str = "", ip: str = "", **detail
) -> None:
    """Append one event; the log is only ever appended to."""
    conn.execute(
        insert(events).values(
            at=now(),
            actor=actor,
            kind=kind,
            round_id=round_id,
            agency_id=agency_id,
            subject=subject[:200],
            ip=ip[:64],
            detail=json.dumps(detail, ensure_ascii=False, default=str),
        )
    )


# ---------------------------------------------------------------- links


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_link(conn: Connection, agency_id: int, actor: str) -> str:
    """A new secret link token for the agency; its earlier links stop working. Only the hash is stored."""
    stamp = now()
    revoked = conn.execute(
        update(links).where(links.c.agency_id == agency_id, links.c.revoked_at.is_(None)).values(revoked_at=stamp)
    ).rowcount
    token = secrets.token_urlsafe(32)
    conn.execute(insert(links).values(agency_id=agency_id, token_hash=token_hash(token), created_at=stamp))
    round_id = conn.execute(select(agencies.c.round_id).where(agencies.c.id == agency_id)).scalar_one()
    log(conn, actor, "link_reissued" if revoked else "link_issued", round_id, agency_id)
    return token


def revoke_link(conn: Connection, agency_id: int, actor: str) -> None:
    conn.execute(update(links).where(links.c.agency_id == agency_id, links.c.revoked_at.is_(None)).values(revoked_at=now()))
    round_id = conn.execute(select(agencies.c.round_id).where(agencies.c.id == agency_id)).scalar_one()
    log(conn, actor, "link_revoked", round_id, agency_id)


def agency_by_token(conn: Connection, token: str) -> Mapping[str, Any] | None:
    """The agency (with its round's form, year and deadline) a live link token belongs to, else None.
    The same work is done for every token, and the stored hash is compared in constant time."""
    wanted = token_hash(token)
    row = (
        conn.execute(
            select(
                agencies,
                links.c.token_hash,
                links.c.revoked_at,
                rounds.c.form_id,
                rounds.c.year,
                rounds.c.deadline,
            )
            .join(links, links.c.agency_id == agencies.c.id)
            .join(rounds, rounds.c.id == agencies.c.round_id)
            .where(links.c.token_hash == wanted)
        )
        .mappings()
        .first()
    )
    stored = row["token_hash"] if row else "0" * 64
    same = hmac.compare_digest(stored, wanted)
    return row if row and same and row["revoked_at"] is None else None


# ---------------------------------------------------------------- rounds


def create_round(
    conn: Connection, form_id: str, year: int, deadline: str | None, people: Iterable[tuple[str, str, str]], actor: str
):
    """A new round with its agencies (name, contact, phone): (round id, [(agency id, name, contact, phone, token)])."""
    round_id = conn.execute(
        insert(rounds).values(form_id=form_id, year=year, deadline=deadline, created_at=now())
    ).inserted_primary_key[0]
    log(conn, actor, "round_created", round_id, form_id=form_id, year=year, deadline=deadline)
    made = []
    for position, (name, contact, phone) in enumerate(people):
        agency_id = conn.execute(
            insert(agencies).values(round_id=round_id, name=name, contact=contact, phone=phone, position=position)
        ).inserted_primary_key[0]
        made.append((agency_id, name, contact, phone, issue_link(conn, agency_id, actor)))
    return round_id, made


def round_row(conn: Connection, round_id: int) -> Mapping[str, Any] | None:
    return conn.execute(select(rounds).where(rounds.c.id == round_id)).mappings().first()


def agency_row(conn: Connection, round_id: int, agency_id: int) -> Mapping[str, Any] | None:
    """An agency of this round (None for another round's agency)."""
    query = select(agencies).where(agencies.c.id == agency_id, agencies.c.round_id == round_id)
    return conn.execute(query).mappings().first()


def round_agency(conn: Connection, round_id: int, agency_id: int) -> Mapping[str, Any]:
    """An agency of this round; the one 404 every office route gives for another round's agency, or none."""
    agency = agency_row(conn, round_id, agency_id)
    if agency is None:
        raise ServiceError("这个轮次中没有这个机关", 404)
    return agency


def change_link(conn: Connection, round_id: int, agency_id: int, action: str, actor: str) -> tuple[Mapping[str, Any], str | None]:
    """(agency, new token) after `reissue` (its earlier links stop working), (agency, None) after `revoke`."""
    agency = round_agency(conn, round_id, agency_id)
    if action == "revoke":
        revoke_link(conn, agency["id"], actor)
        return agency, None
    if action != "reissue":
        raise ServiceError("操作应为 reissue（重新生成）或 revoke（作废）", 422)
    return agency, issue_link(conn, agency["id"], actor)


def agency_by_name(conn: Connection, round_id: int, name: str) -> Mapping[str, Any] | None:
    return conn.execute(select(agencies).where(agencies.c.round_id == round_id, agencies.c.name == name)).mappings().first()


# ---------------------------------------------------------------- uploads


def record_upload(
    conn: Connection, agency: Mapping[str, Any], sha: str, size: int, filename: str, result: Mapping[str, Any]
) -> tuple[int, int | None]:
    """One upload row (and the blob's row the first time its content is seen): (upload id, earlier identical upload)."""
    if conn.execute(select(blobs.c.sha256).where(blobs.c.sha256 == sha)).first() is None:
        conn.execute(insert(blobs).values(sha256=sha, size=size, stored_at=now()))
    earlier = conn.execute(
        select(func.min(uploads.c.id)).where(uploads.c.agency_id == agency["id"], uploads.c.sha256 == sha)
    ).scalar_one_or_none()
    upload_id = conn.execute(
        insert(uploads).values(
            agency_id=agency["id"],
            sha256=sha,
            filename=filename[:300],
            size=size,
            received_at=now(),
            status=result["status"],
            errors=result["errors"],
            warnings=result["warnings"],
            problems=json.dumps(result["problems"], ensure_ascii=False),
            refusal=result.get("refusal"),
            file_agency=result["agency"][:200],
            file_year=result["year"],
            values_json=json.dumps(result["values"], ensure_ascii=False),
            duplicate_of=earlier,
        )
    ).inserted_primary_key[0]
    kind = "upload_duplicate" if earlier else "upload"
    log(
        conn,
        f"agency:{agency['id']}",
        kind,
        agency["round_id"],
        agency["id"],
        upload_id=upload_id,
        sha256=sha,
        status=result["status"],
    )
    return upload_id, earlier


def upload_of(conn: Connection, agency_id: int, upload_id: int) -> Mapping[str, Any] | None:
    """The agency's own upload (None for another agency's id)."""
    query = select(uploads).where(uploads.c.id == upload_id, uploads.c.agency_id == agency_id)
    return conn.execute(query).mappings().first()


def uploads_of(conn: Connection, agency_id: int) -> list[Mapping[str, Any]]:
    return list(conn.execute(select(uploads).where(uploads.c.agency_id == agency_id).order_by(uploads.c.id.desc())).mappings())


def earlier_result(conn: Connection, agency_id: int, sha: str) -> Mapping[str, Any] | None:
    """The check result of an identical earlier upload of this agency: the same bytes give the same result."""
    query = select(uploads).where(uploads.c.agency_id == agency_id, uploads.c.sha256 == sha).order_by(uploads.c.id)
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return {
        "status": row["status"],
        "errors": row["errors"],
        "warnings": row["warnings"],
        "problems": json.loads(row["problems"]),
        "refusal": row["refusal"],
        "agency": row["file_agency"],
        "year": row["file_year"],
        "values": json.loads(row["values_json"]),
    }
