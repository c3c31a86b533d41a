"""`toolkit template`: one agency's workbook, or a whole mailing."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.cli.app import (
    agencies_option,
    form_option,
    handled,
    jobs_option,
    main,
    make_out_dir,
    progress,
    quiet_option,
    resolve_form,
    year_option,
)
from toolkit.core.errors import UserError
from toolkit.pipeline import check_agency, read_agency_list, write_mailing, write_template


@main.command("template")
@form_option("表式：表式标识（默认为现行格式 gov-info-2021，可用的见 toolkit forms）或表式 YAML 文件")
@click.option("--agency", metavar="机关名称", help="机关名称（生成单个模板）")
@year_option("报告年度，如 2024", required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), metavar="文件", help="输出的 .xlsx 文件或文件夹（单个模板时）")
@agencies_option("机关名单：每个机关生成一份模板")
@click.option("--out-dir", type=click.Path(path_type=Path, file_okay=False), metavar="文件夹", help="批量生成时的输出文件夹")
@click.option("--password", metavar="密码", help="工作表保护密码（默认取表式定义中的密码）")
@jobs_option
@quiet_option
@handled
def template_command(form_id, agency, year, output, agencies, out_dir, password, jobs, quiet) -> None:
    """生成加锁的官方填报模板（.xlsx），单个或按名单批量生成。

    \b
    示例：
      toolkit template --agency 原州区司法局 --year 2024 -o 司法局.xlsx
      toolkit template --year 2024 --agencies 名单.csv --out-dir 模板
      toolkit template --form gov-info-2019 --year 2020 --agency 某局 -o 某局.xlsx
    """
    form = resolve_form(form_id)
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
