"""`toolkit serve`, `toolkit round create`, `toolkit user add`: the intake web service and its set-up."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import click

from toolkit.cli.app import handled, main, resolve_form
from toolkit.core.errors import UserError
from toolkit.core.fileio import atomic_write_bytes
from toolkit.pipeline import check_year, read_agency_list

DATA_HELP = "数据文件夹（保存数据库和收到的全部文件）"
DB_HELP = "使用 PostgreSQL 数据库，如 postgresql://用户:密码@主机/库名（默认在数据文件夹中使用 SQLite）"


def _engine(data: Path, db: str | None):
    from toolkit.serve.db import open_database

    try:
        data.mkdir(parents=True, exist_ok=True)
        return open_database(data, db)
    except OSError as e:
        raise UserError(f"{data}：无法使用数据文件夹（{e.strerror or e}）") from None
    except Exception as e:  # a wrong URL, a database that is not there
        first = (str(getattr(e, "orig", None) or e).strip().splitlines() or [""])[0]
        raise UserError(f"无法打开数据库（{type(e).__name__}: {first[:200]}）") from None


def _port_free(host: str, port: int) -> None:
    """A clear message now rather than uvicorn's English log line when the port is taken."""
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as e:
        raise UserError(f"{host}:{port}：无法监听（{e.strerror or e}；端口可能已被占用，可用 --port 换一个）") from None


@main.command("serve")
@click.option("--data", type=click.Path(path_type=Path), required=True, help=DATA_HELP)
@click.option("--db", help=DB_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="端口")
@click.option(
    "--max-upload",
    type=click.FloatRange(0.01, 1024),
    default=20,
    show_default=True,
    metavar="MB",
    help="单个上传文件的大小上限（MB）",
)
@click.option("--secure-cookies", is_flag=True, help="登录 Cookie 只经 HTTPS 发送（部署在 HTTPS 反向代理之后时使用）")
@handled
def serve_command(data: Path, db: str | None, host: str, port: int, max_upload: float, secure_cookies: bool) -> None:
    """启动填报与审核网站：各机关通过专属链接上传报表并立即看到检查结果，管理部门登录后审核、催报、汇总。"""
    import uvicorn

    from toolkit.serve.app import create_app

    _engine(data, db).dispose()  # a clear message before uvicorn starts
    _port_free(host, port)
    click.echo(f"填报网站：http://{host}:{port}/ （管理部门登录：http://{host}:{port}/login；按 Ctrl-C 停止）")
    uvicorn.run(
        create_app(data, db, max_upload, secure_cookies=secure_cookies),
        host=host,
        port=port,
        log_level="warning",
        timeout_keep_alive=30,
    )


@main.group("round")
def round_group() -> None:
    """收集轮次（一个年度、一种表式、一份机关名单）。"""


def _people(path: Path) -> list[tuple[str, str, str]]:
    """(机关名称, 联系人, 联系电话) from the agency list; contacts come from a CSV's 联系人 and 联系电话 columns."""
    names = read_agency_list(path)
    contacts: dict[str, tuple[str, str]] = {}
    if path.suffix.lower() == ".csv":
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig") if raw[:3] == b"\xef\xbb\xbf" or _utf8(raw) else raw.decode("gb18030")
        for row in csv.DictReader(io.StringIO(text)):
            name = (row.get("机关名称") or "").strip()
            contacts.setdefault(name, ((row.get("联系人") or "").strip()[:100], (row.get("联系电话") or "").strip()[:50]))
    return [(n, *contacts.get(n, ("", ""))) for n in names]


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _deadline(ctx, param, value: str | None) -> str | None:
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"“{value}”不是有效的日期（应为 YYYY-MM-DD，如 2025-01-31）") from None


@round_group.command("create")
@click.option("--data", type=click.Path(path_type=Path), required=True, help=DATA_HELP)
@click.option("--db", help=DB_HELP)
@click.option("--form", "form_name", help="表式标识（默认为当前表式）")
@click.option("--year", required=True, help="报告年度，如 2024")
@click.option(
    "--agencies",
    type=click.Path(path_type=Path),
    required=True,
    help="机关名单：每行一个的文本文件，或含“机关名称”列的 CSV（可含“联系人”“联系电话”列）",
)
@click.option("--deadline", callback=_deadline, help="截止日期 YYYY-MM-DD（北京时间当日结束；逾期仍可报送，会标记逾期）")
@click.option("--links", "links_out", type=click.Path(path_type=Path), required=True, help="写出各机关填报链接的 CSV 文件")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True, help="链接的开头（网站对外的地址）")
@handled
def round_create(data, db, form_name, year, agencies, deadline, links_out, base_url) -> None:
    """创建收集轮次，为每个机关生成专属填报链接（链接只在此时写出一次；数据库只保存其哈希）。最后一行输出轮次编号。"""
    from toolkit.serve.records import create_round

    form = resolve_form(form_name)
    year = check_year(year)
    people = _people(agencies)
    engine = _engine(data, db)  # the data folder exists from here on: the links may go into it
    if not links_out.parent.is_dir():
        raise UserError(f"{links_out}：输出文件夹不存在")
    with engine.begin() as conn:
        round_id, made = create_round(conn, form.id, year, deadline, people, "cli")
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["机关名称", "联系人", "联系电话", "填报链接"])
        for _, name, contact, phone, token in made:
            writer.writerow([name, contact, phone, f"{base_url.rstrip('/')}/a/{token}"])
        atomic_write_bytes(links_out, ("\ufeff" + out.getvalue()).encode("utf-8"))  # written before the round is committed
    click.echo(f"已创建 {year} 年度收集轮次（表式 {form.id}，{len(made)} 个机关），填报链接已写入：{links_out}")
    click.echo(round_id)


@main.group("user")
def user_group() -> None:
    """管理部门账号。"""


@user_group.command("add")
@click.option("--data", type=click.Path(path_type=Path), required=True, help=DATA_HELP)
@click.option("--db", help=DB_HELP)
@click.argument("name")
@click.option("--password-stdin", is_flag=True, required=True, help="从标准输入读取密码（一行）")
@handled
def user_add(data, db, name, password_stdin) -> None:
    """添加管理部门账号（密码以 argon2 哈希保存）。"""
    from toolkit.serve.accounts import add_user

    password = sys.stdin.readline().rstrip("\r\n")
    with _engine(data, db).begin() as conn:
        add_user(conn, name, password)
    click.echo(f"已添加账号：{name}")
