"""`toolkit round create` and `toolkit user add`: scriptable set-up of the service."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

from sqlalchemy import create_engine, select
from test_custom_form import SPEC

from toolkit.serve.tables import agencies, links, rounds, users


def _run(*args: str, stdin: str = ""):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args], input=stdin, capture_output=True, text=True, check=False, env=env
    )


def test_round_create_writes_one_link_per_agency_and_prints_the_round_id_last(tmp_path):
    (tmp_path / "名单.csv").write_text(
        "机关名称,联系人,联系电话\n甲局,张三,0954-1\n乙局,李四,0954-2\n甲局,张三,0954-1\n", encoding="utf-8"
    )
    data, out = tmp_path / "data", tmp_path / "links.csv"
    args = [
        "round",
        "create",
        "--data",
        str(data),
        "--year",
        "2024",
        "--agencies",
        str(tmp_path / "名单.csv"),
        "--deadline",
        "2025-01-31",
        "--links",
        str(out),
    ]
    r = _run(*args, "--base-url", "https://ti.example.gov.cn/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "1"
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["机关名称", "联系人", "联系电话", "填报链接"]
    assert [row[:3] for row in rows[1:]] == [["甲局", "张三", "0954-1"], ["乙局", "李四", "0954-2"]]
    tokens = [row[3].removeprefix("https://ti.example.gov.cn/a/") for row in rows[1:]]
    assert all(len(t) >= 40 for t in tokens) and len(set(tokens)) == 2
    engine = create_engine(f"sqlite:///{data / 'toolkit.db'}")
    with engine.connect() as conn:
        assert conn.execute(select(rounds.c.year, rounds.c.deadline, rounds.c.form_id)).one() == (
            2024,
            "2025-01-31",
            "gov-info-2021",
        )
        assert conn.execute(select(agencies.c.name).order_by(agencies.c.position)).scalars().all() == ["甲局", "乙局"]
        stored = conn.execute(select(links.c.token_hash)).scalars().all()
    assert not set(tokens) & set(stored)
    second = _run(*args)
    assert second.stdout.strip().splitlines()[-1] == "2"


def test_round_create_refuses_bad_input_in_one_chinese_line(tmp_path):
    (tmp_path / "a.txt").write_text("甲局\n", encoding="utf-8")
    base = [
        "round",
        "create",
        "--data",
        str(tmp_path / "d"),
        "--agencies",
        str(tmp_path / "a.txt"),
        "--links",
        str(tmp_path / "l.csv"),
    ]
    r = _run(*base, "--year", "2024", "--deadline", "2025-02-30")
    assert r.returncode == 2 and "不是有效的日期" in r.stderr and "Traceback" not in r.stderr
    r = _run(*base, "--year", "二〇二四年x")
    assert r.returncode == 2 and "年度" in r.stderr
    r = _run(*base[:4], "--agencies", str(tmp_path / "没有.txt"), "--links", str(tmp_path / "l.csv"), "--year", "2024")
    assert r.returncode == 2 and "没有.txt" in r.stderr
    assert not (tmp_path / "l.csv").exists()


def test_user_add_reads_the_password_from_stdin_and_stores_an_argon2_hash(tmp_path):
    data = tmp_path / "data"
    r = _run("user", "add", "--data", str(data), "王科长", "--password-stdin", stdin="a long secret 9\n")
    assert r.returncode == 0, r.stderr
    engine = create_engine(f"sqlite:///{data / 'toolkit.db'}")
    with engine.connect() as conn:
        name, hashed = conn.execute(select(users.c.name, users.c.password_hash)).one()
    assert name == "王科长" and hashed.startswith("$argon2id$") and "a long secret" not in hashed
    again = _run("user", "add", "--data", str(data), "王科长", "--password-stdin", stdin="a long secret 9\n")
    assert again.returncode == 2 and "已存在" in again.stderr
    short = _run("user", "add", "--data", str(data), "李", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "密码太短" in short.stderr


def test_serve_says_in_one_line_why_it_cannot_start(tmp_path):
    r = _run("serve", "--data", str(tmp_path / "d"), "--db", "postgresql://nobody@127.0.0.1:1/x")
    assert r.returncode == 2 and r.stderr.startswith("错误：无法打开数据库") and len(r.stderr.strip().splitlines()) == 1
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        r = _run("serve", "--data", str(tmp_path / "d"), "--port", str(port))
    assert r.returncode == 2 and "无法监听" in r.stderr and "Traceback" not in r.stderr


def test_round_create_reads_the_agency_list_as_every_command_does(tmp_path):
    """A GB18030 CSV from Excel (contacts kept) and a plain list (one name a line): read_agencies's rules."""
    (tmp_path / "名单.csv").write_bytes("机关名称,联系人,联系电话\n甲局,张三,0954-1\n# 注释\n乙局,,\n".encode("gb18030"))
    (tmp_path / "名单.txt").write_text("丙局\n\n丙局\n丁局\n", encoding="utf-8")
    for listed, expected in (
        ("名单.csv", [["甲局", "张三", "0954-1"], ["乙局", "", ""]]),
        ("名单.txt", [["丙局", "", ""], ["丁局", "", ""]]),
    ):
        out = tmp_path / f"{listed}.links.csv"
        args = ["--data", str(tmp_path / "d"), "--year", "2024", "--agencies", str(tmp_path / listed)]
        r = _run("round", "create", *args, "--links", str(out))
        assert r.returncode == 0, r.stderr
        rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
        assert [row[:3] for row in rows[1:]] == expected


def test_round_create_refuses_a_year_as_template_does_and_a_form_the_service_cannot_check(tmp_path):
    (tmp_path / "a.txt").write_text("甲局\n", encoding="utf-8")
    base = ["--data", str(tmp_path / "d"), "--agencies", str(tmp_path / "a.txt"), "--links", str(tmp_path / "l.csv")]
    year = _run("round", "create", *base, "--year", "20x0")
    template = _run("template", "--agency", "甲局", "--year", "20x0", "-o", str(tmp_path))
    assert year.returncode == template.returncode == 2
    assert "年度“20x0”不是有效的年份" in year.stderr
    assert year.stderr.split("（运行")[0] == template.stderr.split("（运行")[0]
    form = _run("round", "create", *base, "--year", "2024", "--form", "没有这个表式")
    assert form.returncode == 2 and "未知的表式" in form.stderr
    spec = tmp_path / "training.yaml"
    spec.write_text(SPEC, encoding="utf-8")  # a valid form of the user's own: the service checks built-in forms only
    own = _run("round", "create", *base, "--year", "2024", "--form", str(spec))
    assert own.returncode == 2 and "填报网站只支持内置表式" in own.stderr, own.stderr
    assert not (tmp_path / "d").exists() and not (tmp_path / "l.csv").exists()  # refused before anything was made


def test_the_links_csv_keeps_an_agency_named_like_a_formula_as_text(tmp_path):
    """The office opens links.csv in Excel: a name starting with “=” must not run as a formula there."""
    from click.testing import CliRunner

    from toolkit.cli import main

    names = tmp_path / "名单.txt"
    names.write_text('=HYPERLINK("http://x")局\n正常局\n', encoding="utf-8")
    links = tmp_path / "links.csv"
    result = CliRunner().invoke(
        main,
        ["round", "create", "--data", str(tmp_path / "d"), "--year", "2024", "--agencies", str(names), "--links", str(links)],
    )
    assert result.exit_code == 0, result.output
    rows = links.read_text(encoding="utf-8-sig").splitlines()
    assert rows[1].startswith("\"'=HYPERLINK(") and rows[2].startswith("正常局,")
