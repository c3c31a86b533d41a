"""`toolkit merge`: many returns into collection.xlsx, collection.docx and summary.docx."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.cli.app import (
    agencies_option,
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
    template_option,
    valid_name,
    year_option,
)
from toolkit.cli.printing import echo_file, echo_json, result_json
from toolkit.core.batch import process_pool
from toolkit.core.errors import UserError
from toolkit.core.fileio import find_workbooks, folder_lock
from toolkit.pipeline import FATES, Collection, merge_exit_code, merge_returns, read_agencies, read_summary_text, write_outputs


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
    "paths", nargs=-1, required=True, metavar="文件或文件夹...", type=click.Path(path_type=Path, readable=False)
)  # the guards say why a file cannot be read
@click.option(
    "-o", "--out-dir", "out", required=True, type=click.Path(path_type=Path, file_okay=False), metavar="文件夹", help="输出文件夹"
)
@form_option("汇总的表式（默认 gov-info-2021）；其他表式的报表列为“表式不符”")
@click.option("--name", callback=valid_name, metavar="区域名称", help="区域名称，用于汇总报告标题（默认“汇总”）")
@click.option("--previous", type=click.Path(path_type=Path), metavar="文件", help="上年的 collection.xlsx，用于跨年度核对")
@click.option("--include-invalid", is_flag=True, help="有错误的报表也计入汇总（默认只汇总通过检查的报表）")
@jobs_option
@agencies_option("机关名单：决定报告顺序，列出未报送的机关和催报联系人")
@year_option("汇总年度，如 2024（默认取多数报表的年度）")
@template_option("Word 报告模板（默认用表式内置模板）")
@click.option(
    "--text",
    "text_file",
    type=click.Path(path_type=Path),
    metavar="文件",
    help="summary.docx 的文字部分（UTF-8 文本，每部分以其标题开头，如“五、存在的主要问题及改进情况”）",
)
@json_option
@quiet_option
@handled
def merge_command(
    paths, out, form_id, name, previous, include_invalid, jobs, agencies, year, template, text_file, as_json, quiet
) -> None:
    """汇总多份报表，生成汇总表、报告汇编和汇总报告。

    输出文件夹中生成 collection.xlsx（状态、催报、汇总、明细、文字、图表）、collection.docx（各机关报告汇编）和
    summary.docx（全区汇总报告）。

    \b
    示例：
      toolkit merge 回收 -o 汇总 --name 原州区
      toolkit merge 回收 -o 汇总 --name 原州区 --agencies 名单.csv --year 2024
      toolkit merge 回收 -o 汇总 --previous 上年汇总/collection.xlsx
      toolkit merge 回收 -o 汇总 --name 原州区 --text 汇总报告文字.txt
    """
    form = resolve_form(form_id)
    order = read_agencies(agencies) if agencies else None
    texts = read_summary_text(text_file, form) if text_file else None
    out = make_out_dir(out)
    files = [f for f in find_workbooks(list(paths)) if out.resolve() not in f.resolve().parents]  # not our own outputs
    if not files:
        raise UserError("没有找到 .xlsx 文件：" + "、".join(map(str, paths)))
    quiet = quiet or as_json
    with folder_lock(out), process_pool(bounded_jobs(jobs, len(files))) as pool:  # a second merge here fails at once
        with progress(None, len(files), "检查", quiet) as bar:
            c = merge_returns(files, form, name, previous, include_invalid, pool, order, year, bar.update)
        with progress(None, len(c.returns), "生成报告", quiet) as bar:
            outputs = write_outputs(c, out, pool, template, bar.update, texts)
    if as_json:
        echo_json(merge_json(c, outputs))
    else:
        _echo(c, outputs)
    raise SystemExit(merge_exit_code(c))
