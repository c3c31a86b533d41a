"""The catalogue of problem codes: one severity and one Chinese message template each.

What a problem copies from a file is bounded: every text value is cut to its first characters and its
length (a 1 MB shared string in 6,000 cells must not become 6,000 copies of it), and a file's problems
are limited per code and in all, the rest counted in one `more_problems` problem per code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal

from toolkit.core.text import plain
from toolkit.returns.model import ERROR, WARNING, Problem

KEPT_CHARS = 200  # a value up to this long is shown whole (the longest text of a form is about 110)
SHOWN_CHARS = 100  # a longer one is shown by its first characters and its length
PER_CODE = 30  # problems of one code listed per file
PER_FILE = 300  # problems listed per file

CATALOGUE: dict[str, tuple[str, str]] = {
    # the file as a whole
    "unreadable": (ERROR, "无法读取：{reason}"),
    # the problems of one code beyond PER_CODE (or PER_FILE): value is their count, expected their code
    "more_problems": (ERROR, "另有 {count} 个同类问题（{kind}）未逐一列出；请先改正上面列出的问题，再重新检查"),
    "internal_error": (
        ERROR,
        "程序内部错误（toolkit 的缺陷，不是文件的问题），此文件未能处理：{error}；请把此文件和这一行发给维护者，其余文件照常处理",
    ),
    # reading a cell
    "blank": (ERROR, "未填写，无数据请填 0"),
    "input_is_formula": (ERROR, "填写项中是公式 ={value}，不是填写的数值；请删除公式，直接填写数字（无数据请填 0）"),
    "text_number": (WARNING, "数字以文本形式保存（“{value}”），已按 {normalised} 读取；建议改为数值"),
    "not_a_number": (ERROR, "“{value}”不是数字；请只填写阿拉伯数字，不要带单位、文字或符号"),
    "negative": (ERROR, "不能为负数（填写的是 {value}）；请填写 0 或正整数"),
    "too_small": (ERROR, "数值 {value} 过小，低于下限 {min}"),
    "too_large": (ERROR, "数值 {value} 过大（上限 {max}），请核对是否多填了数字或单位有误"),
    "not_integer": (ERROR, "应为整数（填写的是 {value}）；件数、项数不能有小数"),
    "too_many_decimals": (
        WARNING,
        "金额 {value} 超过 {decimals} 位小数（{unit}精确到分即 {decimals} 位；本工具的合理性检查，非格式规定）",
    ),
    # totals and tampering
    "formula_changed": (ERROR, "合计公式被修改：应为 ={expected}，实际为 ={value}；请使用原模板重新填报"),
    "total_overwritten": (ERROR, "合计公式被改写为固定值 {value}；应为公式 ={expected}，请使用原模板重新填报"),
    "stale_total": (
        WARNING,
        "文件中保存的合计为 {value}，按填写数据重新计算应为 {computed}（文件未重新计算或合计被改动），以重新计算结果为准",
    ),
    "check_formula_changed": (ERROR, "校验公式被修改；请使用原模板重新填报"),
    "label_changed": (
        ERROR,
        "此处应为“{expected}”，实际为“{value}”：表格结构被改动（可能插入、删除或移动了行列），无法可靠读取数据，请使用原模板重新填报",
    ),
    "missing_sheet": (ERROR, "缺少工作表“{sheet}”（可能被删除或改名），请使用原模板重新填报"),
    "sheet_unprotected": (WARNING, "工作表保护已被取消，请注意合计和标签是否被改动"),
    "duplicate_sheet": (
        ERROR,
        "工作簿中有多个同名的工作表（名称不区分大小写，可能有一个被隐藏，Excel 不会这样保存），已按显示的那一个检查；请使用原模板重新填报",
    ),
    "hidden_sheet": (WARNING, "工作表被隐藏，填报人可能看不到其中的内容；已照常检查，请取消隐藏后核对"),
    # form recognition
    "no_metadata": (WARNING, "文件中没有表式元数据（可能把内容复制到了新工作簿），已根据工作表名和标签识别为“{form_id}”"),
    "unknown_form": (ERROR, "无法识别的表式“{form_id}”（版本 {version}）；本工具支持：{known}"),
    "version_mismatch": (
        ERROR,
        "表式版本不符：文件声明为 {form_id} 版本 {version}（指纹 {fingerprint}），本工具的 {form_id} 为版本 {our_version}（指纹 {our_fingerprint}）；请使用本年度下发的模板重新填报",
    ),
    "unrecognised": (ERROR, "无法识别表式：既没有表式元数据，工作表和标签也不符合任何已知表式；请使用下发的模板填报"),
    # header fields and texts
    "field_missing": (ERROR, "“{label}”未填写"),
    "agency_mismatch": (ERROR, "机关名称“{value}”与模板下发的“{expected}”不一致"),
    "year_mismatch": (ERROR, "年度为“{value}”，与模板的年度 {expected} 不符；请使用本年度的模板"),
    "text_missing": (ERROR, "“{title}”未填写"),
    "text_too_long": (ERROR, "“{title}”共 {length} 字，超过上限 {max} 字"),
    "text_is_formula": (
        ERROR,
        "“{title}”的内容以“=”开头，被表格软件当成了公式（{value}…），文字已丢失；请在开头加一个中文字符或空格后重新填写",
    ),
    "text_not_text": (WARNING, "“{title}”应为文字，读到的是数值 {value}"),
    "date_unclear": (WARNING, "“{value}”不是可识别的日期；请写成 {example} 的形式（也可用“.”“-”“/”分隔，如 {dotted}）"),
    "untouched": (
        WARNING,
        "报表的全部数字仍是空白模板的内容（{state}），似乎尚未填写；请填写本年度的数据（无数据的填 0）和文字部分后再报送",
    ),
    # rules
    "rule_failed": (ERROR, "{message}（{detail}）"),
    "rule_warning": (WARNING, "{message}（{detail}）"),
    # a rule reading a cell that holds no usable number: never counted as 0 (the cell has its own error)
    "rule_not_evaluated": (WARNING, "未能检查“{subject}”：{reason}，不是可用的数值，无法计算；请先改正，再重新检查"),
    # merging (toolkit merge)
    "duplicate": (WARNING, "同一机关同一年度的重复报送：已采用较新的文件 {other}，本文件未计入汇总"),
    "wrong_form": (ERROR, "表式为 {found}，与本次汇总的表式 {expected} 不符，未计入汇总；请使用 {expected} 模板重新填报"),
    "collection_input": (ERROR, "这是 toolkit merge 生成的汇总文件，不是机关报表，不计入汇总"),
    "wrong_year": (ERROR, "年度为 {found}，与本次汇总的年度 {expected} 不符，未计入汇总"),
    "not_returned": (ERROR, "机关名单中的“{agency}”没有报送"),
    "cross_year_failed": (ERROR, "跨年度核对：{message}（{detail}）"),
    "cross_year_warning": (WARNING, "跨年度核对：{message}（{detail}）"),
    "collection_mismatch": (ERROR, "汇总表被改动：此处为 {value}，各机关明细之和为 {expected}；请重新运行 toolkit merge 生成"),
    "collection_damaged": (ERROR, "汇总文件不完整或被改动（{detail}），无法核对；请重新运行 toolkit merge 生成"),
}


def format_number(value: int | Decimal) -> str:
    """A figure as a clerk writes it: 12, 4166.241619 (never 4.166E+3)."""
    return str(value) if isinstance(value, int) else format(value, "f")


def shown(value: object) -> object:
    """A text value as a problem may carry it: safe, and cut to its first characters and its length when long."""
    if not isinstance(value, str):
        return value
    if len(value) > KEPT_CHARS:
        value = f"{value[:SHOWN_CHARS]}…（共 {len(value)} 字）"
    return plain(value)


def problem(
    code: str,
    *,
    sheet: str = "",
    cell: str = "",
    cell_id: str = "",
    labels: str = "",
    value: object = "",
    expected: object = "",
    severity: str | None = None,
    rule: str = "",
    expansion: tuple[tuple[str, str], ...] = (),
    **params: object,
) -> Problem:
    """A Problem whose message starts with where it is: `三、依申请公开!D12「…」：…`."""
    default_severity, template = CATALOGUE[code]
    sheet, cell, cell_id, labels = (str(shown(x)) for x in (sheet, cell, cell_id, labels))
    value, expected = shown(value), shown(expected)
    params = {name: shown(x) for name, x in params.items()}
    text = template.format(value=value, expected=expected, sheet=sheet, **params)
    where = f"{sheet}!{cell}" if sheet and cell else sheet
    prefix = where + (f"「{labels}」" if labels else "")
    message = f"{prefix}：{text}" if prefix else text
    return Problem(
        code, severity or default_severity, message, sheet, cell, cell_id, labels, str(value), str(expected), rule, expansion
    )


def limit_problems(problems: Iterable[Problem]) -> list[Problem]:
    """The problems as listed: at most PER_CODE of a code and PER_FILE in all, in their order; the rest
    counted in one `more_problems` per code (an error if any of those is one). Applying it again changes nothing."""
    kept: list[Problem] = []
    seen: Counter[str] = Counter()
    hidden: dict[str, list[Problem]] = {}
    for p in problems:
        seen[p.code] += 1
        if p.code == "more_problems" or (seen[p.code] <= PER_CODE and len(kept) < PER_FILE):
            kept.append(p)
        else:
            hidden.setdefault(p.code, []).append(p)
    return kept + [_more(code, rest) for code, rest in hidden.items()]


def _more(code: str, rest: list[Problem]) -> Problem:
    severity = ERROR if any(p.severity == ERROR for p in rest) else WARNING
    return problem("more_problems", count=len(rest), kind=code, severity=severity, value=len(rest), expected=code)
