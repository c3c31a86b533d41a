"""`toolkit check`: read returned workbooks, report every problem, optionally annotate copies."""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import click

from toolkit.cli.app import (
    EXIT_CANNOT_RUN,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_PROBLEMS,
    agencies_option,
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
)
from toolkit.cli.printing import echo_file, echo_json, result_json
from toolkit.core.batch import run_batch
from toolkit.core.errors import UserError
from toolkit.core.fileio import find_workbooks, safe_filename, unique_path
from toolkit.pipeline import Agency, Return, annotate, check_or_refuse, duplicates, is_collection, not_returned, read_agencies
from toolkit.reading.guards import DEFAULT_LIMITS, MB


@dataclasses.dataclass
class _Office:
    """What the office acts on beyond each file: who sent two files, who on its list sent none."""

    duplicates: list[tuple[Return, list[Return]]]
    missing: list[Agency] | None  # None: no --agencies list given

    @classmethod
    def of(cls, returns: list[Return], agencies: list[Agency] | None) -> _Office:
        sent = [r for r in returns if r.status != "unreadable" and not is_collection(r)]
        twice = duplicates(r for r in sent if r.form is not None)  # as merge counts them: returns of a known form
        if agencies is None:
            return cls(twice, None)
        missing = set(not_returned([a.name for a in agencies], sent))
        return cls(twice, [a for a in agencies if a.name in missing])

    @property
    def clean(self) -> bool:
        return not self.duplicates and not self.missing

    def to_json(self) -> dict:
        """Keys added to check's JSON (the existing ones unchanged): duplicates, and missing (null without --agencies)."""
        dups = [
            {"agency": newest.agency, "year": newest.year, "counted": newest.path, "others": [r.path for r in others]}
            for newest, others in self.duplicates
        ]
        missing = None if self.missing is None else [dataclasses.asdict(a) for a in self.missing]
        return {"duplicates": dups, "missing": missing}


def summary(returns: list[Return]) -> dict[str, int]:
    counts = {"files": len(returns), "accepted": 0, "rejected": 0, "unreadable": 0}
    for r in returns:
        counts[r.status] += 1
    return counts


def report_json(returns: list[Return], office: _Office | None = None) -> dict:
    """The stable machine-readable result (schema documented in README)."""
    extra = (office or _Office.of(returns, None)).to_json()
    return result_json([r.to_dict() for r in returns], summary(returns), **extra)


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


def exit_code(returns: list[Return], office: _Office | None = None) -> int:
    """3 a bug of ours, 2 a file could not be read, 1 a problem (a file's, a duplicate, a missing agency), else 0."""
    if any(r.failed for r in returns):
        return EXIT_INTERNAL
    if any(r.status == "unreadable" for r in returns):
        return EXIT_CANNOT_RUN
    clean = all(r.accepted for r in returns) and (office is None or office.clean)
    return EXIT_OK if clean else EXIT_PROBLEMS


def _label(r: Return) -> str:
    """An agency as the office names it: its name, or the file's when the return does not say."""
    return r.agency.strip() or Path(r.path).name


def _contact(a: Agency) -> str:
    who = "，".join(x for x in (a.contact, a.phone) if x)
    return a.name + (f"（{who}）" if who else "")


def _echo_summary(returns: list[Return], office: _Office) -> None:
    """The closing lines: the counts, then every agency the office must act on, by name."""
    s = summary(returns)
    click.echo(f"共检查 {s['files']} 份：通过 {s['accepted']} 份，有错误 {s['rejected']} 份，无法读取 {s['unreadable']} 份。")
    rejected = [_label(r) for r in returns if r.status == "rejected"]
    unreadable = [Path(r.path).name for r in returns if r.status == "unreadable"]
    if rejected:
        click.echo(f"有错误（{len(rejected)} 份）：" + "、".join(rejected))
    if unreadable:
        click.echo(f"无法读取（{len(unreadable)} 份）：" + "、".join(unreadable))
    for newest, others in office.duplicates:
        files = "、".join(Path(r.path).name for r in [*others, newest])
        click.echo(f"重复报送：{_label(newest)}交来 {len(others) + 1} 份（{files}），以最新的 {Path(newest.path).name} 为准")
    if office.missing is not None:
        names = "、".join(_contact(a) for a in office.missing) if office.missing else "无"
        click.echo(f"未报送（{len(office.missing)} 个机关）：{names}")


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
    "paths", nargs=-1, required=True, metavar="文件或文件夹...", type=click.Path(path_type=Path, readable=False)
)  # the guards say why a file cannot be read
@json_option
@click.option(
    "--annotate",
    "annotate_dir",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="文件夹",
    help="把有问题的文件标注后另存到此文件夹（原文件不动）",
)
@agencies_option("机关名单：列出名单上没有交回报表的机关")
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
@quiet_option
@extra_forms_option
@handled
def check_command(paths, as_json, annotate_dir, agencies, jobs, max_size, quiet, form_specs) -> None:
    """检查回收的填报表格（文件或文件夹下的全部 .xlsx）。

    逐份列出问题，最后列出有错误、无法读取、重复报送的机关；给出 --agencies 名单时还列出未报送的机关。

    退出码：0 全部通过；1 有问题（有错误、重复报送或未报送）；2 有文件无法读取。

    \b
    示例：
      toolkit check 回收                      检查“回收”文件夹下的全部表格
      toolkit check 回收 --agencies 名单.csv  同时列出名单上未报送的机关
      toolkit check 回收 --annotate 批注      有问题的表格标注后存入“批注”
      toolkit check 司法局.xlsx --json        输出 JSON（供其他程序使用）
    """
    files = find_workbooks(list(paths))
    if not files:
        raise UserError("没有找到 .xlsx 文件：" + "、".join(map(str, paths)))
    listed = read_agencies(agencies) if agencies is not None else None
    limits = dataclasses.replace(DEFAULT_LIMITS, max_file_bytes=int(max_size * MB))
    check = functools.partial(check_or_refuse, forms=forms_from(form_specs), limits=limits)
    returns = list(progress(run_batch(check, files, bounded_jobs(jobs, len(files))), len(files), "检查", quiet or as_json))
    office = _Office.of(returns, listed)
    if as_json:
        echo_json(report_json(returns, office))
    else:
        for r in returns:
            _echo_return(r)
        _echo_summary(returns, office)
    if annotate_dir is not None:
        n = _annotate_all(returns, annotate_dir)
        if not as_json:
            click.echo(f"已将 {n} 份有问题的文件标注后保存到：{annotate_dir}")
    raise SystemExit(exit_code(returns, office))
