"""`toolkit merge`: many returns into collection.xlsx, collection.docx and summary.docx."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.cli.app import (
    bounded_jobs,
    handled,
    jobs_option,
    main,
    make_out_dir,
    progress,
    resolve_form,
    template_option,
    valid_name,
)
from toolkit.cli.printing import echo_file, echo_json, result_json
from toolkit.core.batch import process_pool
from toolkit.core.errors import UserError
from toolkit.core.fileio import find_workbooks, folder_lock
from toolkit.pipeline import FATES, Collection, merge_exit_code, merge_returns, read_agency_list, write_outputs


def _echo(c: Collection, outputs: list[Path]) -> None:
    for e in c.entries:
        if e.fate != "accepted" or e.problems:
            who = (e.ret.agency, f"{e.ret.year}年度" if e.ret.year else "")
            echo_file(e.path or "（无文件）", who, e.fate_label, e.problems)
    for note in c.notes:
        click.echo(note)
    n = c.counts()
    parts = "，".join(f"{label} {n[fate]} 份" for fate, label in FATES.items() if n[fate])
    click.echo(f"共 {len(c.entries)} 项：{parts}。计入汇总 {len(c.returns)} 个机关。")
    for path in outputs:
        click.echo(f"已生成：{path}")


def merge_json(c: Collection, outputs: list[Path]) -> dict:
    """`merge --json`: check's shape, each file with its fate; the summary counts fates."""
    summary = {"files": len(c.entries), **c.counts(), "included": len(c.returns)}
    extra = {"year": c.year, "form_id": c.form.id, "notes": c.notes, "outputs": [str(p) for p in outputs]}
    return result_json([e.to_dict() for e in c.entries], summary, **extra)


@main.command("merge")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False)
)  # the guards say why a file cannot be read
@click.option("-o", "--out-dir", "out", required=True, type=click.Path(path_type=Path), help="输出文件夹")
@click.option("--form", "form_id", help="汇总的表式（默认为现行格式 gov-info-2021）；其他表式的报表列为“表式不符”")
@click.option("--name", callback=valid_name, help="区域名称，用于汇总报告标题（默认“汇总”）")
@click.option("--previous", type=click.Path(path_type=Path), help="上年的 collection.xlsx，用于跨年度核对")
@click.option("--include-invalid", is_flag=True, help="有错误的报表也计入汇总（默认只汇总通过检查的报表）")
@jobs_option
@click.option("--agencies", type=click.Path(path_type=Path), help="机关名单：决定报告顺序，并列出未报送的机关")
@click.option("--year", type=click.IntRange(2000, 2100), help="汇总年度（默认取多数报表的年度）")
@template_option("Word 报告模板（默认用表式内置模板）")
@click.option("--json", "as_json", is_flag=True, help="输出机器可读的 JSON（与 check --json 结构相同，见 README）")
@click.option("-q", "--quiet", is_flag=True, help="不显示进度条")
@handled
def merge_command(paths, out, form_id, name, previous, include_invalid, jobs, agencies, year, template, as_json, quiet) -> None:
    """汇总多份填报表格：collection.xlsx（状态、汇总、明细、文字、图表）、collection.docx 和 summary.docx。"""
    form = resolve_form(form_id)
    order = read_agency_list(agencies) if agencies else None
    out = make_out_dir(out)
    files = [f for f in find_workbooks(list(paths)) if out.resolve() not in f.resolve().parents]  # not our own outputs
    if not files:
        raise UserError("没有找到 .xlsx 文件：" + "、".join(map(str, paths)))
    quiet = quiet or as_json
    with folder_lock(out), process_pool(bounded_jobs(jobs, len(files))) as pool:  # a second merge here fails at once
        with progress(None, len(files), "检查", quiet) as bar:
            c = merge_returns(files, form, name, previous, include_invalid, pool, order, year, bar.update)
        with progress(None, len(c.returns), "生成报告", quiet) as bar:
            outputs = write_outputs(c, out, pool, template, bar.update)
    if as_json:
        echo_json(merge_json(c, outputs))
    else:
        _echo(c, outputs)
    raise SystemExit(merge_exit_code(c))
