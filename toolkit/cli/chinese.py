"""Click's own messages in Chinese whatever the user's locale: a catalogue keyed by click's msgids.

Click (8.x) looks its strings up through `_()` and `ngettext()` bound in each of its modules;
`install()` points those names at this catalogue. A msgid missing here stays English, so
tests/test_cli_chinese.py compares the catalogue with the msgids of the click installed.
"""

from __future__ import annotations

import gettext
import importlib
import re
import sys
import unicodedata

import click

MESSAGES = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本号并退出。",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "required": "必填",
    "(dynamic)": "（动态）",
    "deprecated": "已弃用",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行 {command} {option} 查看用法。",
    "Aborted!": "已中断。",
    "Missing command.": "缺少命令。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少必需的选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "No such option {name!r}.": "没有这个选项：{name}。",
    "No such command {name!r}.": "没有这个命令：{name}。",
    "Invalid value: {message}": "值无效：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Option {name!r} does not take a value.": "选项 {name} 不带值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name} 需要 {nargs} 个值。",
    "Invalid start character for option ({option})": "选项的开头字符无效（{option}）",
    "Value must be an iterable.": "值应为一组值。",
    "unknown error": "未知错误",
    "Could not open file {filename!r}: {message}": "无法打开文件“{filename}”：{message}",
    "file": "文件",
    "directory": "文件夹",
    "path": "文件或文件夹",
    "{name} {filename!r} does not exist.": "{name}“{filename}”不存在。",
    "{name} {filename!r} is a file.": "“{filename}”是文件，这里应给出文件夹。",
    "{name} {filename!r} is a directory.": "“{filename}”是文件夹，这里应给出文件。",
    "{name} {filename!r} is not readable.": "{name}“{filename}”没有读取权限。",
    "{name} {filename!r} is not writable.": "{name}“{filename}”没有写入权限。",
    "{name} {filename!r} is not executable.": "{name}“{filename}”没有执行权限。",
    "{value!r} is not a valid {number_type}.": "“{value}”不是{number_type}。",
    "{value} is not in the range {range}.": "{value} 超出允许的范围（{range}）。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "“{value}”不是是非值，可用的值：{states}",
    "{value!r} is not a valid UUID.": "“{value}”不是有效的 UUID。",
    "Choose from:\n\t{choices}": "可选的值：\n\t{choices}",
    "Choice({choices})": "可选值（{choices}）",
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不提示，直接确认操作。",
    "Repeat for confirmation": "请再输入一次以确认",
    "Error: The two entered values do not match.": "错误：两次输入的值不一致。",
    "Error: invalid input": "错误：输入无效",
    "Press any key to continue...": "按任意键继续……",
    "Unknown color {colour!r}": "未知的颜色“{colour}”",
    "Unknown standard stream '{name}'": "未知的标准流“{name}”",
    "{editor}: Editing failed": "{editor}：编辑失败",
    "{editor}: Editing failed: {e}": "{editor}：编辑失败：{e}",
    "Windows error: {error}": "Windows 错误：{error}",
    "d": "天",
    "Couldn't detect Bash version, shell completion is not supported.": "无法识别 Bash 版本，不支持命令补全。",
    "Shell completion is not supported for Bash versions older than 4.4.": "Bash 4.4 以前的版本不支持命令补全。",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}": "弃用警告：命令“{name}”已弃用。{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}": "弃用警告：{param_type}“{name}”已弃用。{extra_message}",
    # a programmer's mistakes in declaring the commands: never seen by a user, translated all the same
    "Could not determine name for option with declarations {decls!r}": "无法确定选项的名称（声明：{decls}）",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument instead?"
    " Did you mean to pass '--{name}'?": "没有声明选项却给出了名称（{name}）：应声明为参数，或写成“--{name}”",
    "Name '{name}' defined twice": "名称“{name}”定义了两次",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.": "参数只能有一个声明，实际有 {length} 个：{decls}",
    "Boolean option {decl!r} cannot use the same flag for true/false.": "开关选项“{decl}”的开与关不能用同一个写法",
}

# ngettext: singular msgid -> (Chinese for one, Chinese for many); Chinese has no plural, the msgids differ in content.
PLURALS = {
    "Got unexpected extra argument ({args})": ("多余的参数：{args}", "多余的参数：{args}"),
    "Did you mean {possibility}?": ("您要输入的是否是 {possibility}？", "（您要输入的是否是其中之一：{possibilities}？）"),
    "Option {name!r} requires an argument.": ("选项 {name} 需要一个值。", "选项 {name} 需要 {nargs} 个值。"),
    "Takes {nargs} values but 1 was given.": ("需要 {nargs} 个值，只给出了 1 个。", "需要 {nargs} 个值，给出了 {len} 个。"),
    "{value!r} is not {choice}.": ("“{value}”不是可选的值（只能是 {choice}）。", "“{value}”不是可选的值（可选：{choices}）。"),
    "{value!r} does not match the format {format}.": (
        "“{value}”不符合格式 {format}。",
        "“{value}”不符合格式 {formats} 中的任何一种。",
    ),
    "{len_type} values are required, but {len_value} was given.": (
        "需要 {len_type} 个值，给出了 {len_value} 个。",
        "需要 {len_type} 个值，给出了 {len_value} 个。",
    ),
}

# English words click puts into its messages as arguments (a type's or a parameter's kind).
WORDS = {
    "integer": "整数",
    "integer range": "整数",
    "float": "数",
    "float range": "数",
    "boolean": "是非值",
    "text": "文本",
    "option": "选项",
    "argument": "参数",
    "parameter": "参数",
}

MODULES = (
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.shell_completion",
    "click.termui",
    "click._termui_impl",
    *(("click._winconsole",) if sys.platform == "win32" else ()),  # it refuses to load elsewhere
    "click.types",
    "click.utils",
)


class _Message(str):
    """A translated message whose .format() also translates the English words click passes in."""

    def format(self, *args, **kwargs) -> str:
        return str.format(self, *args, **{k: WORDS.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()})


class Chinese(gettext.NullTranslations):
    """Click's catalogue; a msgid it does not know is returned as it is."""

    def gettext(self, message: str) -> str:
        return _Message(MESSAGES.get(message, message))

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        pair = PLURALS.get(msgid1)
        if pair is None:
            return msgid1 if n == 1 else msgid2
        return _Message(pair[0] if n == 1 else pair[1])


def width(text: str) -> int:
    """Columns a text takes on a terminal: a Chinese character (or full-width punctuation) takes two."""
    plain = click.unstyle(text)
    return len(plain) + sum(unicodedata.east_asian_width(ch) in "WF" for ch in plain)


def _truncate(text: str, columns: int) -> str:
    """The longest start of a (plain) text that fits in `columns`: where click breaks a long word."""
    used = 0
    for i, ch in enumerate(text):
        used += width(ch)
        if used > columns:
            return text[: max(i, 1)]
    return text


_OPEN, _CLOSE = "（“《【", "，。；：、）”》】？！"
# A Chinese text breaks between any two characters, never before a closing or after an opening mark;
# a run of ASCII (a file name, an option, a number) stays whole.
_PIECE = re.compile(f"[{_CLOSE}]*[{_OPEN}]*(?:[\\x00-\\x7f]+|[^\\x00-\\x7f{_OPEN}{_CLOSE}])[{_CLOSE}]*")


def _pieces(chunk: str) -> list[str]:
    if chunk.isascii():
        return [chunk]
    found = _PIECE.findall(chunk)
    return found if "".join(found) == chunk else [chunk]


def _breaking_chinese(base: type) -> type:
    """click's TextWrapper breaking Chinese text between characters (it breaks at spaces only)."""

    class Wrapper(base):
        chinese = True

        def __init__(self, *args, **kwargs):
            kwargs.setdefault("break_on_hyphens", False)  # gov-info-2021 stays one word
            super().__init__(*args, **kwargs)

        def _split(self, text: str) -> list[str]:
            return [piece for chunk in super()._split(text) for piece in _pieces(chunk)]

    return Wrapper


def _measure_columns() -> None:
    """Help aligned and wrapped by terminal columns, not characters (click counts 进程数 as 3 wide, not 6)."""
    formatting, textwrap = importlib.import_module("click.formatting"), importlib.import_module("click._textwrap")
    for module in (formatting, textwrap):
        if hasattr(module, "term_len"):
            module.term_len = width
    if hasattr(textwrap, "_truncate_visible"):
        textwrap._truncate_visible = _truncate
    if hasattr(textwrap, "TextWrapper") and not getattr(textwrap.TextWrapper, "chinese", False):
        textwrap.TextWrapper = _breaking_chinese(textwrap.TextWrapper)


def install() -> None:
    """Point `_` and `ngettext` of click's modules at the catalogue, before any command is declared."""
    catalogue = Chinese()
    for name in MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "_"):
            module._ = catalogue.gettext
        if hasattr(module, "ngettext"):
            module.ngettext = catalogue.ngettext
    _measure_columns()
