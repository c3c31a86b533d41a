"""The service's security: one 404 for every bad link, no agency sees another's files, escaping, headers."""

from __future__ import annotations

import hmac
import re

import pytest
from serve_support import DATABASES, HOSTILE_NAME, PASSWORD, fresh_database, log_in, open_site, return_bytes, submit_clean
from sqlalchemy import select

from toolkit.serve import records
from toolkit.serve.db import open_database
from toolkit.serve.tables import events, links, users

A, B = "甲局", "乙局"
BASIC = ("科员", PASSWORD)


@pytest.fixture(params=DATABASES)
def site(tmp_path, request):
    s = open_site(tmp_path, [A, B, HOSTILE_NAME], db=fresh_database(request.param))
    with s.client:
        yield s


def _agency_routes(token: str, upload_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", f"/a/{token}"),
        ("POST", f"/a/{token}/uploads"),
        ("GET", f"/a/{token}/uploads/{upload_id}/annotated"),
        ("GET", f"/a/{token}/template"),
        ("POST", f"/a/{token}/submit"),
        ("GET", f"/a/{token}/report.docx"),
    ]


def _call(site, method: str, url: str, data: bytes):
    if method == "POST" and url.endswith("/uploads"):
        return site.client.post(url, files={"file": ("a.xlsx", data)})
    if method == "POST":
        return site.client.post(url, json={"upload_id": 1, "explanations": {}})
    return site.client.get(url)


def test_bad_and_revoked_links_get_the_same_404_everywhere(site, tmp_path):
    data = return_bytes(tmp_path, A)
    upload_id = site.upload(A, data).json()["upload_id"]
    old = site.tokens[A]
    r = site.client.post(
        f"/api/rounds/{site.round_id}/agencies/{site.agency_ids[A]}/link", json={"action": "reissue"}, auth=BASIC
    )
    new = r.json()["link"].rsplit("/", 1)[1]
    assert site.client.get(f"/a/{new}").status_code == 200
    answers = set()
    for token in (old, "x" * 43, "短", new[:-1] + ("A" if new[-1] != "A" else "B"), "%00"):
        for method, url in _agency_routes(token, upload_id):
            r = _call(site, method, url, data)
            answers.add((r.status_code, r.text))
    assert answers == {(404, '{"error":"链接无效或已失效；请向管理部门索取新的填报链接"}')}
    link_api = f"/api/rounds/{site.round_id}/agencies/{site.agency_ids[A]}/link"
    wrong = site.client.post(link_api, json={"action": "delete"}, auth=BASIC)
    assert (wrong.status_code, wrong.json()["error"]) == (422, "操作应为 reissue（重新生成）或 revoke（作废）")
    assert site.client.get(f"/a/{new}").status_code == 200  # a refused action changes nothing
    site.client.post(link_api, json={"action": "revoke"}, auth=BASIC)
    assert site.client.get(f"/a/{new}").status_code == 404


def test_tokens_are_compared_in_constant_time_and_stored_only_as_hashes(site, monkeypatch):
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(records.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    site.client.get("/a/" + "z" * 43)
    site.client.get(f"/a/{site.tokens[A]}")
    assert len(compared) == 2  # the unknown token too
    if site.db is None:
        raw = (site.data / "toolkit.db").read_bytes() + b"".join(p.read_bytes() for p in site.data.glob("toolkit.db-*"))
        assert all(t.encode() not in raw for t in site.tokens.values())
    engine = site.engine()
    with engine.connect() as conn:
        hashes = conn.execute(select(links.c.token_hash)).scalars().all()
        assert sorted(hashes) == sorted(records.token_hash(t) for t in site.tokens.values())
        assert conn.execute(select(users.c.password_hash)).scalar_one().startswith("$argon2id$")


def test_an_agency_never_reaches_another_agencys_upload(site, tmp_path):
    theirs = site.upload(B, return_bytes(tmp_path, B)).json()["upload_id"]
    mine = site.client.get(f"/a/{site.tokens[A]}/uploads/{theirs}/annotated")
    missing = site.client.get(f"/a/{site.tokens[A]}/uploads/99999/annotated")
    assert mine.status_code == missing.status_code == 404 and mine.text == missing.text
    r = site.client.post(f"/a/{site.tokens[A]}/submit", json={"upload_id": theirs, "explanations": {}})
    assert r.status_code == 404
    page = site.client.get(f"/a/{site.tokens[A]}", headers={"accept": "application/json"}).json()
    assert page["uploads"] == [] and page["state"] == "not_returned"
    states = {x["agency"]: x["state"] for x in site.client.get(f"/api/rounds/{site.round_id}/status", auth=BASIC).json()}
    assert states[B] == "uploaded" and states[A] == "not_returned"


@pytest.mark.parametrize("kind", DATABASES)
def test_office_routes_refuse_another_rounds_agency_and_upload(tmp_path, kind):
    db = fresh_database(kind)
    site = open_site(tmp_path, [A], db=db)
    with site.client:
        engine = open_database(site.data, db)
        with engine.begin() as conn:
            round2, made = records.create_round(conn, "gov-info-2021", 2024, None, [(B, "", "")], "test")
        token_b, agency_b = made[0][4], made[0][0]
        upload_b = site.client.post(f"/a/{token_b}/uploads", files={"file": ("b.xlsx", return_bytes(tmp_path, B))}).json()[
            "upload_id"
        ]
        submit = site.client.post(f"/a/{token_b}/submit", json={"upload_id": upload_b, "explanations": {}})
        assert submit.status_code == 201
        log_in(site.client)
        r1 = site.round_id
        for url in (
            f"/office/rounds/{r1}/agencies/{agency_b}",
            f"/office/rounds/{r1}/agencies/{agency_b}/uploads/{upload_b}/file",
            f"/office/rounds/{r1}/agencies/{agency_b}/uploads/{upload_b}/annotated",
            f"/office/rounds/{r1}/agencies/{site.agency_ids[A]}/uploads/{upload_b}/file",
            f"/api/rounds/{r1}/agencies/{agency_b}/uploads",
        ):
            assert site.client.get(url, auth=BASIC).status_code == 404, url
        r = site.client.post(f"/api/rounds/{r1}/reviews", json={"agency": agency_b, "decision": "approve"}, auth=BASIC)
        assert r.status_code == 404
        r = site.client.post(f"/api/rounds/{r1}/agencies/{agency_b}/link", json={"action": "revoke"}, auth=BASIC)
        assert r.status_code == 404
        assert site.client.get(f"/a/{token_b}").status_code == 200  # untouched
        assert site.client.get(f"/api/rounds/{round2}/status", auth=BASIC).json()[0]["state"] == "submitted"


def _no_raw_script(html: str) -> None:
    assert "<script>alert" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"


def test_agency_names_and_uploaded_texts_are_escaped_everywhere(site, tmp_path):
    token = site.tokens[HOSTILE_NAME]
    data = return_bytes(tmp_path, HOSTILE_NAME, values={"t2_1.rules.issued": "5"})
    site.client.post(f"/a/{token}/uploads", files={"file": ("<img src=x onerror=alert(1)>.xlsx", data)})
    submit_clean(site, A, tmp_path)
    pages = [site.client.get(f"/a/{token}").text]
    log_in(site.client)
    r = site.round_id
    pages += [
        site.client.get(u).text
        for u in (
            f"/office/rounds/{r}",
            f"/office/rounds/{r}/chase",
            f"/office/rounds/{r}/agencies/{site.agency_ids[HOSTILE_NAME]}",
            "/office",
        )
    ]
    for html in pages:
        _no_raw_script(html)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;局" in pages[0] and "&lt;script&gt;" in pages[1]
    assert "&lt;img src=x onerror=alert(1)&gt;.xlsx" in pages[3]


def test_security_headers_on_every_answer(site):
    for url in (f"/a/{site.tokens[A]}", "/login", "/a/nothing", "/static/htmx.min.js"):
        h = site.client.get(url).headers
        assert h["referrer-policy"] == "no-referrer"
        assert "script-src 'self'" in h["content-security-policy"] and "unsafe-inline" not in h["content-security-policy"]
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
    assert site.client.get(f"/a/{site.tokens[A]}").headers["cache-control"] == "no-store"


def test_login_redirects_only_inside_the_office_and_logins_are_logged(site):
    from serve_support import csrf_of

    token = csrf_of(site.client.get("/login").text)
    r = site.client.post(
        "/login",
        data={"name": "科员", "password": PASSWORD, "csrf": token, "next": "//evil.example/office"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/office"
    token = csrf_of(site.client.get("/login").text)
    assert site.client.post("/login", data={"name": "科员", "password": "x", "csrf": "forged"}).status_code == 403
    engine = site.engine()
    with engine.connect() as conn:
        kinds = conn.execute(select(events.c.kind, events.c.subject).where(events.c.kind.like("login%"))).all()
    assert ("login", "科员") in kinds
