"""The office's side: login, the board, 催报, reviews (bulk too), the diff of two uploads, the collection."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import time
import zipfile

import openpyxl
import pytest
from serve_support import (
    DATABASES,
    ERROR_VALUES,
    PASSWORD,
    csrf_of,
    fresh_database,
    log_in,
    open_site,
    return_bytes,
    submit_clean,
)

A, B, C = "甲局", "乙局", "丙局"
BASIC = ("科员", PASSWORD)


@pytest.fixture(params=DATABASES)
def site(tmp_path, request):
    s = open_site(tmp_path, [A, B, C], deadline="2000-01-31", db=fresh_database(request.param))
    with s.client:
        yield s


def test_office_pages_need_a_login_and_the_api_takes_http_basic(site):
    r = site.client.get("/office", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert site.client.get(f"/api/rounds/{site.round_id}/status").status_code == 401
    assert site.client.get(f"/api/rounds/{site.round_id}/status", auth=("科员", "wrong password")).status_code == 401
    r = site.client.get(f"/api/rounds/{site.round_id}/status", auth=BASIC)
    assert r.status_code == 200
    assert [(x["agency"], x["state"], x["late"], x["last_upload"]) for x in r.json()] == [
        (A, "not_returned", True, None),
        (B, "not_returned", True, None),
        (C, "not_returned", True, None),
    ]


def test_login_is_rate_limited(site):
    for _ in range(5):
        assert log_in(site.client, password="wrong password").status_code == 401
    r = log_in(site.client)  # the right password, too late
    assert r.status_code == 429 and "15 分钟" in r.text


def test_a_form_without_its_csrf_token_is_refused(site, tmp_path):
    submit_clean(site, A, tmp_path)
    assert log_in(site.client).status_code == 303
    agency_id = site.agency_ids[A]
    r = site.client.post(
        f"/office/rounds/{site.round_id}/reviews",
        data={"agency": agency_id, "decision": "approve"},
        headers={"accept": "text/html"},
    )
    assert r.status_code == 403 and "CSRF" in r.text
    token = csrf_of(site.client.get(f"/office/rounds/{site.round_id}").text)
    r = site.client.post(
        f"/office/rounds/{site.round_id}/reviews",
        data={"agency": agency_id, "decision": "approve", "csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_board_states_late_and_return_comment_seen_by_the_agency(site, tmp_path):
    site.upload(B, return_bytes(tmp_path, B, values=ERROR_VALUES))
    submit_clean(site, A, tmp_path)
    submit_clean(site, C, tmp_path)
    r = site.client.post(
        f"/api/rounds/{site.round_id}/reviews",
        json={"agency": A, "decision": "return", "comment": "第二项数据请<核实>"},
        auth=BASIC,
    )
    assert r.status_code == 201
    r = site.client.post(
        f"/api/rounds/{site.round_id}/reviews", json={"agency": C, "decision": "approve", "comment": ""}, auth=BASIC
    )
    assert r.status_code == 201
    states = {
        x["agency"]: (x["state"], x["late"], x["comment"])
        for x in site.client.get(f"/api/rounds/{site.round_id}/status", auth=BASIC).json()
    }
    assert states == {A: ("returned", True, "第二项数据请<核实>"), B: ("uploaded", True, ""), C: ("approved", True, "")}
    page = site.client.get(f"/a/{site.tokens[A]}").text
    assert "管理部门已退回" in page and "第二项数据请&lt;核实&gt;" in page
    log_in(site.client)
    board = site.client.get(f"/office/rounds/{site.round_id}").text
    for text in ("退回 <b>1</b>", "通过 <b>1</b>", "已上传未提交 <b>1</b>", "逾期 <b>3</b>"):
        assert text in board
    live = site.client.get(f"/office/rounds/{site.round_id}?part=counts", headers={"hx-request": "true"}).text
    assert "退回 <b>1</b>" in live and "<form" not in live and "<html" not in live  # refreshing never wipes a comment being typed
    only = site.client.get(f"/office/rounds/{site.round_id}?state=approved").text
    assert C in only and f">{A}<" not in only


def test_return_needs_a_comment_and_approval_locks_the_agencys_uploads(site, tmp_path):
    submit_clean(site, A, tmp_path)
    r = site.client.post(
        f"/api/rounds/{site.round_id}/reviews", json={"agency": A, "decision": "return", "comment": " "}, auth=BASIC
    )
    assert r.status_code == 422 and "反馈意见" in r.json()["error"]
    r = site.client.post(f"/api/rounds/{site.round_id}/reviews", json={"agency": B, "decision": "approve"}, auth=BASIC)
    assert r.status_code == 409 and "尚未提交" in r.json()["error"]
    site.client.post(f"/api/rounds/{site.round_id}/reviews", json={"agency": A, "decision": "approve"}, auth=BASIC)
    r = site.upload(A, return_bytes(tmp_path, A))
    assert r.status_code == 409 and "已通过审核" in r.json()["error"]
    report = site.client.get(f"/a/{site.tokens[A]}/report.docx")
    assert report.status_code == 200 and report.content[:2] == b"PK"
    import docx

    (tmp_path / "r.docx").write_bytes(report.content)
    assert A in "\n".join(p.text for p in docx.Document(tmp_path / "r.docx").paragraphs)
    if shutil.which("soffice"):
        assert "下载 PDF" in site.client.get(f"/a/{site.tokens[A]}").text
        pdf = site.client.get(f"/a/{site.tokens[A]}/report.pdf")
        assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"


def test_bulk_review_from_the_board(site, tmp_path):
    submit_clean(site, A, tmp_path)
    submit_clean(site, B, tmp_path)
    log_in(site.client)
    token = csrf_of(site.client.get(f"/office/rounds/{site.round_id}").text)
    ids = [site.agency_ids[A], site.agency_ids[B], site.agency_ids[C]]  # C has not submitted: it is skipped
    r = site.client.post(
        f"/office/rounds/{site.round_id}/reviews",
        data={"agency": ids, "decision": "approve", "csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "1%20" in r.headers["location"]
    states = {x["agency"]: x["state"] for x in site.client.get(f"/api/rounds/{site.round_id}/status", auth=BASIC).json()}
    assert states == {A: "approved", B: "approved", C: "not_returned"}


def test_chase_list_csv_and_printable_page(site, tmp_path):
    submit_clean(site, A, tmp_path)
    log_in(site.client)
    r = site.client.get(f"/office/rounds/{site.round_id}/chase.csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["机关名称", "联系人", "联系电话", "状态", "逾期", "最近上传"]
    assert [(x[0], x[1], x[2], x[3], x[4]) for x in rows[1:]] == [
        (B, "联系人1", "0954-1", "未报送", "是"),
        (C, "联系人2", "0954-2", "未报送", "是"),
    ]
    page = site.client.get(f"/office/rounds/{site.round_id}/chase").text
    assert "催报名单" in page and "0954-2" in page and A not in page


def test_uploads_list_and_the_diff_of_two_uploads(site, tmp_path):
    first = site.upload(A, return_bytes(tmp_path, A, values={"t2_1.rules.issued": 3, "t2_1.rules.repealed": -1})).json()
    second = site.upload(A, return_bytes(tmp_path, A, values={"t2_1.rules.issued": 7})).json()
    log_in(site.client)
    base = f"/office/rounds/{site.round_id}/agencies/{site.agency_ids[A]}"
    page = site.client.get(f"{base}?a={first['upload_id']}&b={second['upload_id']}").text
    assert first["sha256"] in page and second["sha256"] in page
    assert "<td>二、主动公开!B5「规章 / 本年制发件数」</td><td>3</td><td>7</td>" in page  # where the clerk typed it
    listed = site.client.get(f"/api/rounds/{site.round_id}/agencies/{site.agency_ids[A]}/uploads", auth=BASIC).json()
    assert [u["upload_id"] for u in listed] == [second["upload_id"], first["upload_id"]]
    assert listed[1]["problems"] == first["problems"]
    original = site.client.get(f"{base}/uploads/{first['upload_id']}/file")
    assert hashlib.sha256(original.content).hexdigest() == first["sha256"] and len(original.content) == listed[1]["size"]


def test_collection_of_the_approved_returns(site, tmp_path):
    upload = site.upload(A, return_bytes(tmp_path, A, values={"t2_1.rules.issued": 4})).json()
    site.client.post(f"/a/{site.tokens[A]}/submit", json={"upload_id": upload["upload_id"], "explanations": {}})
    site.client.post(f"/api/rounds/{site.round_id}/reviews", json={"agency": A, "decision": "approve"}, auth=BASIC)
    submit_clean(site, B, tmp_path)  # submitted, not approved: not in the collection
    r = site.client.get(f"/api/rounds/{site.round_id}/collection", auth=BASIC)
    assert r.status_code == 202
    for _ in range(600):
        r = site.client.get(f"/api/rounds/{site.round_id}/collection", auth=BASIC)
        if r.status_code != 202:
            break
        time.sleep(0.2)
    assert r.status_code == 200, r.text
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert sorted(z.namelist()) == ["collection.docx", "collection.xlsx", "summary.docx"]
    (tmp_path / "c.xlsx").write_bytes(z.read("collection.xlsx"))
    wb = openpyxl.load_workbook(tmp_path / "c.xlsx")
    assert "汇总" in wb.sheetnames
    cells = [c.value for row in wb["汇总"].iter_rows() for c in row]
    assert 4 in cells
    status = [c.value for row in wb["状态"].iter_rows() for c in row if isinstance(c.value, str)]
    assert any(A in v for v in status) and not any(B in v for v in status)


def test_a_round_is_created_from_the_office_page_and_the_api(site):
    log_in(site.client)
    token = csrf_of(site.client.get("/office/rounds/new").text)
    form = {
        "csrf": token,
        "year": "2025",
        "form_id": "gov-info-2021",
        "deadline": "2026-01-31",
        "agencies": "丁局,赵六,0954-9\n戊局\n",
    }
    page = site.client.post("/office/rounds", data=form).text
    links = re.findall(r'<code class="link">(http://testserver/a/[^<]+)</code>', page)
    assert len(links) == 2 and "丁局" in page
    assert (
        site.client.get(links[0].removeprefix("http://testserver"), headers={"accept": "application/json"}).json()["year"] == 2025
    )
    r = site.client.post(
        "/api/rounds", json={"year": 2025, "agencies": [{"name": "己局", "contact": "钱七", "phone": "1"}]}, auth=BASIC
    )
    assert r.status_code == 201 and r.json()["links"][0]["agency"] == "己局"
    status = site.client.get(f"/api/rounds/{r.json()['round_id']}/status", auth=BASIC).json()
    assert [x["agency"] for x in status] == ["己局"]
    bad = site.client.post("/api/rounds", json={"year": 2025, "agencies": ["庚局", "庚局"]}, auth=BASIC)
    assert bad.status_code == 422 and "重复" in bad.json()["error"]
    assert site.client.post("/api/rounds", json={"year": "明年", "agencies": ["辛局"]}, auth=BASIC).status_code == 422
