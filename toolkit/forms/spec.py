"""Form specs: YAML in workbook_templates/ loaded into typed, validated objects.

Every later stage (workbook, reader, rules, report, collection) reads the form only from here,
so the 2019 and 2021 formats differ in YAML, never in code.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from toolkit.forms.expr import Comparison, ExprError, LinearExpr, parse_comparison, parse_equation

# The spec keys that shape the workbook: only they make the fingerprint, so settings of the Word
# report, charts, cross-year checks or which form is the default never invalidate returned files.
WORKBOOK_KEYS = ("id", "version", "name", "basis", "kinds", "fields", "sections", "computed", "rules")
DATE_FIELD = "date"  # a form's date field, when it has one, signs the report and is read as a date
IDENTITY_FIELDS = ("agency", "year")  # prefilled by the tool; `date`, when a form has it, signs the report
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BAD_SHEET_CHARS = set("[]:*?/\\")

# Every kind of mistake a spec can have, by the code its SpecProblem carries.
PROBLEM_CODES: dict[str, str] = {
    "yaml_syntax": "the text is not valid YAML",
    "duplicate_key": "a key written twice in one mapping",
    "not_a_mapping": "a mapping expected: the whole spec, or an entry of a list",
    "not_a_list": "a list expected",
    "unknown_key": "a key not allowed at its place",
    "missing_key": "a required key left out",
    "bad_id": "an id that is not an identifier",
    "duplicate_id": "an id used twice where ids must be unique",
    "duplicate_sheet": "two sections on one sheet",
    "bad_sheet_name": "a sheet name Excel refuses",
    "bad_value": "a value outside its choices (a kind's type, a rule's severity)",
    "not_a_number": "a numeric setting that is not a number",
    "unknown_kind": "a kind that `kinds` does not define",
    "empty_table": "a table without rows or columns",
    "empty_section": "a section with neither text nor tables",
    "bad_each": "placeholder values other than <table>.rows, <table>.columns or a list",
    "bad_expression": "an equation or check that does not parse",
    "unknown_cell": "a reference to a cell the form does not have",
    "self_reference": "a total that refers to itself",
    "defined_twice": "a cell computed by two equations",
    "cycle": "totals that depend on each other in a cycle",
    "rule_without_cells": "a rule that refers to none of the form's cells",
    "missing_identity_field": "no prefilled agency or year field",
    "not_a_row_group": "charts' outcome_group is not a row group of the table",
    "unknown_column": "charts' outcome_column is not a column of the table",
}

# The keys allowed at each place of a spec; any other is refused with a did-you-mean among these.
_FORM_KEYS = frozenset({
    "id", "version", "name", "basis", "title", "password", "default", "report", "charts",
    "kinds", "fields", "sections", "computed", "rules", "cross_year",
})  # fmt: skip
_KIND_KEYS = frozenset(("type", "min", "max", "decimals", "unit", "label"))
_FIELD_KEYS = frozenset(("id", "label", "prefilled", "hint"))
_SECTION_KEYS = frozenset(("id", "title", "sheet", "text", "tables"))
_TEXT_KEYS = frozenset(("required", "max_length", "hint"))
_TABLE_KEYS = frozenset(("id", "caption", "corner", "kind", "landscape", "columns", "rows"))
_COLUMN_KEYS = frozenset(("id", "label", "kind", "note"))  # a column group has only `label` and `columns`
_ROW_KEYS = frozenset(("id", "label"))  # a row group has only `label` and `rows`
_COMPUTED_KEYS = frozenset(("eq", "each", "except"))
_RULE_KEYS = frozenset(("id", "check", "title", "message", "severity", "each", "except"))
_REPORT_KEYS = frozenset(("intro", "title_break", "attribute", "summary"))
DEFAULT_ATTRIBUTE = "（此件公开发布）"  # GB/T 9704 附注, printed under the date as the real reports do
_CHARTS_KEYS = frozenset(("received", "received_title", "outcome_group", "outcome_column", "outcome_skip", "outcome_title"))


class SpecProblem(str):
    """One mistake in a spec: the located Chinese text `file:第N行：message`, which is also a coded record.

    `message` is the text after the location (a did-you-mean included); `hint` is the suggestion alone, or "".
    """

    code: str
    file: str
    line: int  # 0 when unknown
    message: str
    hint: str

    def __new__(cls, code: str, file: str, line: int, message: str, hint: str = "") -> SpecProblem:
        if code not in PROBLEM_CODES:
            raise ValueError(f"unknown spec problem code: {code!r}")
        where = f"{file}:第{line}行" if line else file
        self = super().__new__(cls, f"{where}：{message}")
        self.code, self.file, self.line, self.message, self.hint = code, file, line, message, hint
        return self

    def __reduce__(self):
        return SpecProblem, (self.code, self.file, self.line, self.message, self.hint)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "file": self.file, "line": self.line, "message": self.message, "hint": self.hint}


class SpecError(Exception):
    """All mistakes found in one form spec, each a SpecProblem located as `file:第N行：…`."""

    def __init__(self, path: str, problems: list[SpecProblem]):
        self.path, self.problems = path, problems
        super().__init__("\n".join(problems))


def _closest(word: Any, choices: Any) -> str:
    """The did-you-mean for a misspelt name, or "" when nothing is close."""
    match = difflib.get_close_matches(str(word), list(choices), 1)
    return match[0] if match else ""


# ---------------------------------------------------------------- spec objects


@dataclass(frozen=True)
class Kind:
    id: str
    type: str  # "integer" | "decimal"
    min: Decimal
    max: Decimal
    decimals: int = 0
    unit: str = ""
    label: str = ""


@dataclass(frozen=True)
class Column:
    id: str
    label: str
    kind: Kind
    path: tuple[str, ...]  # labels of the header groups above it, outermost first
    note: str = ""


@dataclass(frozen=True)
class HeaderNode:
    label: str
    children: tuple[HeaderNode, ...] = ()
    column: Column | None = None

    @property
    def width(self) -> int:
        return 1 if not self.children else sum(c.width for c in self.children)

    @property
    def depth(self) -> int:
        return 1 + max((c.depth for c in self.children), default=0)


@dataclass(frozen=True)
class Row:
    """A leaf row (id set, holds values) or a group label spanning its descendants."""

    id: str | None
    label: str
    depth: int
    children: tuple[Row, ...] = ()
    path: tuple[str, ...] = ()  # labels of enclosing groups

    def leaves(self) -> list[Row]:
        return [self] if not self.children else [r for c in self.children for r in c.leaves()]


@dataclass(frozen=True)
class Table:
    id: str
    caption: str
    corner: str
    columns: tuple[Column, ...]
    header: tuple[HeaderNode, ...]
    row_tree: tuple[Row, ...]
    landscape: bool = False

    @property
    def rows(self) -> tuple[Row, ...]:
        return tuple(r for top in self.row_tree for r in top.leaves())

    @cached_property
    def all_rows(self) -> tuple[Row, ...]:
        """Every row, group rows included, outermost first (the printed order of row labels)."""

        def walk(rows: tuple[Row, ...]) -> Iterator[Row]:
            for r in rows:
                yield r
                yield from walk(r.children)

        return tuple(walk(self.row_tree))

    @property
    def header_depth(self) -> int:
        return max(n.depth for n in self.header)

    @property
    def label_depth(self) -> int:
        """How many label columns the rows need (0 when no row has a label)."""
        if not any(r.label for r in self.rows):
            return 0
        return max(r.depth for r in self.rows) + 1


@dataclass(frozen=True)
class Cell:
    id: str
    table: Table
    row: Row
    column: Column
    computed: bool

    @property
    def kind(self) -> Kind:
        return self.column.kind

    @property
    def label(self) -> str:
        """`（三）不予公开 / 1.属于国家秘密 / 自然人` style: where a clerk finds the cell."""
        parts = (*self.row.path[-1:], self.row.label, *self.column.path[-1:], self.column.label)
        return " / ".join(p for p in parts if p)


@dataclass(frozen=True)
class Equation:
    target: str
    expr: LinearExpr


@dataclass(frozen=True)
class RuleInstance:
    label: str  # what the placeholder stood for, e.g. 自然人
    comparison: Comparison
    bindings: tuple[tuple[str, str], ...] = ()  # placeholder -> id it was expanded with, e.g. (("c", "natural"),)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    message: str
    severity: str  # "error" | "warning"
    instances: tuple[RuleInstance, ...]
    table_id: str


@dataclass(frozen=True)
class TextSpec:
    required: bool
    max_length: int
    hint: str


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    sheet: str
    text: TextSpec | None
    tables: tuple[Table, ...]


@dataclass(frozen=True)
class Charts:
    """What the 图表 sheet of a collection shows: one figure per agency, and the outcome breakdown."""

    received: str  # cell id charted per agency
    received_title: str
    outcome_group: Row  # its children are the outcome categories (their leaves summed)
    outcome_column: str
    outcome_skip: tuple[str, ...]  # child row ids left out (e.g. the total row)
    outcome_title: str  # what the categories are called, e.g. 办理结果


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    prefilled: bool = False
    hint: str = ""


@dataclass(frozen=True, eq=False)
class Form:
    id: str
    version: str
    name: str
    basis: str
    title: str
    password: str
    default: bool
    intro: str  # the Word report's opening sentence
    charts: Charts | None  # the 图表 sheet of collection.xlsx; None: no charts
    title_break: str  # a long report title breaks before this text (GB/T 9704 7.3.3)
    fields: tuple[Field, ...]
    sections: tuple[Section, ...]
    cells: dict[str, Cell]
    equations: tuple[Equation, ...]  # in evaluation order
    rules: tuple[Rule, ...]
    cross_year: tuple[Rule, ...]
    fingerprint: str
    source: str = field(default="", compare=False)
    text: str = field(default="", compare=False, repr=False)  # the YAML, to rebuild in another process
    attribute: str = DEFAULT_ATTRIBUTE  # 附注 under the report's date; "" prints none
    summary: dict[str, str] = field(default_factory=dict, compare=False)  # section id -> summary.docx's text

    def __reduce__(self):
        """Pickle as the YAML: worker processes reuse their own parsed copy of the same text."""
        return _form_from_pickle, (self.text, self.source)

    @cached_property
    def tables(self) -> tuple[Table, ...]:
        return tuple(t for s in self.sections for t in s.tables)

    @cached_property
    def input_cells(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells.values() if not c.computed)

    @cached_property
    def text_sections(self) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.text)

    def compute(self, inputs: dict[str, int | Decimal]) -> dict[str, int | Decimal]:
        """All cell values: the inputs plus every computed cell, in dependency order."""
        values = dict(inputs)
        for eq in self.equations:
            values[eq.target] = eq.expr.evaluate(values)
        return values

    def report_title(self, agency: str, year: int | str) -> str:
        return self.title.format(agency=agency, year=year)


# ---------------------------------------------------------------- YAML with line numbers


class _LineDict(dict):
    line = 0  # where the mapping starts
    key_lines: dict  # key -> the line it is written on


class _Loader(yaml.SafeLoader):
    pass


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A key written twice in one mapping (PyYAML alone would keep the last silently)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    lines: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in lines:
            raise _DuplicateKey(None, None, f"重复的键“{key}”", key_node.start_mark)
        lines[key] = key_node.start_mark.line + 1
    d = _LineDict(loader.construct_mapping(node, deep=True))
    d.line, d.key_lines = node.start_mark.line + 1, lines
    return d


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _ShippedLoader(getattr(yaml, "CSafeLoader", _Loader)):
    """The forms shipped with the toolkit, parsed by libyaml when PyYAML has it: 20 ms less at every start.
    A user's spec keeps the pure-Python loader, whose error messages the spec problems quote."""


_ShippedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# ---------------------------------------------------------------- building


class _Builder:
    """Turns the raw YAML into a Form, collecting every problem before failing."""

    def __init__(self, raw: dict, source: str):
        self.raw, self.source, self.problems = raw, source, []
        self.kinds: dict[str, Kind] = {}
        self.tables: dict[str, Table] = {}
        self.cells: dict[str, Cell] = {}

    def error(self, node: Any, code: str, message: str, hint: str = "", key: Any = None) -> None:
        """A problem at the line of `node`'s mapping (of its `key`, when given); a hint (did-you-mean) ends the message."""
        if hint:
            message += f"，是否应为“{hint}”？"
        line = getattr(node, "key_lines", {}).get(key) or getattr(node, "line", 0)
        self.problems.append(SpecProblem(code, self.source, line, message, hint))

    def keys(self, node: Any, allowed: frozenset[str], group: str = "") -> None:
        """Refuse every key of a mapping not allowed at its place, with a did-you-mean among those that are.

        `group` is the key (columns, rows) that makes an entry a group, which has only it and a label.
        """
        if not isinstance(node, dict):
            return
        is_group = bool(group) and group in node
        here = frozenset(("label", group)) if is_group else allowed
        for key in node:
            if key in here:
                continue
            if is_group and key in allowed:
                self.error(node, "unknown_key", f"分组只能有“label”和“{group}”，不能有“{key}”", key=key)
            else:
                self.error(node, "unknown_key", f"未知的键“{key}”", _closest(key, here | {group} if group else here), key=key)

    def need(self, node: dict, key: str, default: Any = None) -> Any:
        if key not in node:
            if default is None:
                self.error(node, "missing_key", f"缺少“{key}”")
            return default
        return node[key]

    def items(self, parent: Any, value: Any, key: str) -> list[dict]:
        """The mappings listed under `key`; anything else is reported (with the parent's line), not crashed on."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(parent, "not_a_list", f"“{key}”应是一个列表（每项以“- ”开头）")
            return []
        bad = [item for item in value if not isinstance(item, dict)]
        for item in bad:
            self.error(parent, "not_a_mapping", f"“{key}”中的“{item}”应写成映射（如 {{id: …, label: …}}）")
        return [item for item in value if isinstance(item, dict)]

    def mapping(self, parent: Any, key: str) -> dict:
        """The mapping under `key` ({} when absent); anything else is reported (with the parent's line), not crashed on."""
        value = parent.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(parent, "not_a_mapping", f"“{key}”应是一个映射（每项写成“键: 值”）")
            return {}
        return value

    def check_id(self, node: Any, value: Any, what: str) -> str:
        if not isinstance(value, str) or not _ID.match(value):
            self.error(node, "bad_id", f"{what}“{value}”不是合法的标识（只能用英文字母、数字和下划线，且不以数字开头）")
            return str(value)
        return value

    # kinds ---------------------------------------------------------------
    def build_kinds(self) -> None:
        for kid, k in self.mapping(self.raw, "kinds").items():
            self.keys(k, _KIND_KEYS)
            if not isinstance(k, dict) or k.get("type") not in ("integer", "decimal"):
                self.error(k, "bad_value", f"取值类型“{kid}”的 type 应为 integer 或 decimal")
                continue
            low, high = self.number(k, "min", 0, Decimal), self.number(k, "max", 10**9, Decimal)
            decimals = self.number(k, "decimals", 0, int)
            self.kinds[kid] = Kind(kid, k["type"], low, high, decimals, str(k.get("unit", "")), str(k.get("label", kid)))

    def number(self, node: dict, key: str, default: int, kind: type) -> Any:
        """A numeric setting, or a located problem (and the default) when it is not a number."""
        value = node.get(key, default)
        try:
            if isinstance(value, bool) or (kind is int and not isinstance(value, int)):
                raise ValueError
            number = kind(str(value))
            if isinstance(number, Decimal) and not number.is_finite():
                raise ValueError
            return number
        except (ValueError, ArithmeticError):
            self.error(node, "not_a_number", f"“{key}”应为{'整数' if kind is int else '数字'}，而不是“{value}”")
            return kind(default)

    def kind(self, node: dict, name: Any) -> Kind:
        if name in self.kinds:
            return self.kinds[name]
        self.error(node, "unknown_kind", f"未定义的取值类型“{name}”", _closest(name, self.kinds))
        return Kind("?", "integer", Decimal(0), Decimal(0))

    # tables --------------------------------------------------------------
    def header(self, nodes: list, default_kind: Kind, path: tuple[str, ...], seen: set) -> tuple[HeaderNode, ...]:
        out = []
        for n in nodes:
            self.keys(n, _COLUMN_KEYS, "columns")
            label = str(n.get("label", ""))
            if "columns" in n:
                children = self.items(n, n["columns"], "columns")
                out.append(HeaderNode(label, self.header(children, default_kind, (*path, label), seen)))
                continue
            cid = self.check_id(n, n.get("id"), "列标识")
            if cid in seen:
                self.error(n, "duplicate_id", f"列标识“{cid}”重复")
            seen.add(cid)
            kind = self.kind(n, n["kind"]) if "kind" in n else default_kind
            col = Column(cid, label, kind, path, str(n.get("note", "")))
            out.append(HeaderNode(label, column=col))
        return tuple(out)

    def rows(self, nodes: list, depth: int, path: tuple[str, ...], seen: set) -> tuple[Row, ...]:
        out = []
        for n in nodes:
            self.keys(n, _ROW_KEYS, "rows")
            label = str(n.get("label", ""))
            if "rows" in n:
                children = self.items(n, n["rows"], "rows")
                out.append(Row(None, label, depth, self.rows(children, depth + 1, (*path, label), seen), path))
                continue
            rid = self.check_id(n, n.get("id"), "行标识")
            if rid in seen:
                self.error(n, "duplicate_id", f"行标识“{rid}”重复")
            seen.add(rid)
            out.append(Row(rid, label, depth, (), path))
        return tuple(out)

    def build_table(self, t: dict) -> Table | None:
        self.keys(t, _TABLE_KEYS)
        tid = self.check_id(t, t.get("id"), "表格标识")
        if tid in self.tables:
            self.error(t, "duplicate_id", f"表格标识“{tid}”重复")
            return None
        default_kind = self.kind(t, t.get("kind", "count"))
        header = self.header(self.items(t, self.need(t, "columns", []), "columns"), default_kind, (), set())
        columns = tuple(c for c in _leaf_columns(header))
        row_tree = self.rows(self.items(t, self.need(t, "rows", []), "rows"), 0, (), set())
        if not columns or not row_tree:
            self.error(t, "empty_table", f"表格“{tid}”至少要有一行一列")
            return None
        table = Table(
            tid, str(t.get("caption", "")), str(t.get("corner", "")), columns, header, row_tree, bool(t.get("landscape"))
        )
        self.tables[tid] = table
        for r in table.rows:
            for c in table.columns:
                cid = f"{tid}.{r.id}.{c.id}"
                self.cells[cid] = Cell(cid, table, r, c, computed=False)
        return table

    # sections ------------------------------------------------------------
    def build_sections(self) -> tuple[Section, ...]:
        out, ids, sheets = [], set(), set()
        for s in self.items(self.raw, self.need(self.raw, "sections", []), "sections"):
            self.keys(s, _SECTION_KEYS)
            sid = self.check_id(s, s.get("id"), "部分标识")
            sheet = str(self.need(s, "sheet", ""))
            for value, seen, what, code in (
                (sid, ids, "部分标识", "duplicate_id"),
                (sheet, sheets, "工作表名", "duplicate_sheet"),
            ):
                if value in seen:
                    self.error(s, code, f"{what}“{value}”重复")
                seen.add(value)
            if not sheet or len(sheet) > 31 or set(sheet) & _BAD_SHEET_CHARS:
                self.error(s, "bad_sheet_name", f"工作表名“{sheet}”无效（1 到 31 个字符，不能含 [ ] : * ? / \\）")
            text = None
            if "text" in s:
                t = self.mapping(s, "text")
                self.keys(t, _TEXT_KEYS)
                text = TextSpec(bool(t.get("required", False)), self.number(t, "max_length", 20000, int), str(t.get("hint", "")))
            tables = tuple(x for x in (self.build_table(t) for t in self.items(s, s.get("tables"), "tables")) if x)
            if text is None and not tables:
                self.error(s, "empty_section", f"部分“{sid}”既没有 text 也没有 tables")
            out.append(Section(sid, str(self.need(s, "title", "")), sheet, text, tables))
        return tuple(out)

    # equations -----------------------------------------------------------
    def expand(self, node: dict, template: str) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
        """(label, text, bindings) for every combination of the `each` placeholders, minus `except`."""
        combos: list[tuple[dict[str, str], list[str]]] = [({}, [])]
        excepted = self.mapping(node, "except")
        for name, spec in self.mapping(node, "each").items():
            values = self.placeholder_values(node, spec)
            skip = {str(v) for v in self.items_of(node, excepted.get(name), f"except.{name}")}
            combos = [({**m, name: v}, [*lbl, label]) for m, lbl in combos for v, label in values if v not in skip]
        out = []
        for mapping, labels in combos:
            text = template
            for name, value in mapping.items():
                text = text.replace("{" + name + "}", value)
            out.append(("、".join(x for x in labels if x), text, tuple(mapping.items())))
        return out

    def items_of(self, node: dict, value: Any, key: str) -> list:
        """A list of plain values (ids to leave out); anything else is reported, not iterated letter by letter."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(node, "not_a_list", f"“{key}”应是一个列表（如 [total]），而不是“{value}”")
            return []
        return value

    def placeholder_values(self, node: dict, spec: Any) -> list[tuple[str, str]]:
        if isinstance(spec, list):
            return [(str(v), "") for v in spec]
        tid, _, what = str(spec).rpartition(".")
        table = self.tables.get(tid)
        if table is None or what not in ("rows", "columns"):
            self.error(node, "bad_each", f"“{spec}”应写成“表格标识.rows”或“表格标识.columns”，或列出取值")
            return []
        items = table.rows if what == "rows" else table.columns
        return [(i.id, i.label or table.caption) for i in items]

    def unknown_cell(self, node: dict, ref: str) -> None:
        self.error(node, "unknown_cell", f"引用了不存在的单元格“{ref}”", _closest(ref, self.cells))

    def build_equations(self) -> tuple[Equation, ...]:
        equations: dict[str, tuple[Equation, dict]] = {}
        for node in self.items(self.raw, self.raw.get("computed"), "computed"):
            self.keys(node, _COMPUTED_KEYS)
            for _, text, _ in self.expand(node, str(self.need(node, "eq", ""))):
                try:
                    target, expr = parse_equation(text)
                except ExprError as e:
                    self.error(node, "bad_expression", str(e))
                    continue
                for ref in (target, *expr.refs):
                    if ref not in self.cells:
                        self.unknown_cell(node, ref)
                if target in expr.refs:
                    self.error(node, "self_reference", f"合计单元格“{target}”引用了自身")
                elif target in equations:
                    self.error(node, "defined_twice", f"单元格“{target}”被定义了两次（另见第{equations[target][1].line}行）")
                elif target in self.cells:
                    equations[target] = (Equation(target, expr), node)
        for target in equations:
            c = self.cells[target]
            self.cells[target] = Cell(c.id, c.table, c.row, c.column, computed=True)
        return self.order(equations)

    def order(self, equations: dict[str, tuple[Equation, dict]]) -> tuple[Equation, ...]:
        ordered, state = [], {}

        def visit(target: str, chain: list[str]) -> None:
            if state.get(target) == "done":
                return
            if state.get(target) == "active":
                self.error(equations[target][1], "cycle", "合计之间存在循环引用：" + " → ".join([*chain, target]))
                return
            state[target] = "active"
            for ref in equations[target][0].expr.refs:
                if ref in equations:
                    visit(ref, [*chain, target])
            state[target] = "done"
            ordered.append(equations[target][0])

        for target in equations:
            visit(target, [])
        return tuple(ordered)

    def build_charts(self) -> Charts | None:
        node = self.mapping(self.raw, "charts")
        if not node:
            return None
        self.keys(node, _CHARTS_KEYS)
        received, column = str(node.get("received", "")), str(node.get("outcome_column", ""))
        if received not in self.cells:
            self.unknown_cell(node, received)
        table = self.tables.get(received.split(".", maxsplit=1)[0])
        label = str(node.get("outcome_group", ""))
        group = next((r for r in (table.row_tree if table else ()) if r.label == label and r.children), None)
        if group is None:
            self.error(node, "not_a_row_group", f"outcome_group“{label}”不是表格“{table.id if table else '?'}”中的分组行")
        elif table and column not in {c.id for c in table.columns}:
            self.error(node, "unknown_column", f"outcome_column“{column}”不是表格“{table.id}”的列")
        if self.problems:
            return None
        skip = tuple(str(x) for x in node.get("outcome_skip") or ())
        title = str(node.get("outcome_title", group.label))
        return Charts(received, str(node.get("received_title", received)), group, column, skip, title)

    def build_rules(self, key: str) -> tuple[Rule, ...]:
        out, ids = [], set()
        for node in self.items(self.raw, self.raw.get(key), key):
            self.keys(node, _RULE_KEYS)
            rid = self.check_id(node, node.get("id"), "规则标识")
            if rid in ids:
                self.error(node, "duplicate_id", f"规则标识“{rid}”重复")
            ids.add(rid)
            instances = []
            for label, text, bindings in self.expand(node, str(self.need(node, "check", ""))):
                try:
                    comparison = parse_comparison(text)
                except ExprError as e:
                    self.error(node, "bad_expression", str(e))
                    continue
                for ref in comparison.refs:
                    if ref.removeprefix("prev.") not in self.cells or (ref.startswith("prev.") and key == "rules"):
                        self.unknown_cell(node, ref)
                instances.append(RuleInstance(label, comparison, bindings))
            severity = node.get("severity", "error")
            if severity not in ("error", "warning"):
                self.error(node, "bad_value", f"severity 应为 error 或 warning，而不是“{severity}”")
            own = [r for i in instances for r in i.comparison.refs if not r.startswith("prev.")]
            if instances and not own:
                self.error(node, "rule_without_cells", f"规则“{rid}”没有引用本表式的任何单元格")
            table_id = own[0].split(".")[0] if own else ""
            message = str(self.need(node, "message", ""))
            out.append(Rule(rid, str(node.get("title", message)), message, severity, tuple(instances), table_id))
        return tuple(out)

    def build_summary(self, report: dict, sections: tuple[Section, ...]) -> dict[str, str]:
        """`report.summary`: the default text of summary.docx's text sections, by section id."""
        texts = self.mapping(report, "summary")
        ids = {s.id for s in sections if s.text}
        for key, value in texts.items():
            if key not in ids:
                self.error(
                    texts, "unknown_key", f"report.summary 中的“{key}”不是文字部分的标识", _closest(str(key), ids), key=key
                )
            elif not isinstance(value, str):
                self.error(texts, "bad_value", f"report.summary 中“{key}”的内容应是一段文字")
        return {str(k): v for k, v in texts.items() if k in ids and isinstance(v, str)}

    def build_fields(self) -> tuple[Field, ...]:
        fields = []
        for f in self.items(self.raw, self.raw.get("fields"), "fields"):
            self.keys(f, _FIELD_KEYS)
            fid = self.check_id(f, f.get("id"), "字段标识")
            fields.append(Field(fid, str(f.get("label", "")), bool(f.get("prefilled")), str(f.get("hint", ""))))
        for required in IDENTITY_FIELDS:  # every stage knows a return by these two, so a form must have them
            if not any(f.id == required and f.prefilled for f in fields):
                self.error(
                    self.raw,
                    "missing_identity_field",
                    f"fields 中必须有 {{id: {required}, prefilled: true}}（机关名称和年度由工具预填，用来识别每份报表）",
                )
        return tuple(fields)


def _leaf_columns(nodes: tuple[HeaderNode, ...]):
    for n in nodes:
        if n.column is not None:
            yield n.column
        yield from _leaf_columns(n.children)


def _load_yaml(text: str, source: str, loader: type = _Loader) -> dict:
    """The spec's top mapping, with line numbers; SpecError when the text is not one."""
    try:
        raw = yaml.load(text, Loader=loader)  # noqa: S506 - both loaders are safe loaders
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        code = "duplicate_key" if isinstance(e, _DuplicateKey) else "yaml_syntax"
        problem = SpecProblem(code, source, mark.line + 1 if mark else 0, f"YAML 格式错误：{getattr(e, 'problem', e)}")
        raise SpecError(source, [problem]) from None
    if not isinstance(raw, dict):
        raise SpecError(source, [SpecProblem("not_a_mapping", source, 0, "表式定义应是一个 YAML 映射")])
    return raw


def parse_form(text: str, source: str = "<spec>", *, shipped: bool = False) -> Form:
    """Build a Form from YAML text; raises SpecError listing every problem found."""
    raw = _load_yaml(text, source, _ShippedLoader if shipped else _Loader)
    b = _Builder(raw, source)
    b.keys(raw, _FORM_KEYS)
    report = b.mapping(raw, "report")
    b.keys(report, _REPORT_KEYS)
    for key in ("id", "version", "title"):  # no default: a spec without them is reported, not crashed on
        b.need(raw, key)
    b.build_kinds()
    sections = b.build_sections()
    equations = b.build_equations()
    rules, cross_year = b.build_rules("rules"), b.build_rules("cross_year")
    fields = b.build_fields()
    charts = b.build_charts()
    summary = b.build_summary(report, sections)
    if b.problems:
        raise SpecError(source, b.problems)
    workbook_part = {k: raw.get(k) for k in WORKBOOK_KEYS}  # what shapes the workbook; nothing else changes it
    canonical = json.dumps(workbook_part, sort_keys=True, ensure_ascii=False, default=str)
    form = Form(
        id=str(raw["id"]),
        version=str(raw["version"]),
        name=str(raw.get("name", raw["id"])),
        basis=str(raw.get("basis", "")),
        title=str(raw["title"]),
        password=str(raw.get("password") or ""),
        default=bool(raw.get("default")),
        intro=str(report.get("intro", "")),
        charts=charts,
        title_break=str(report.get("title_break", "")),
        attribute=_attribute(report),
        summary=summary,
        fields=fields,
        sections=sections,
        cells=b.cells,
        equations=equations,
        rules=rules,
        cross_year=cross_year,
        fingerprint=hashlib.sha256(canonical.encode()).hexdigest()[:16],
        source=source,
        text=text,
    )
    _KNOWN[text] = form
    return form


def _attribute(report: dict) -> str:
    """`report.attribute`: the 附注 text; absent means the default, false or empty means none."""
    value = report.get("attribute", DEFAULT_ATTRIBUTE)
    return "" if value is None or value is False else str(value).strip()


_KNOWN: dict[str, Form] = {}  # YAML text -> the form parsed from it last, so unpickling parses once per process


def _form_from_pickle(text: str, source: str) -> Form:
    return _KNOWN.get(text) or parse_form(text, source)


def load_form(path: str | Path) -> Form:
    path = Path(path)
    return parse_form(path.read_text(encoding="utf-8"), path.name)


_BUILTIN: dict[str, Form] = {}


def builtin_forms() -> dict[str, Form]:
    """The forms shipped in workbook_templates/, by id (loaded once per process)."""
    if not _BUILTIN:
        for entry in sorted(resources.files("workbook_templates").iterdir(), key=lambda p: p.name):
            if entry.name.endswith((".yaml", ".yml")):
                form = parse_form(entry.read_text(encoding="utf-8"), entry.name, shipped=True)
                _BUILTIN[form.id] = form
    return _BUILTIN


def known_forms(extra: tuple[Form, ...] = ()) -> dict[str, Form]:
    """The built-in forms plus a user's own (a returned file is recognised among these)."""
    return {**builtin_forms(), **{f.id: f for f in extra}}


def default_form() -> Form:
    forms = builtin_forms()
    return next((f for f in forms.values() if f.default), next(iter(forms.values())))


def get_form(name: str | None) -> Form:
    """A built-in form by id, or a user's spec file by path; KeyError names the known ids."""
    if not name:
        return default_form()
    forms = builtin_forms()
    if name in forms:
        return forms[name]
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return load_form(name)
    raise KeyError(name)
