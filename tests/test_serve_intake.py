"""The agency's side of the service: uploads checked at once, stored durably by sha256, submitted with 说明."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import openpyxl
import pytest
from serve_support import DATABASES, ERROR_VALUES, WARNING_KEY, WARNING_VALUES, fresh_database, log_in, open_site, return_bytes
from sqlalchemy import select, text

from toolkit.serve.tables import blobs, events, uploads

A, B = "甲局", "乙局"


@pytest.fixture(params=DATABASES)
def site(tmp_path, request):
    s = open_site(tmp_path, [A, B], db=fresh_database(request.param))
    with s.client:
        yield s


def _check_json(tmp_path, path):
    out = subprocess.run(
        [sys.executable, "-m", "toolkit", "check", "--json", str(path)], capture_output=True, text=True, check=False
    )
    return json.loads(out.stdout)["files"][0]["problems"]


def test_upload_answer_has_the_fixed_shape_and_the_problems_of_check_json(site, tmp_path):
    data = return_bytes(tmp_path, A, values=ERROR_VALUES, name="bad.xlsx")
    r = site.upload(A, data)
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"upload_id", "sha256", "status", "problems"}
    assert body["status"] == "rejected" and body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["problems"] == _check_json(tmp_path, tmp_path / "bad.xlsx")
    assert any(p["code"] == "negative" and p["location"] == "二、主动公开!B5" for p in body["problems"])


def test_the_file_is_stored_unchanged_under_its_sha256_and_an_identical_upload_is_logged_not_stored_twice(site, tmp_path):
    data = return_bytes(tmp_path, A)
    first, second = site.upload(A, data).json(), site.upload(A, data).json()
    assert first["status"] == "accepted" and second["sha256"] == first["sha256"]
    assert second["duplicate_of"] == first["upload_id"]
    stored = site.data / "files" / first["sha256"][:2] / f"{first['sha256']}.xlsx"
    assert stored.read_bytes() == data
    assert len(list((site.data / "files").rglob("*.xlsx"))) == 1
    assert not list((site.data / "files" / ".incoming").iterdir())
    engine = site.engine()
    with engine.connect() as conn:
        assert conn.execute(select(blobs.c.sha256)).scalars().all() == [first["sha256"]]
        assert len(conn.execute(select(uploads.c.id)).all()) == 2
        kinds = conn.execute(select(events.c.kind).order_by(events.c.id)).scalars().all()
        assert kinds[-2:] == ["upload", "upload_duplicate"]
        if site.db is None:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_another_agencys_or_years_return_is_refused_with_a_clear_message(site, tmp_path):
    r = site.upload(A, return_bytes(tmp_path, B))
    assert r.status_code == 422
    assert r.json()["error"] == f"此文件是“{B}”的填报表格，不是本机关（{A}）的；请上传本机关的模板填写的文件"
    r = site.upload(A, return_bytes(tmp_path, A, year=2023))
    assert r.status_code == 422 and "2023 年度" in r.json()["error"]
    refused_id = r.json()["upload_id"]
    s = site.client.post(f"/a/{site.tokens[A]}/submit", json={"upload_id": refused_id, "explanations": {}})
    assert s.status_code == 409


def test_hostile_files_get_the_check_guards_message(site, tmp_path):
    r = site.upload(A, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, filename="旧.xls")
    assert r.status_code == 201 and r.json()["status"] == "unreadable"
    assert r.json()["problems"][0]["code"] == "unreadable"
    r = site.upload(A, b"PK\x03\x04 not really a zip")
    assert r.json()["status"] == "unreadable" and "无法读取" in r.json()["problems"][0]["message"]


def test_an_upload_past_the_limit_is_refused_while_streaming_and_nothing_is_kept(tmp_path):
    site = open_site(tmp_path, [A], max_upload_mb=0.05)
    with site.client:
        big = b"x" * 200_000
        r = site.upload(A, big)
        assert r.status_code == 413 and "文件太大" in r.json()["error"]

        def chunks():  # no Content-Length: the limit holds while the body streams
            boundary = b"--b0undary"
            yield boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="a.xlsx"\r\n\r\n'
            for _ in range(100):
                yield b"y" * 10_000
            yield b"\r\n" + boundary + b"--\r\n"

        r = site.client.post(
            f"/a/{site.tokens[A]}/uploads", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b0undary"}
        )
        assert r.status_code == 413
    assert not list((site.data / "files").rglob("*.xlsx")) and not list((site.data / "files" / ".incoming").iterdir())


def test_submit_blocks_errors_and_needs_a_note_for_each_warning(site, tmp_path):
    bad = site.upload(A, return_bytes(tmp_path, A, values=ERROR_VALUES)).json()
    r = site.client.post(f"/a/{site.tokens[A]}/submit", json={"upload_id": bad["upload_id"], "explanations": {}})
    assert r.status_code == 409 and "有错误" in r.json()["error"]
    warned = site.upload(A, return_bytes(tmp_path, A, values=WARNING_VALUES)).json()
    assert warned["status"] == "accepted" and [p["code"] for p in warned["problems"]] == ["too_many_decimals"]
    r = site.client.post(f"/a/{site.tokens[A]}/submit", json={"upload_id": warned["upload_id"], "explanations": {}})
    assert r.status_code == 422 and "说明" in r.json()["error"]
    key = WARNING_KEY
    r = site.client.post(
        f"/a/{site.tokens[A]}/submit", json={"upload_id": warned["upload_id"], "explanations": {key: "收费实为 1.1234567 万元"}}
    )
    assert r.status_code == 201
    page = site.client.get(f"/a/{site.tokens[A]}", headers={"accept": "application/json"}).json()
    assert page["state"] == "submitted"
    log_in(site.client)
    office = site.client.get(f"/office/rounds/{site.round_id}/agencies/{site.agency_ids[A]}").text
    assert "<td>收费实为 1.1234567 万元</td>" in office and "超过 6 位小数" in office


def test_annotated_copy_marks_the_problem_cell(site, tmp_path):
    bad = site.upload(A, return_bytes(tmp_path, A, values=ERROR_VALUES)).json()
    r = site.client.get(f"/a/{site.tokens[A]}/uploads/{bad['upload_id']}/annotated")
    assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["content-disposition"]
    (tmp_path / "ann.xlsx").write_bytes(r.content)
    cell = openpyxl.load_workbook(tmp_path / "ann.xlsx")["二、主动公开"]["B5"]
    assert cell.comment is not None and "负数" in cell.comment.text


def test_template_download_is_prefilled_for_the_links_agency(site, tmp_path):
    r = site.client.get(f"/a/{site.tokens[B]}/template")
    assert r.status_code == 200
    (tmp_path / "t.xlsx").write_bytes(r.content)
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert any(B in str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value)


def test_htmx_gets_errors_as_a_notice_where_the_form_shows_them(tmp_path):
    site = open_site(tmp_path, [A], max_upload_mb=0.05)
    with site.client:
        r = site.upload(A, b"x" * 200_000, headers={"hx-request": "true"})
        assert r.status_code == 200 and r.headers["hx-retarget"] == "#upload-error" and r.headers["x-toolkit-status"] == "413"
        assert '<div class="notice error" role="alert"><p>文件太大' in r.text
        warned = site.upload(A, return_bytes(tmp_path, A, values=WARNING_VALUES)).json()
        r = site.client.post(
            f"/a/{site.tokens[A]}/submit", data={"upload_id": warned["upload_id"]}, headers={"hx-request": "true"}
        )
        assert r.headers["hx-retarget"] == "#submit-error" and "需要填写说明" in r.text
        r = site.client.post(
            f"/a/{site.tokens[A]}/submit",
            data={"upload_id": warned["upload_id"], f"explain:{WARNING_KEY}": "核对无误"},
            headers={"hx-request": "true"},
        )
        assert r.status_code == 200 and "<html" not in r.text and "已提交待审核" in r.text
