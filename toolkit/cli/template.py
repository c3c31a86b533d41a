"""`toolkit template`: one agency's workbook, or a whole mailing."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.cli.app import handled, jobs_option, main, make_out_dir, progress, resolve_form
from toolkit.core.errors import UserError
from toolkit.pipeline import check_agency, check_year, read_agency_list, write_mailing, write_template


@main.command("template")
@click.option("--form", "form_id", help="表式标识（默认为现行格式 gov-info-2021）或表式 YAML 文件路径")
@click.option("--agency", help="机关名称（生成单个模板）")
@click.option("--year", required=True, help="报告年度，如 2024")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="输出的 .xlsx 文件")
@click.option("--agencies", type=click.Path(path_type=Path), help="机关名单：每行一个机关的文本文件，或含“机关名称”列的 CSV")
@click.option("--out-dir", type=click.Path(path_type=Path), help="批量生成时的输出文件夹")
@click.option("--password", help="工作表保护密码（默认取表式定义中的密码）")
@jobs_option
@click.option("-q", "--quiet", is_flag=True, help="不显示进度条")
@handled
def template_command(form_id, agency, year, output, agencies, out_dir, password, jobs, quiet) -> None:
    """生成加锁的官方填报模板（.xlsx）。"""
    form, year = resolve_form(form_id), check_year(year)
    if agencies is not None:
        if agency is not None or output is not None:
            raise UserError("--agencies 与 --agency/-o 不能同时使用；批量生成请用 --out-dir")
        if out_dir is None:
            raise UserError("批量生成需要 --out-dir 指定输出文件夹")
        names = read_agency_list(agencies)
        written = write_mailing(form, year, names, make_out_dir(out_dir), password, jobs)
        for _ in progress(written, len(names), "生成模板", quiet):
            pass
        click.echo(f"已生成 {len(names)} 份模板（{form.id}，{year}年度）：{out_dir}")
        return
    if agency is None:
        raise UserError("请用 --agency 给出机关名称，或用 --agencies 给出机关名单")
    name = check_agency(agency)
    path = write_template(form, name, year, output or Path.cwd(), password)
    click.echo(f"已生成：{path}")
