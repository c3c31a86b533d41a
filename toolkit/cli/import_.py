"""`toolkit import`: published reports (web pages, .docx, PDF) read back into returns, and a region's audit."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from toolkit.cli.app import EXIT_INTERNAL, bounded_jobs, handled, jobs_option, main, make_out_dir, progress, resolve_form
from toolkit.cli.printing import echo_file, echo_json, result_json
from toolkit.core.batch import run_batch
from toolkit.core.errors import UserError
from toolkit.pipeline import Imported, ImportOptions, find_reports, import_report, write_audit, write_return
from toolkit.workbook.mailing import check_agency, check_year


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
        return 2
    return 1 if any(im.status == "refused" or im.ret.errors for im in imports) else 0


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


def _checked_options(form: str | None, year: int | None, agency: str | None) -> ImportOptions:
    return ImportOptions(
        form=resolve_form(form) if form else None,
        year=check_year(year) if year is not None else None,
        agency=check_agency(agency) if agency is not None else None,
    )


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("--out-dir", required=True, type=click.Path(path_type=Path), help="导入的报表（.xlsx）写到此文件夹")
@click.option("--form", "form", help="按此表式导入（表式标识或 YAML 文件；默认按报告的表格自动识别）")
@click.option("--year", type=int, help="报告的年度（默认从标题读取）")
@click.option("--agency", help="机关名称（默认从标题读取）")
@click.option("--json", "as_json", is_flag=True, help="输出机器可读的 JSON：每份报告读到的每个数字及其出处")
@click.option("--audit", "audit", type=click.Path(path_type=Path), help="另写一份审查结果（.xlsx）：每份报告一行，另有全部问题")
@jobs_option
@click.option("-q", "--quiet", is_flag=True, help="不显示进度条")
@handled
def import_command(paths, out_dir, form, year, agency, as_json, audit, jobs, quiet) -> None:
    """导入已发布的年度报告（网页、Word 文档 .docx、PDF；文件或文件夹），每份生成一份报表，可用 check、report、merge 处理。"""
    options = _checked_options(form, year, agency)
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
