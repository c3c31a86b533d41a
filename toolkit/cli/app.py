"""The `toolkit` command group and what every command shares: error handling, form options, progress."""

from __future__ import annotations

import functools
import importlib
import re
import sys
import traceback
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path

import click

from toolkit.cli import chinese
from toolkit.core.batch import interrupt_on_sigterm
from toolkit.core.errors import UserError, os_reason
from toolkit.core.version import __version__
from toolkit.forms.spec import SpecError, builtin_forms, get_form, known_forms
from toolkit.workbook.mailing import check_agency, check_year

chinese.install()  # before any command is declared: click translates some texts (a Path's kind, --version's help) at once

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
            _fail(f"{e.filename or ''}：无法读写（{os_reason(e)}）")
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


FORM_METAVAR = "表式"


def form_option(help_text: str):
    """`--form ID|SPEC.yaml`: the one form a command works with (resolve_form says when it is unknown)."""
    return click.option("--form", "form_id", metavar=FORM_METAVAR, help=help_text)


def extra_forms_option(func):
    """`--form ID|SPEC.yaml` (repeatable): returns of a user's own form are recognised too."""
    help_text = "另外识别的表式：表式标识或表式 YAML 文件（自定义的数据收集；可重复）"
    return click.option("--form", "form_specs", multiple=True, metavar=FORM_METAVAR, help=help_text)(func)


def forms_from(specs: tuple[str, ...]) -> dict:
    return known_forms(tuple(resolve_form(s) for s in specs))


MAX_JOBS = 64


def bounded_jobs(jobs: int | None, items: int) -> int | None:
    """`--jobs` (at most MAX_JOBS by its option) never above the number of files: no idle workers to start."""
    return None if jobs is None else max(1, min(jobs, items))


def jobs_option(func):
    """`--jobs N`: worker processes, 1 to MAX_JOBS."""
    kind = click.IntRange(min=1, max=MAX_JOBS)
    return click.option("--jobs", type=kind, metavar="进程数", help=f"并行进程数（默认为全部 CPU 核，最多 {MAX_JOBS}）")(func)


class Year(click.ParamType):
    """A report year, the same for every command: check_year's rule and message."""

    name = "年度"

    def convert(self, value, param, ctx) -> int:
        try:
            return check_year(value)
        except UserError as e:
            self.fail(str(e), param, ctx)


def year_option(help_text: str, required: bool = False):
    """`--year 2024` (template, merge): four digits between 2000 and 2100, refused with one message everywhere."""
    return click.option("--year", type=Year(), required=required, help=help_text)


def agencies_option(help_text: str, required: bool = False):
    """`--agencies FILE` (template, check, merge, round create): the office's list, read by read_agencies."""
    kind = click.Path(path_type=Path, exists=True, dir_okay=False)
    about = "；每行一个机关的文本文件，或含“机关名称”列的 CSV（可另有“联系人”“联系电话”列）"
    return click.option("--agencies", type=kind, required=required, metavar="名单文件", help=help_text + about)


def json_option(func):
    """`--json` (check, report, merge): one machine-readable shape, documented in README."""
    return click.option("--json", "as_json", is_flag=True, help="输出机器可读的 JSON（结构见 README）")(func)


def quiet_option(func):
    return click.option("-q", "--quiet", is_flag=True, help="不显示进度条")(func)


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
    from toolkit.reports.render import check_word_template  # docxtpl: imported by the commands that render only

    try:
        return check_word_template(value)
    except UserError as e:
        raise click.BadParameter(str(e)) from None


def template_option(help_text: str):
    """`--template X.docx`: a user's Word template, refused at once when it is not one."""
    kind = click.Path(path_type=Path)
    return click.option("--template", type=kind, callback=_word_template, metavar="模板.docx", help=help_text)


def make_out_dir(path: Path) -> Path:
    """An output folder, created when missing; UserError (exit 2) when it cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{path}：无法创建输出文件夹（{os_reason(e)}）") from None
    return path


def progress(iterable, total: int, label: str, quiet: bool):
    """A progress bar on a terminal; silent in pipes, CI and with --quiet (an iterable then passed on as it is,
    tqdm not even imported: `toolkit check` starts faster). With no iterable, a bar to update by hand."""
    disable = quiet or not sys.stderr.isatty()
    if disable and iterable is not None:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=label, unit="份", disable=disable)


def usage_message(error: click.UsageError) -> str:
    """A usage error (click's words already Chinese, see cli/chinese.py) as one line with Chinese punctuation."""
    text = re.sub(r"'([^'\n]*)'", r"“\1”", error.format_message())  # click quotes names with ASCII quotes
    text = re.sub(r"(?<=[”）\u3000-\u9fff])\.(?=\s|$)", "", text)  # and ends a Chinese message with "."
    text = re.sub(r"。\s+", "。", text.replace("”, “", "”、“")).strip().rstrip("。")
    command = error.ctx.command_path if error.ctx else "toolkit"
    return f"{text}（运行 {command} --help 查看用法）"


# What a value is, shown after an option in --help, in place of click's TEXT, INTEGER RANGE…
METAVARS = {"text": "文本", "integer": "整数", "integer range": "整数", "float": "数", "float range": "数"}


def _chinese_metavar(param: click.Parameter) -> None:
    if param.metavar is not None or isinstance(param.type, click.Choice):
        return
    metavar = METAVARS.get(param.type.name, param.type.name.upper())  # a click.Path's name is Chinese already
    if isinstance(param, click.Argument) and not param.required:
        metavar = f"[{metavar}]"
    param.metavar = metavar + ("..." if param.nargs != 1 else "")


class _Formatter(click.HelpFormatter):
    """Help with Chinese punctuation: 用法：…, 选项："""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")


class _Context(click.Context):
    formatter_class = _Formatter


class _Command(click.Command):
    """A command whose usage line and value names are Chinese."""

    context_class = _Context

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)
        for param in self.params:
            _chinese_metavar(param)


WORKFLOW = ("template", "check", "report", "merge")  # how `toolkit --help` lists the commands: the order of the work
# The module declaring each command, imported when the command is first asked for: `toolkit check` does not
# import what `report` renders with (docxtpl) or `merge` writes with (xlsxwriter). `forms` is declared below;
# a command declared in a module but not listed here would not be listed (tests/test_startup_imports.py).
COMMAND_MODULES = {
    "template": "toolkit.cli.template",
    "check": "toolkit.cli.check",
    "report": "toolkit.cli.report",
    "context": "toolkit.cli.report",
    "merge": "toolkit.cli.merge",
    "import": "toolkit.cli.import_",
    "serve": "toolkit.cli.serve",
    "round": "toolkit.cli.serve",
    "user": "toolkit.cli.serve",
    "demo": "toolkit.cli.demo",
}


class LazyCommands(MutableMapping):
    """A group's commands by name: every name is listed at once, a command's module imported on first use."""

    def __init__(self, modules: Mapping[str, str]):
        self.modules, self.loaded = dict(modules), {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self.loaded and name in self.modules:
            importlib.import_module(self.modules[name])  # its `@main.command` stores the command here
        return self.loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self.modules.pop(name, None)
        del self.loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in self.loaded or name in self.modules

    def __iter__(self) -> Iterator[str]:
        return iter({**self.modules, **self.loaded})

    def __len__(self) -> int:
        return len({**self.modules, **self.loaded})


class _SubGroup(click.Group):
    """A group of commands under `toolkit` (`toolkit round create`): Chinese like every command."""

    command_class = _Command
    context_class = _Context

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)


class _Group(click.Group):
    """The `toolkit` group: commands in workflow order; usage errors one Chinese line and exit 2, like every other failure."""

    command_class = _Command
    group_class = _SubGroup
    context_class = _Context

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(COMMAND_MODULES)

    def list_commands(self, ctx) -> list[str]:
        names = super().list_commands(ctx)
        return [n for n in WORKFLOW if n in names] + [n for n in names if n not in WORKFLOW]

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
        except click.exceptions.NoArgsIsHelpError as e:  # `toolkit` alone: the help, as click shows it (exit 2)
            click.echo(e.format_message(), err=True)
            sys.exit(EXIT_CANNOT_RUN)
        except click.UsageError as e:
            _fail(usage_message(e))
        except click.Abort:
            _fail("已中断", 1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group("toolkit", cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="toolkit")
@click.option("--debug", is_flag=True, help="出错时显示详细的调用栈（向维护者报告问题时用；可写在命令后）")
def main(debug: bool) -> None:
    """政府信息公开工作年度报告工具：生成填报模板、检查回收的表格、生成报告、汇总。

    \b
    一般的工作顺序：
      1. 给每个机关生成填报模板
         toolkit template --year 2024 --agencies 名单.csv --out-dir 模板
      2. 检查交回的表格，列出未报送的机关，有问题的标注后退回
         toolkit check 回收 --agencies 名单.csv --annotate 批注
      3. 生成各机关的年度报告
         toolkit report 回收 --out-dir 报告
      4. 汇总全区
         toolkit merge 回收 -o 汇总 --name 原州区 --agencies 名单.csv

    每个命令的用法和示例：toolkit 命令 --help，如 toolkit check --help。

    \b
    退出码：0 全部通过；1 输入有问题（已逐条列出）；
            2 命令无法执行；3 程序内部错误。
    """


@main.command("forms")
@handled
def forms_command() -> None:
    """列出内置表式（标识、版本、名称）。

    \b
    示例：
      toolkit forms
    """
    for form in builtin_forms().values():
        mark = "（默认）" if form.default else ""
        click.echo(f"{form.id}\t{form.version}\t{form.name}{mark}")
