"""`toolkit import`: published reports (web pages, .docx, PDF) read back into returns, and a region's audit."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from toolkit.cli.app import (
    EXIT_CANNOT_RUN,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_PROBLEMS,
    bounded_jobs,
    form_option,
    handled,
    jobs_option,
    json_option,
    main,
    make_out_dir,
    progress,
    quiet_option,
    resolve_form,
    year_option,
)
from toolkit.cli.printing import echo_file, echo_json, result_json
from toolkit.core.batch import run_batch
from toolkit.core.errors import UserError
from toolkit.pipeline import Imported, ImportOptions, check_agency, find_reports, import_report, write_audit, write_return


def summary(imports: list[Imported]) -> dict[str, int]:
    counts = {"files": len(imports), "imported": 0, "with_errors": 0, "refused": 0, "unreadable": 0}
    for im in imports:
        counts[im.status] += 1
        counts["with_errors"] += im.status == "imported" and bool(im.ret.errors)
    return counts


def exit_code(imports: list[Imported]) -> int:
    """0 all imported without errors; 1 a report refused or with errors (the input's problems); 2 a file
    that is no report or cannot be read; 3 a bug of ours stopped a file."""
    if any(im.ret.failed for im in imports):
        return EXIT_INTERNAL
    if any(im.status == "unreadable" for im in imports):
        return EXIT_CANNOT_RUN
    return EXIT_PROBLEMS if any(im.status == "refused" or im.ret.errors for im in imports) else EXIT_OK


def _verdict(im: Imported) -> str:
    if im.status == "unreadable":
        return "无法读取"
    if im.status == "refused":
        return "未导入"
    r = im.ret
    counts = f"读取 {len(im.figures)}/{im.expected} 个数字，{len(r.errors)} 个错误，{len(r.warnings)} 个警告"
    return f"已导入（{counts}）→ {im.output}"


def _echo(im: Imported) -> None:
    r = im.ret
    echo_file(r.path, (r.agency, f"{r.year}年度" if r.year else "", r.form_id), _verdict(im), r.problems)


def _checked_options(form_id: str | None, year: int | None, agency: str | None) -> ImportOptions:
    """The options as the importer takes them (the year is checked by its option's type)."""
    return ImportOptions(
        form=resolve_form(form_id) if form_id else None,
        year=year,
        agency=check_agency(agency) if agency is not None else None,
    )


@main.command("import")
@click.argument(
    "paths", nargs=-1, required=True, metavar="文件或文件夹...", type=click.Path(path_type=Path, readable=False)
)  # the source loader says why a file cannot be read
@click.option(
    "--out-dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    metavar="文件夹",
    help="导入的报表（.xlsx）写到此文件夹",
)
@form_option("按此表式导入：表式标识或表式 YAML 文件（默认按报告的表格自动识别）")
@year_option("报告的年度，如 2023（默认从标题读取）")
@click.option("--agency", metavar="机关名称", help="机关名称（默认从标题读取）")
@click.option(
    "--audit",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="文件",
    help="另写一份审查结果（.xlsx）：每份报告一行，另有全部问题",
)
@jobs_option
@json_option
@quiet_option
@handled
def import_command(paths, out_dir, form_id, year, agency, audit, jobs, as_json, quiet) -> None:
    """导入已发布的年度报告（网页、Word 文档 .docx、PDF；文件或文件夹）。

    每份报告生成一份报表（.xlsx），可用 check、report、merge 处理。每个数字都记下它在报告中的出处；印出的合计与按各项算出的不符、标签不能确定对应哪一项的，都逐条列为问题。

    退出码：0 全部导入且无错误；1 有报告未导入或有错误；2 有文件无法读取。

    \b
    示例：
      toolkit import 网页 --out-dir 导入             导入“网页”文件夹下的全部报告
      toolkit import 网页 --out-dir 导入 --audit 审查结果.xlsx
                                                     同时写出全区的审查结果
      toolkit import 报告.pdf --out-dir 导入 --json  输出 JSON：每个数字及其出处
      toolkit import 报告.docx --out-dir 导入 --year 2023 --agency 某区司法局
      toolkit import 报告.html --out-dir 导入 --form gov-info-2019
    """
    options = _checked_options(form_id, year, agency)
    files = find_reports(list(paths))
    if not files:
        raise UserError("没有找到网页、.docx 或 PDF 文件：" + "、".join(map(str, paths)))
    make_out_dir(out_dir)
    imports, taken = [], set()
    read = functools.partial(import_report, options=options)
    for im in progress(run_batch(read, files, bounded_jobs(jobs, len(files))), len(files), "导入", quiet or as_json):
        if im.status == "imported":
            write_return(im, out_dir, taken)
        imports.append(im)
    if audit is not None:
        if audit.parent != Path():
            make_out_dir(audit.parent)
        write_audit(imports, audit)
    if as_json:
        echo_json(result_json([im.to_dict() for im in imports], summary(imports)))
    else:
        for im in imports:
            _echo(im)
        s = summary(imports)
        click.echo(
            f"共 {s['files']} 份：导入 {s['imported']} 份（其中有错误 {s['with_errors']} 份），未导入 {s['refused']} 份，无法读取 {s['unreadable']} 份。"
            + (f"审查结果：{audit}" if audit is not None else "")
        )
    raise SystemExit(exit_code(imports))
