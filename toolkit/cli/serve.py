"""`toolkit serve`, `toolkit round create`, `toolkit user add`: the intake web service and its set-up."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from toolkit.cli.app import agencies_option, form_option, handled, main, resolve_form, year_option
from toolkit.core.digits import date_of
from toolkit.core.errors import UserError, os_reason
from toolkit.core.fileio import atomic_write_bytes
from toolkit.pipeline import read_agencies

DATA_HELP = "数据文件夹（保存数据库和收到的全部文件）"
DB_HELP = "使用 PostgreSQL 数据库，如 postgresql://用户:密码@主机/库名（默认在数据文件夹中使用 SQLite）"


def data_option(func):
    """`--data DIR`: the service's folder (database and every file received), the same for all three commands."""
    kind = click.Path(path_type=Path, file_okay=False)
    return click.option("--data", type=kind, required=True, metavar="数据文件夹", help=DATA_HELP)(func)


def db_option(func):
    return click.option("--db", metavar="数据库地址", help=DB_HELP)(func)


def _engine(data: Path, db: str | None):
    from toolkit.serve.db import open_database

    try:
        return open_database(data, db)  # makes the folder
    except OSError as e:
        raise UserError(f"{data}：无法使用数据文件夹（{os_reason(e)}）") from None
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
        raise UserError(f"{host}:{port}：无法监听（端口可能已被占用，可用 --port 换一个；{os_reason(e)}）") from None


@main.command("serve")
@data_option
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, metavar="地址", help="监听地址（0.0.0.0 为本机全部网卡）")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, metavar="端口", help="端口")
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
    """启动填报与审核网站：各机关上传报表，管理部门审核、催报、汇总。

    各机关通过专属链接上传报表，立即看到检查结果；管理部门登录后审核、退回、催报、汇总。

    \b
    示例：
      toolkit serve --data 数据
      toolkit serve --data 数据 --host 0.0.0.0 --port 8080 --max-upload 50
      toolkit serve --data 数据 --db postgresql://toolkit@localhost/toolkit \\
        --secure-cookies

    先用 toolkit round create 创建收集轮次，用 toolkit user add 添加管理部门账号。
    """
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


def _deadline(ctx, param, value: str | None) -> str | None:
    if value is None:
        return None
    day = date_of(value)
    if day is None:
        raise click.BadParameter(f"“{value[:40]}”不是有效的日期（应为 YYYY-MM-DD，如 2025-01-31）")
    return day.isoformat()


@round_group.command("create")
@data_option
@db_option
@form_option("表式标识：gov-info-2021（现行格式，默认）或 gov-info-2019")
@year_option("报告年度，如 2024", required=True)
@agencies_option("机关名单：每个机关一个填报链接", required=True)
@click.option(
    "--deadline",
    callback=_deadline,
    metavar="日期",
    help="截止日期，如 2025-01-31（北京时间当日结束；逾期仍可报送，会标记逾期）",
)
@click.option(
    "--links",
    "links_out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    metavar="链接.csv",
    help="写出各机关填报链接的 CSV 文件（机关名称、联系人、联系电话、填报链接）",
)
@click.option(
    "--base-url",
    default="http://127.0.0.1:8000",
    show_default=True,
    metavar="网址",
    help="链接的开头（网站对外的地址）",
)
@handled
def round_create(data, db, form_id, year, agencies, deadline, links_out, base_url) -> None:
    """创建收集轮次，为每个机关生成专属填报链接。

    链接只在此时写出一次（数据库只保存其哈希）；最后一行输出轮次编号。

    \b
    示例：
      toolkit round create --data 数据 --year 2024 --agencies 名单.csv \\
        --links 链接.csv
      toolkit round create --data 数据 --year 2024 --agencies 名单.csv \\
        --links 链接.csv --deadline 2025-01-31 \\
        --base-url https://gk.example.gov.cn
      toolkit round create --data 数据 --form gov-info-2019 --year 2020 \\
        --agencies 名单.txt --links 链接.csv
    """
    from toolkit.serve.checks import FORM_IDS  # the forms the service checks and renders
    from toolkit.serve.csvfile import csv_bytes
    from toolkit.serve.records import create_round

    form = resolve_form(form_id)
    if form.id not in FORM_IDS:
        raise UserError(f"表式“{form_id}”：填报网站只支持内置表式 {'、'.join(FORM_IDS)}")
    people = [(a.name, a.contact, a.phone) for a in read_agencies(agencies)]
    engine = _engine(data, db)  # the data folder exists from here on: the links may go into it
    if not links_out.parent.is_dir():
        raise UserError(f"{links_out}：输出文件夹不存在")
    with engine.begin() as conn:
        round_id, made = create_round(conn, form.id, year, deadline, people, "cli")
        rows = [[name, contact, phone, f"{base_url.rstrip('/')}/a/{token}"] for _, name, contact, phone, token in made]
        links = csv_bytes(["机关名称", "联系人", "联系电话", "填报链接"], rows)
        atomic_write_bytes(links_out, links)  # written before the round is committed
    click.echo(f"已创建 {year} 年度收集轮次（表式 {form.id}，{len(made)} 个机关），填报链接已写入：{links_out}")
    click.echo(round_id)


@main.group("user")
def user_group() -> None:
    """管理部门账号。"""


@user_group.command("add")
@data_option
@db_option
@click.argument("name", metavar="账号名")
@click.option("--password-stdin", is_flag=True, required=True, help="从标准输入读取密码（一行）")
@handled
def user_add(data, db, name, password_stdin) -> None:
    """添加管理部门账号（密码以 argon2 哈希保存）。

    \b
    示例：
      toolkit user add --data 数据 王科长 --password-stdin < 密码.txt
      toolkit user add --data 数据 --db postgresql://toolkit@localhost/toolkit \\
        王科长 --password-stdin
    """
    from toolkit.serve.accounts import add_user

    password = sys.stdin.readline().rstrip("\r\n")
    with _engine(data, db).begin() as conn:
        add_user(conn, name, password)
    click.echo(f"已添加账号：{name}")
