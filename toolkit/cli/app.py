"""The `toolkit` command group and what every command shares: error handling, form options, progress."""

from __future__ import annotations

import functools
import re
import sys
import traceback
from pathlib import Path

import click

from toolkit.core.batch import interrupt_on_sigterm
from toolkit.core.errors import UserError
from toolkit.core.version import __version__
from toolkit.forms.spec import SpecError, builtin_forms, get_form, known_forms
from toolkit.reports.render import check_word_template
from toolkit.workbook.mailing import check_agency

EXIT_OK, EXIT_PROBLEMS, EXIT_CANNOT_RUN, EXIT_INTERNAL = 0, 1, 2, 3
DEBUG_FLAG = "--debug"
_settings = {"debug": False}  # `--debug` anywhere on the command line: tracebacks are shown


def debugging() -> bool:
    """Whether `--debug` was given: tracebacks are shown."""
    return _settings["debug"]


def _fail(message: str, code: int = EXIT_CANNOT_RUN) -> None:
    if _settings["debug"]:
        traceback.print_exc(file=sys.stderr)
    click.echo(f"错误：{message}", err=True)
    sys.exit(code)


def _internal(e: Exception) -> None:
    """A bug of ours, not the user's file: its own exit code and one line saying how to report it."""
    _fail(
        "程序内部错误（这是 toolkit 的缺陷，不是您的文件或操作有误）。请把这一行、所运行的命令和所用文件发给维护者；"
        f"加 {DEBUG_FLAG} 重新运行可显示详细信息：{type(e).__name__}: {e}",
        EXIT_INTERNAL,
    )


def handled(func):
    """Turn failures into one Chinese line on stderr: exit 2 when the command cannot run, 3 for a bug of ours."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except UserError as e:
            _fail(str(e))
        except SpecError as e:
            click.echo("表式定义有误：", err=True)
            for line in e.problems:
                click.echo(f"  {line}", err=True)
            sys.exit(EXIT_CANNOT_RUN)
        except OSError as e:
            _fail(f"{e.filename or ''}：无法读写（{e.strerror or e}）")
        except KeyboardInterrupt:
            _fail("已中断")
        except Exception as e:  # never a traceback for the clerk (unless --debug)
            _internal(e)

    return wrapper


def resolve_form(name: str | None):
    try:
        return get_form(name)
    except KeyError:
        known = "、".join(builtin_forms())
        raise UserError(f"未知的表式“{name}”，可用的表式：{known}（也可给出表式 YAML 文件路径）") from None


def extra_forms_option(func):
    """`--form SPEC.yaml` (repeatable): returns of a user's own form are recognised too."""
    return click.option("--form", "form_specs", multiple=True, help="另外识别的表式 YAML 文件（自定义的数据收集，可重复）")(func)


def forms_from(specs: tuple[str, ...]) -> dict:
    return known_forms(tuple(resolve_form(s) for s in specs))


MAX_JOBS = 64


def bounded_jobs(jobs: int | None, items: int) -> int | None:
    """`--jobs` (at most MAX_JOBS by its option) never above the number of files: no idle workers to start."""
    return None if jobs is None else max(1, min(jobs, items))


def jobs_option(func):
    """`--jobs N`: worker processes, 1 to MAX_JOBS."""
    kind = click.IntRange(min=1, max=MAX_JOBS)
    return click.option("--jobs", type=kind, help=f"并行进程数（默认为全部 CPU 核，最多 {MAX_JOBS}）")(func)


def valid_name(ctx, param, value: str | None) -> str | None:
    """A region's name (`--name`): it becomes a title, a file property (255 characters at most) and file names."""
    if value is None:
        return None
    try:
        return check_agency(value, "区域名称")
    except UserError as e:
        raise click.BadParameter(str(e)) from None


def _word_template(ctx, param, value: Path | None) -> Path | None:
    if value is None:
        return None
    try:
        return check_word_template(value)
    except UserError as e:
        raise click.BadParameter(str(e)) from None


def template_option(help_text: str):
    """`--template X.docx`: a user's Word template, refused at once when it is not one."""
    return click.option("--template", type=click.Path(path_type=Path), callback=_word_template, help=help_text)


def make_out_dir(path: Path) -> Path:
    """An output folder, created when missing; UserError (exit 2) when it cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{path}：无法创建输出文件夹（{e.strerror or e}）") from None
    return path


def progress(iterable, total: int, label: str, quiet: bool):
    """A progress bar on a terminal; silent in pipes, CI and with --quiet."""
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=label, unit="份", disable=quiet or not sys.stderr.isatty())


_USAGE = (
    (r"Missing option '(.+?)'", r"缺少必需的选项 \1"),
    (r"Missing argument '(.+?)'", r"缺少参数 \1"),
    (r"No such option: (\S+)", r"没有这个选项：\1"),
    (r"No such command '(.+?)'", r"没有这个命令：\1"),
    (r"Option '(.+?)' requires an argument", r"选项 \1 需要一个值"),
    (r"Invalid value for '(.+?)': (.*)", r"选项 \1 的值无效：\2"),
    (r"Got unexpected extra arguments? \((.*)\)", r"多余的参数：\1"),
)


# What click says about a value (after "Invalid value for …: "), by the messages of click.types.
_VALUES = (
    (r"(?:File|Path) '(.+?)' does not exist\.?", r"文件“\1”不存在"),
    (r"Directory '(.+?)' does not exist\.?", r"文件夹“\1”不存在"),
    (r"\w+ '(.+?)' is a directory\.?", r"“\1”是文件夹，应给出文件"),
    (r"\w+ '(.+?)' is a file\.?", r"“\1”是文件，应给出文件夹"),
    (r"\w+ '(.+?)' is not (?:readable|writable|executable)\.?", r"“\1”没有读写权限"),
    (r"'(.*?)' is not a valid integer\.?", r"“\1”不是整数"),
    (r"'(.*?)' is not a valid float(?: range)?\.?", r"“\1”不是数字"),
    (r"(.+?) is not in the range (.+?)\.?$", r"\1 超出允许的范围（\2）"),
)


def _chinese(text: str, patterns: tuple[tuple[str, str], ...]) -> str:
    for pattern, chinese in patterns:
        if re.match(pattern, text):
            return re.sub(pattern, chinese, text, count=1).rstrip(".")
    return text


def usage_message(error: click.UsageError) -> str:
    """Click's usage errors in Chinese (the English original where no pattern fits)."""
    text = _chinese(error.format_message(), _USAGE)
    head, sep, value = text.partition(" 的值无效：")
    if sep:
        text = head + sep + _chinese(value, _VALUES)
    command = error.ctx.command_path if error.ctx else "toolkit"
    return f"{text}（运行 {command} --help 查看用法）"


class _Group(click.Group):
    """A group whose usage errors are one Chinese line and exit 2, like every other failure."""

    def main(self, args=None, *rest, **kwargs):
        args = list(sys.argv[1:] if args is None else args)
        options = args[: args.index("--")] if "--" in args else args
        _settings["debug"] = DEBUG_FLAG in options  # accepted before or after the command name
        if _settings["debug"]:
            args.remove(DEBUG_FLAG)
        kwargs["standalone_mode"] = False
        interrupt_on_sigterm()  # SIGTERM stops a command as Ctrl-C does: workers ended, temporary files removed
        try:
            code = super().main(args, *rest, **kwargs)
        except click.UsageError as e:
            _fail(usage_message(e))
        except click.Abort:
            _fail("已中断", 1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="toolkit")
@click.option("--debug", is_flag=True, help="出错时显示详细的调用栈（向维护者报告问题时使用；也可写在命令之后）")
def main(debug: bool) -> None:
    """政府信息公开工作年度报告工具：生成填报模板、检查回收的表格、生成 Word 报告、汇总。

    退出码：0 全部通过；1 输入有问题（已逐条列出）；2 命令无法执行；3 程序内部错误。
    """


@main.command("forms")
@handled
def forms_command() -> None:
    """列出内置表式（标识、版本、名称）。"""
    for form in builtin_forms().values():
        mark = "（默认）" if form.default else ""
        click.echo(f"{form.id}\t{form.version}\t{form.name}{mark}")
