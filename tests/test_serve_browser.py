"""The service in a real browser (Playwright driving Debian's chromium): the agency's and the office's journeys.

Screenshots of every page visited go to docs/screenshots/ (shown in README)."""

from __future__ import annotations

import base64
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import openpyxl
import pytest
from serve_support import ERROR_VALUES, PASSWORD, WARNING_VALUES, make_round, return_bytes

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
A, B = "固原市原州区教育局", "固原市原州区司法局"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (apt-get install chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    data = tmp_path / "data"
    round_id, tokens, ids = make_round(data, [A, B], deadline="2099-01-31")
    port = _free_port()
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen([sys.executable, "-m", "toolkit", "serve", "--data", str(data), "--port", str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield base, round_id, tokens, ids
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--lang=zh-CN"])
        yield b
        b.close()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _drop(page, data: bytes, name: str) -> None:
    """Drag and drop a file onto the upload zone, as a clerk does from the desktop."""
    transfer = page.evaluate_handle(
        """([b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name));
            return dt;
        }""",
        [base64.b64encode(data).decode(), name],
    )
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})


def test_agency_uploads_a_mistake_fixes_it_explains_a_warning_and_submits(server, browser, tmp_path):
    base, _, tokens, _ = server
    errors = []
    page = browser.new_page(accept_downloads=True, locale="zh-CN")
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/a/{tokens[A]}")
    assert page.locator("h1").inner_text() == A
    _shot(page, "1-agency-start")

    (tmp_path / "bad.xlsx").write_bytes(return_bytes(tmp_path, A, values=ERROR_VALUES, name="made-bad.xlsx"))
    page.set_input_files("input[type=file]", str(tmp_path / "bad.xlsx"))
    page.click("text=上传并检查")
    page.wait_for_selector("table.problems")
    problem = page.locator("table.problems tr.error").first.inner_text()
    assert "二、主动公开!B5" in problem and "不能为负数" in problem
    _shot(page, "2-agency-problems")

    with page.expect_download() as info:
        page.click("text=下载批注副本")
    info.value.save_as(tmp_path / "annotated.xlsx")
    cell = openpyxl.load_workbook(tmp_path / "annotated.xlsx")["二、主动公开"]["B5"]
    assert "负数" in cell.comment.text

    _drop(page, return_bytes(tmp_path, A, values=WARNING_VALUES, name="fixed.xlsx"), "fixed.xlsx")
    page.wait_for_selector("textarea[name^=explain]")
    assert "检查通过" in page.inner_text("#agency-main")
    page.fill("textarea[name^=explain]", "收费金额按财政票据核对，确为 1.1234567 万元")
    _shot(page, "3-agency-explain-warning")
    page.click("text=提交给管理部门")
    page.wait_for_selector("text=等待管理部门审核")
    assert page.locator(".state").first.inner_text() == "已提交待审核"
    _shot(page, "4-agency-submitted")
    assert errors == []  # no CSP violation, no script error


def _submit_by_api(base: str, token: str, data: bytes) -> None:
    upload = httpx.post(f"{base}/a/{token}/uploads", files={"file": ("r.xlsx", data)}).json()
    r = httpx.post(f"{base}/a/{token}/submit", json={"upload_id": upload["upload_id"], "explanations": {}})
    assert r.status_code == 201


def test_office_returns_one_approves_another_and_downloads_the_collection(server, browser, tmp_path):
    base, _, tokens, _ = server
    _submit_by_api(base, tokens[A], return_bytes(tmp_path, A, values={"t2_1.rules.issued": 6}, name="a.xlsx"))
    earlier = return_bytes(tmp_path, B, values={"t2_1.rules.issued": 17}, name="b0.xlsx")
    assert httpx.post(f"{base}/a/{tokens[B]}/uploads", files={"file": ("b0.xlsx", earlier)}).status_code == 201
    _submit_by_api(base, tokens[B], return_bytes(tmp_path, B, values={"t2_1.rules.issued": 5}, name="b.xlsx"))
    page = browser.new_page(accept_downloads=True, locale="zh-CN")
    page.goto(f"{base}/office")
    page.fill("input[name=name]", "科员")
    page.fill("input[name=password]", PASSWORD)
    _shot(page, "5-office-login")
    page.click("button:has-text('登录')")
    page.click("text=进入看板")
    assert "已提交待审核 2" in " ".join(page.locator(".counts").inner_text().split())
    _shot(page, "6-office-board")

    page.click(f"text={B}")
    assert "sha256" not in page.inner_text("h1")
    page.locator("input[name=a]").nth(1).check()  # the older upload (listed second) against the newer one
    page.locator("input[name=b]").nth(0).check()
    page.click("text=比较所选的两次上传")
    assert page.locator("table.diff tbody tr").first.inner_text().split("\t") == [
        "二、主动公开!B5「规章 / 本年制发件数」",
        "17",
        "5",
    ]
    _shot(page, "6b-office-agency")
    page.fill("textarea[name=comment]", "主动公开部分的数字与去年差异较大，请核实后重新提交")
    page.click("button:has-text('退回')")
    assert "状态 退回" in page.locator("p.meta").nth(1).inner_text()
    page.click("text=返回看板")
    assert "退回 1" in " ".join(page.locator(".counts").inner_text().split())

    page.check(f"tr:has-text('{A}') input.pick-agency")
    page.click("fieldset.bulk button:has-text('通过')")
    assert "通过 1" in " ".join(page.locator(".counts").inner_text().split())
    _shot(page, "7-office-board-reviewed")

    page.click("text=生成汇总")
    page.wait_for_selector("text=下载汇总", timeout=120_000)
    with page.expect_download() as info:
        page.click("text=下载汇总")
    info.value.save_as(tmp_path / "c.zip")
    _shot(page, "8-office-collection")
    z = zipfile.ZipFile(tmp_path / "c.zip")
    wb = openpyxl.load_workbook(io.BytesIO(z.read("collection.xlsx")))
    assert 6 in [c.value for row in wb["汇总"].iter_rows() for c in row]

    agency_page = browser.new_page(locale="zh-CN")
    agency_page.goto(f"{base}/a/{tokens[B]}")
    assert "主动公开部分的数字与去年差异较大" in agency_page.locator(".notice.returned").inner_text()
    _shot(agency_page, "9-agency-returned")
