"""`toolkit check`: read returned workbooks, report every problem, optionally annotate copies."""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import click

from toolkit.cli.app import (
    EXIT_INTERNAL,
    bounded_jobs,
    extra_forms_option,
    forms_from,
    handled,
    jobs_option,
    main,
    make_out_dir,
    progress,
)
from toolkit.cli.printing import echo_file, echo_json, result_json
from toolkit.core.batch import run_batch
from toolkit.core.errors import UserError
from toolkit.core.fileio import find_workbooks, safe_filename, unique_path
from toolkit.pipeline import Return, annotate, check_or_refuse
from toolkit.reading.guards import DEFAULT_LIMITS, MB


def summary(returns: list[Return]) -> dict[str, int]:
    counts = {"files": len(returns), "accepted": 0, "rejected": 0, "unreadable": 0}
    for r in returns:
        counts[r.status] += 1
    return counts


def report_json(returns: list[Return]) -> dict:
    """The stable machine-readable result (schema documented in README)."""
    return result_json([r.to_dict() for r in returns], summary(returns))


def who(r: Return) -> tuple[str, ...]:
    return (r.agency, f"{r.year}年度" if r.year else "", r.form_id)


def _echo_return(r: Return) -> None:
    if r.status == "accepted":
        verdict = "通过" + (f"（{len(r.warnings)} 个警告）" if r.warnings else "")
    elif r.status == "unreadable":
        verdict = "无法读取"
    else:
        verdict = f"未通过：{len(r.errors)} 个错误，{len(r.warnings)} 个警告"
    echo_file(r.path, who(r), verdict, r.problems)


def exit_code(returns: list[Return]) -> int:
    if any(r.failed for r in returns):
        return EXIT_INTERNAL
    if any(r.status == "unreadable" for r in returns):
        return 2
    return 0 if all(r.accepted for r in returns) else 1


def _annotate_all(returns: list[Return], folder: Path) -> int:
    make_out_dir(folder)
    taken: set[str] = set()
    done = 0
    for r in returns:
        if r.problems and r.status != "unreadable":
            try:
                annotate(r, unique_path(folder, safe_filename(Path(r.path).stem, "_批注.xlsx"), taken))
                done += 1
            except Exception as e:  # one file openpyxl cannot rewrite must not stop the rest
                click.echo(f"错误：{r.path}：无法生成批注副本（{type(e).__name__}: {e}）", err=True)
    return done


MAX_SIZE_MB = 1024  # a return is ≈ 30 KB; a limit past this protects nothing


def _finite(value: float) -> float:
    if not math.isfinite(value):  # FloatRange lets nan through: nan compares false with both bounds
        raise click.BadParameter(f"“{value}”不是有效的大小（应为大于 0、不超过 {MAX_SIZE_MB} 的数，单位 MB）")
    return value


@main.command("check")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False)
)  # the guards say why a file cannot be read
@click.option("--json", "as_json", is_flag=True, help="输出机器可读的 JSON（结构见 README）")
@click.option(
    "--annotate", "annotate_dir", type=click.Path(path_type=Path), help="把有问题的文件标注后另存到此文件夹（原文件不动）"
)
@jobs_option
@click.option(
    "--max-size",
    type=click.FloatRange(min=0, max=MAX_SIZE_MB, min_open=True),
    callback=lambda ctx, param, value: _finite(value),
    default=DEFAULT_LIMITS.max_file_bytes / MB,
    show_default=True,
    metavar="MB",
    help="单个文件的大小上限（MB），超过的文件不读取",
)
@click.option("-q", "--quiet", is_flag=True, help="不显示进度条")
@extra_forms_option
@handled
def check_command(paths, as_json, annotate_dir, jobs, max_size, quiet, form_specs) -> None:
    """检查回收的填报表格（文件或文件夹，文件夹下的 .xlsx 全部检查）。"""
    files = find_workbooks(list(paths))
    if not files:
        raise UserError("没有找到 .xlsx 文件：" + "、".join(map(str, paths)))
    limits = dataclasses.replace(DEFAULT_LIMITS, max_file_bytes=int(max_size * MB))
    check = functools.partial(check_or_refuse, forms=forms_from(form_specs), limits=limits)
    returns = list(progress(run_batch(check, files, bounded_jobs(jobs, len(files))), len(files), "检查", quiet or as_json))
    if as_json:
        echo_json(report_json(returns))
    else:
        for r in returns:
            _echo_return(r)
        s = summary(returns)
        click.echo(f"共检查 {s['files']} 份：通过 {s['accepted']} 份，有错误 {s['rejected']} 份，无法读取 {s['unreadable']} 份。")
    if annotate_dir is not None:
        n = _annotate_all(returns, annotate_dir)
        if not as_json:
            click.echo(f"已将 {n} 份有问题的文件标注后保存到：{annotate_dir}")
    raise SystemExit(exit_code(returns))
