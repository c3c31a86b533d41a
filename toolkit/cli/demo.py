"""`toolkit demo`: the main job end to end on the shipped samples, into ./demo-output/."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.cli.app import handled, main
from toolkit.core.errors import UserError
from toolkit.core.fileio import atomic_write_bytes, find_workbooks, safe_filename
from toolkit.forms.spec import builtin_forms
from toolkit.pipeline import (
    FATES,
    annotate,
    check_or_refuse,
    merge_returns,
    read_agencies,
    read_agency_list,
    render_report,
    write_mailing,
    write_outputs,
)

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
TEMPLATE_YEARS = {"gov-info-2019": 2020, "gov-info-2021": 2024}


def samples_dir() -> Path:
    """The samples/ folder of a source checkout (the demo runs from the project root)."""
    for candidate in (Path.cwd() / "samples", SAMPLES):
        if (candidate / "agencies.txt").is_file():
            return candidate
    raise UserError("找不到 samples/ 文件夹：请在项目根目录运行 toolkit demo")


def _templates(samples: Path, out: Path) -> None:
    agencies = read_agency_list(samples / "agencies.txt")
    for form in builtin_forms().values():
        year = TEMPLATE_YEARS.get(form.id, 2024)
        folder = out / "templates" / form.id
        folder.mkdir(parents=True, exist_ok=True)
        list(write_mailing(form, year, agencies, folder, jobs=1))
        click.echo(f"1. 模板：{folder}（{len(agencies)} 份，{form.id}，{year}年度）")


def _check(samples: Path, out: Path) -> list:
    returns = [check_or_refuse(p) for p in find_workbooks([samples / "returns-2020", samples / "returns-2024"])]
    folder = out / "annotated"
    folder.mkdir(parents=True, exist_ok=True)
    for r in returns:
        verdict = "通过" if r.accepted else f"未通过（{len(r.errors)} 个错误，批注副本见 {folder}）"
        click.echo(f"2. 检查：{Path(r.path).name}：{verdict}")
        if r.errors and r.status != "unreadable":
            annotate(r, folder / safe_filename(Path(r.path).stem, "_批注.xlsx"))
    return returns


def _reports(returns: list, out: Path) -> None:
    folder = out / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    for r in (r for r in returns if r.accepted):
        path = folder / safe_filename(r.form.report_title(r.agency, r.year), ".docx")
        atomic_write_bytes(path, render_report(r))
        click.echo(f"3. 报告：{path}")


def _merge(samples: Path, out: Path) -> None:
    expected = read_agencies(samples / "agencies-2024.csv")  # with contacts; two of them have not returned
    collection = merge_returns([samples / "returns-2024"], name="固原市原州区", agency_order=expected)
    folder = out / "collection"
    fates = "，".join(f"{FATES[k]} {v} 份" for k, v in collection.counts().items() if v)
    click.echo(f"4. 汇总：{fates}；计入汇总 {len(collection.returns)} 个机关")
    for path in write_outputs(collection, folder):
        click.echo(f"   {path}")


@main.command("demo")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo-output"),
    show_default=True,
    metavar="文件夹",
    help="结果写入的文件夹",
)
@handled
def demo_command(out: Path) -> None:
    """用 samples/ 中的示例跑一遍完整流程（模板、检查、报告、汇总）。

    \b
    示例：
      toolkit demo             结果写入 demo-output/
      toolkit demo --out 演示  结果写入 演示/
    """
    samples = samples_dir()
    _templates(samples, out)
    returns = _check(samples, out)
    _reports(returns, out)
    _merge(samples, out)
    click.echo(f"完成：全部结果在 {out}/")
    _serve_hint(samples, out)


def _serve_hint(samples: Path, out: Path) -> None:
    """How to run the intake web service on the same samples (nothing is started)."""
    data = out / "serve"
    click.echo("5. 填报网站（在线收集与审核）：依次运行")
    click.echo(
        f"   toolkit round create --data {data} --year 2024 --agencies {samples / 'agencies-2024.csv'} --links {data / 'links.csv'}"
    )
    click.echo(f"   toolkit user add --data {data} 管理员 --password-stdin   （输入密码后回车）")
    click.echo(
        f"   toolkit serve --data {data}   然后在浏览器打开 links.csv 中的填报链接，管理部门登录 http://127.0.0.1:8000/login"
    )
