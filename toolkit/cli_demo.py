"""`toolkit demo`: the main job end to end on the shipped samples, into ./demo-output/."""

from __future__ import annotations

from pathlib import Path

import click

from .cli import handled, main
from .spec import builtin_forms
from .templates import plan_mailing, read_agency_list, write_template

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def samples_dir() -> Path:
    """The samples/ folder of a source checkout (the demo runs from the project root)."""
    for candidate in (Path.cwd() / "samples", SAMPLES):
        if (candidate / "agencies.txt").is_file():
            return candidate
    raise click.ClickException("找不到 samples/ 文件夹：请在项目根目录运行 toolkit demo")


@main.command("demo")
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("demo-output"), show_default=True)
@handled
def demo_command(out: Path) -> None:
    """用 samples/ 中的示例跑一遍完整流程，结果写入 demo-output/。"""
    samples = samples_dir()
    agencies = read_agency_list(samples / "agencies.txt")
    for form in builtin_forms().values():
        year = 2020 if form.id == "gov-info-2019" else 2024
        folder = out / "templates" / form.id
        folder.mkdir(parents=True, exist_ok=True)
        for agency, path in plan_mailing(form, year, agencies, folder):
            write_template(form, agency, year, path)
        click.echo(f"模板：{folder}（{len(agencies)} 份，{form.id}，{year}年度）")
