"""`toolkit report` (the Word report of checked returns) and `toolkit context` (the template's variable names)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import click

from toolkit.checking.replaced import replacements
from toolkit.cli.app import (
    EXIT_INTERNAL,
    bounded_jobs,
    extra_forms_option,
    forms_from,
    handled,
    jobs_option,
    json_option,
    main,
    make_out_dir,
    progress,
    quiet_option,
    resolve_form,
    template_option,
)
from toolkit.cli.printing import echo_file, echo_json, result_json
from toolkit.core.batch import process_pool, run_batch
from toolkit.core.errors import UserError
from toolkit.core.fileio import atomic_write_bytes, find_workbooks, safe_filename, unique_path
from toolkit.forms.spec import Form
from toolkit.pipeline import Return, check_or_refuse, is_collection, lint_template, render_all, template_variables
from toolkit.reports.fonts import missing_fonts_message
from toolkit.reports.pdf import convert_to_pdf, find_soffice
from toolkit.returns.problems import problem

PDF_HINT = (
    "--pdf 需要 LibreOffice，但没有找到 soffice。请先安装："
    "Debian/Ubuntu 运行 sudo apt-get install libreoffice-writer fonts-noto-cjk；"
    "Windows/macOS 从 https://zh-cn.libreoffice.org 下载安装并把 soffice 加入 PATH。"
    "不加 --pdf 可只生成 Word 文件。"
)


@dataclass
class _Outcome:
    refused: list[Return]
    unreadable: list[Return]
    checked: list[Return] = field(default_factory=list)  # every file, in input order
    reports: dict[int, Path] = field(default_factory=dict)  # id(return) -> its report

    @property
    def rendered(self) -> list[Path]:
        return list(self.reports.values())

    def to_json(self, pdfs: dict[Path, Path]) -> dict:
        """`report --json`: check's shape, each file with the report (and PDF) made from it, or null."""
        files = []
        for ret in self.checked:
            doc = self.reports.get(id(ret))
            pdf = pdfs.get(doc) if doc else None
            replaced = [_replaced_json(r) for r in replacements(ret)] if doc else []  # what --force counted instead
            files.append(
                {**ret.to_dict(), "report": str(doc) if doc else None, "pdf": str(pdf) if pdf else None, "replaced": replaced}
            )
        summary = {"files": len(self.checked), "reports": len(self.rendered), "refused": len(self.refused)}
        return result_json(files, {**summary, "unreadable": len(self.unreadable)})


def _replaced_json(r) -> dict:
    used = r.used if isinstance(r.used, int) else float(r.used)
    return {"sheet": r.sheet, "cell": r.cell, "cell_id": r.cell_id, "labels": r.labels, "typed": r.typed, "used": used}


def _require_soffice() -> None:
    """Fail before rendering anything when --pdf cannot work: the clerk learns it in one second, not after 500 reports."""
    if find_soffice() is None:
        raise UserError(PDF_HINT)


def _lint(template: Path, forms: list[Form]) -> None:
    """A user template is checked against every form it will render before the first report is written."""
    for form in forms:
        problems = lint_template(form, template)
        if problems:
            lines = "\n".join(f"  {p}" for p in problems)
            raise UserError(f"{template}：模板与表式 {form.id} 不符，请修改模板（变量名见 toolkit context {form.id}）：\n{lines}")


def _target(ret: Return, output: Path | None, out_dir: Path | None, taken: set[str]) -> Path:
    title = ret.form.report_title(ret.agency, ret.year if ret.year is not None else "")
    name = safe_filename(title, ".docx")
    if out_dir is not None:
        return unique_path(out_dir, name, taken)
    if output is None:
        return Path.cwd() / name
    return output / name if output.is_dir() else output


def _echo_refused(ret: Return, force_helps: bool) -> None:
    why = "无法读取" if ret.status == "unreadable" else f"有 {len(ret.errors)} 个错误，未生成报告"
    echo_file(ret.path, (ret.agency,), why, ret.errors, err=True)
    if force_helps:
        click.echo("  （请改正后重新检查；确需按现有数据生成报告可加 --force）", err=True)


def _render_all(files: list[Path], output, out_dir, template, force, jobs, quiet, forms) -> _Outcome:
    """Check every file, then render the acceptable ones: both in worker processes."""
    outcome, taken, todo = _Outcome([], []), set(), []
    with process_pool(bounded_jobs(jobs, len(files))) as pool:
        check = functools.partial(check_or_refuse, forms=forms)
        for ret in progress(run_batch(check, files, 1, pool), len(files), "检查", quiet):
            outcome.checked.append(ret)
            if ret.status == "unreadable":
                outcome.unreadable.append(ret)
            elif is_collection(ret):  # a collection.xlsx has no figures of its own: its report is merge's summary.docx
                ret.problems.append(problem("collection_input"))
                outcome.refused.append(ret)
            elif ret.form is None or (ret.errors and not force):  # an unknown form cannot be rendered even with --force
                outcome.refused.append(ret)
            else:
                todo.append(ret)
        if template is not None:
            _lint(template, list({r.form.id: r.form for r in todo}.values()))
        targets = [_target(r, output, out_dir, taken) for r in todo]
        rendered = progress(render_all(todo, pool, template), len(todo), "生成报告", quiet)
        for ret, target, data in zip(todo, targets, rendered, strict=True):
            atomic_write_bytes(target, data)
            outcome.reports[id(ret)] = target
    return outcome


def _to_pdf(docs: list[Path]) -> dict[Path, Path]:
    """Each document's PDF beside it, converted one folder at a time."""
    pdfs: dict[Path, Path] = {}
    by_folder: dict[Path, list[Path]] = {}
    for doc in docs:
        by_folder.setdefault(doc.parent, []).append(doc)
    for folder, group in by_folder.items():
        pdfs.update(zip(group, convert_to_pdf(group, folder, timeout=60 + 5 * len(group)), strict=True))
    return pdfs


def _plan(returns: tuple[Path, ...], output: Path | None, out_dir: Path | None) -> list[Path]:
    files = find_workbooks(list(returns))
    if not files:
        raise UserError("没有找到 .xlsx 文件：" + "、".join(map(str, returns)))
    if output is not None and out_dir is not None:
        raise UserError("-o 与 --out-dir 不能同时使用")
    if (len(files) > 1 or any(p.is_dir() for p in returns)) and out_dir is None:
        raise UserError("多份报表请用 --out-dir 指定输出文件夹（每个机关一份报告）")
    return files


@main.command("report")
@click.argument(
    "returns", nargs=-1, required=True, metavar="文件或文件夹...", type=click.Path(path_type=Path, readable=False)
)  # the guards say why a file cannot be read
@click.option("-o", "--output", type=click.Path(path_type=Path), metavar="文件", help="输出的 .docx 文件（只有一份报表时）")
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="文件夹",
    help="输出文件夹：每份报表生成一份报告，文件名取报告标题",
)
@template_option("自定义 Word 模板（变量名见 toolkit context）")
@click.option("--pdf", is_flag=True, help="同时用 LibreOffice 转换为 PDF（需要安装 LibreOffice）")
@click.option("--force", is_flag=True, help="报表有错误时仍然生成报告（列出每个按 0 计的填写项）")
@jobs_option
@json_option
@quiet_option
@extra_forms_option
@handled
def report_command(returns, output, out_dir, template, pdf, force, jobs, as_json, quiet, form_specs) -> None:
    """用填好的报表生成官方格式的年度报告（Word，可选 PDF）。

    每份报表先检查；有错误的报表不生成报告（退出码 1），除非加 --force。

    \b
    示例：
      toolkit report 司法局.xlsx -o 司法局年度报告.docx
      toolkit report 回收 --out-dir 报告 --pdf  每份报表一份报告，另存 PDF
      toolkit report 回收 --out-dir 报告 --template 我的模板.docx
      toolkit report 有错误的表.xlsx -o 报告.docx --force
    """
    files = _plan(returns, output, out_dir)
    if pdf:
        _require_soffice()
    if out_dir is not None:
        make_out_dir(out_dir)
    outcome = _render_all(files, output, out_dir, template, force, jobs, quiet or as_json, forms_from(form_specs))
    pdfs = _to_pdf(outcome.rendered) if pdf and outcome.rendered else {}
    fonts_note = missing_fonts_message() if pdfs and not as_json else ""  # once per run, not per PDF
    if fonts_note:
        click.echo(fonts_note, err=True)
    if as_json:
        echo_json(outcome.to_json(pdfs))
    else:
        _echo(files, outcome, pdfs)
    failed = any(r.failed for r in outcome.unreadable)
    raise SystemExit(EXIT_INTERNAL if failed else 2 if outcome.unreadable else 1 if outcome.refused else 0)


def _echo(files: list[Path], outcome: _Outcome, pdfs: dict[Path, Path]) -> None:
    for ret in outcome.unreadable + outcome.refused:
        _echo_refused(ret, force_helps=ret.form is not None)
    for path in [*outcome.rendered, *pdfs.values()]:
        click.echo(f"已生成：{path}")
    _echo_replaced(outcome)
    _summary(files, outcome)


def _echo_replaced(outcome: _Outcome) -> None:
    """--force: every value a report counts instead of what was typed (a non-number, -3, a blank: 0)."""
    lines = [r.line for ret in outcome.checked if id(ret) in outcome.reports for r in replacements(ret)]
    if lines:
        click.echo(f"注意：以下 {len(lines)} 个填写项的内容无法使用，报告中按所列数值计（--force）：", err=True)
        for line in lines:
            click.echo(f"  {line}", err=True)


def _summary(files: list[Path], outcome: _Outcome) -> None:
    if len(files) > 1:
        click.echo(
            f"共 {len(files)} 份报表：生成报告 {len(outcome.rendered)} 份，"
            f"因错误未生成 {len(outcome.refused)} 份，无法读取 {len(outcome.unreadable)} 份。"
        )


@main.command("context")
@click.argument("form_id", required=False, metavar="[表式]")
@template_option("检查此 Word 模板的变量名")
@handled
def context_command(form_id, template) -> None:
    """列出报告模板可用的变量名（单元格、文字部分、基本信息）。

    表式为表式标识（默认为现行格式）或表式 YAML 文件路径。加 --template 时检查模板中的变量名。

    \b
    示例：
      toolkit context                           现行格式的全部变量名
      toolkit context gov-info-2019 > 变量名.txt
      toolkit context --template 我的模板.docx  检查自己的模板
    """
    form = resolve_form(form_id)
    if template is not None:
        problems = lint_template(form, template)
        for p in problems:
            click.echo(p)
        verdict = f"有 {len(problems)} 处问题" if problems else "变量名全部有效"
        click.echo(f"{template}：{verdict}（表式 {form.id}）")
        raise SystemExit(1 if problems else 0)
    click.echo(f"# 表式 {form.id}（{form.version}）的报告模板变量；在 Word 模板中写 {{{{ 变量名 }}}}")
    click.echo("变量名\t类别\t含义\t说明")
    for v in template_variables(form):
        click.echo(f"{v.key}\t{v.kind}\t{v.label}\t{v.detail}")
