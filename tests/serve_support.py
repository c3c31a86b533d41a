"""Test helper for the web service: a data folder with a round, an office account, returns to upload."""

from __future__ import annotations

import io
import os
import re
import uuid
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from filling import complete_fields, complete_texts, fill_workbook

with warnings.catch_warnings():  # Starlette would rather have httpx2; httpx works the same for these tests
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from toolkit.forms.spec import get_form
from toolkit.serve.accounts import add_user
from toolkit.serve.app import create_app
from toolkit.serve.db import database_url, make_engine, open_database
from toolkit.serve.records import create_round

FORM = get_form("gov-info-2021")
PG = os.environ.get("TOOLKIT_TEST_PG", "")  # postgresql://user@127.0.0.1:port/postgres: the suite runs on PostgreSQL too
DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(not PG, reason="TOOLKIT_TEST_PG is not set (.ci/run starts PostgreSQL and sets it)"),
    ),
]


def fresh_database(kind: str) -> str | None:
    """None for SQLite in the data folder; for PostgreSQL a new empty database on the TOOLKIT_TEST_PG server."""
    if kind == "sqlite":
        return None
    import psycopg

    name = f"toolkit_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return PG.rsplit("/", 1)[0] + "/" + name


YEAR = 2024
PASSWORD = "correct horse 1"
HOSTILE_NAME = '<script>alert("x")</script>局'


@dataclass
class Site:
    data: Path
    round_id: int
    tokens: dict[str, str]  # agency name -> token
    agency_ids: dict[str, int]
    client: TestClient
    folder: Path = field(default=Path("."))
    db: str | None = None

    def engine(self):
        return make_engine(database_url(self.data, self.db))

    def upload(self, name: str, data: bytes, filename: str = "表.xlsx", **kw):
        return self.client.post(f"/a/{self.tokens[name]}/uploads", files={"file": (filename, data)}, **kw)

    def office(self) -> tuple[str, str]:
        return ("科员", PASSWORD)


def return_bytes(folder: Path, agency: str, year: int = YEAR, values: dict | None = None, name: str = "r.xlsx") -> bytes:
    """A filled return of `agency`: every input 0 (a clean return) unless `values` says otherwise."""
    path = folder / name
    base = {c.id: 0 for c in FORM.input_cells}
    fill_workbook(FORM, path, {**base, **(values or {})}, complete_texts(FORM), complete_fields(), agency=agency, year=year)
    return path.read_bytes()


WARNING_VALUES = {"t2_8.fees.amount": 1.1234567}  # more decimals than 万元 to the cent: a warning (too_many_decimals)
WARNING_KEY = "too_many_decimals@二、主动公开!B19"  # how the service keys the warning's explanation
ERROR_VALUES = {"t2_1.rules.issued": -3}  # a negative count: an error


def make_round(data: Path, names: list[str], deadline: str | None = None, db: str | None = None):
    engine = open_database(data, db)
    with engine.begin() as conn:
        round_id, made = create_round(
            conn, FORM.id, YEAR, deadline, [(n, f"联系人{i}", f"0954-{i}") for i, n in enumerate(names)], "test"
        )
        add_user(conn, "科员", PASSWORD)
    engine.dispose()
    return round_id, {m[1]: m[4] for m in made}, {m[1]: m[0] for m in made}


def xlsx_file(data: bytes):
    return io.BytesIO(data)


def open_site(tmp_path: Path, names: list[str], deadline: str | None = None, db: str | None = None, **app_options):
    data = tmp_path / "data"
    round_id, tokens, ids = make_round(data, names, deadline, db)
    client = TestClient(create_app(data, db, check_workers=1, **app_options), base_url="http://testserver")
    return Site(data, round_id, tokens, ids, client, tmp_path, db)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def log_in(client, name: str = "科员", password: str = PASSWORD):
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login", data={"name": name, "password": password, "csrf": token, "next": "/office"}, follow_redirects=False
    )


def submit_clean(site: Site, name: str, folder: Path) -> int:
    """Upload a clean return of `name` and submit it: the upload id."""
    upload = site.upload(name, return_bytes(folder, name, name=f"{name}.xlsx")).json()
    r = site.client.post(f"/a/{site.tokens[name]}/submit", json={"upload_id": upload["upload_id"], "explanations": {}})
    assert r.status_code == 201, r.text
    return upload["upload_id"]


PLACEHOLDER = "负载测试机关0000"


def seed_return(folder: Path) -> bytes:
    """One filled, clean return of PLACEHOLDER: many agencies' files are this one with their own names."""
    return return_bytes(folder, PLACEHOLDER, name="seed.xlsx")


def _spelled(name: str) -> list[bytes]:
    """The name as UTF-8 and as XML character references (how openpyxl writes inline strings)."""
    return [name.encode(), "".join(ch if ch.isascii() else f"&#{ord(ch)};" for ch in name).encode()]


def for_agency(seed: bytes, name: str) -> bytes:
    """The seed with another agency's name of the same length (负载测试机关0001…) in every part: a distinct file."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(seed)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            for old, new in zip(_spelled(PLACEHOLDER), _spelled(name), strict=True):
                data = data.replace(old, new)
            dst.writestr(info, data)
    return out.getvalue()
