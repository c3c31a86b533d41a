"""Linear equations over cell ids: one parsed form drives both the Excel formula and the Python check."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<ref>[A-Za-z_][\w.]*)|(?P<op>>=|<=|==|!=|=|>|<|\+|-))")
COMPARATORS = {"=": "=", "==": "=", "!=": "<>", ">=": ">=", "<=": "<=", ">": ">", "<": "<"}


class ExprError(ValueError):
    """A malformed equation in a form spec."""


@dataclass(frozen=True)
class Term:
    sign: int
    ref: str | None = None
    const: int | Decimal = 0


@dataclass(frozen=True)
class LinearExpr:
    """A sum of signed cell references and constants."""

    terms: tuple[Term, ...]

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(t.ref for t in self.terms if t.ref is not None)

    def evaluate(self, values: Mapping[str, int | Decimal]) -> int | Decimal:
        total: int | Decimal = 0
        for t in self.terms:
            total += t.sign * (values[t.ref] if t.ref is not None else t.const)
        return total

    def to_excel(self, address_of: Callable[[str], str]) -> str:
        parts = []
        for i, t in enumerate(self.terms):
            text = address_of(t.ref) if t.ref is not None else str(t.const)
            if i == 0:
                parts.append(text if t.sign > 0 else "-" + text)
            else:
                parts.append(("+" if t.sign > 0 else "-") + text)
        return "".join(parts)


@dataclass(frozen=True)
class Comparison:
    """`left OP right`; `holds` and `to_excel` share one meaning."""

    left: LinearExpr
    op: str
    right: LinearExpr

    @property
    def refs(self) -> tuple[str, ...]:
        return self.left.refs + self.right.refs

    def holds(self, values: Mapping[str, int | Decimal]) -> bool:
        a, b = self.left.evaluate(values), self.right.evaluate(values)
        return {
            "=": a == b,
            "<>": a != b,
            ">=": a >= b,
            "<=": a <= b,
            ">": a > b,
            "<": a < b,
        }[self.op]

    def to_excel(self, address_of: Callable[[str], str]) -> str:
        return f"{self.left.to_excel(address_of)}{self.op}{self.right.to_excel(address_of)}"


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExprError(f"无法识别的内容：“{text[pos : pos + 20]}”")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _linear(tokens: list[tuple[str, str]], source: str) -> LinearExpr:
    terms, sign, expect_operand = [], 1, True
    for kind, value in tokens:
        if expect_operand and kind == "op" and value in "+-":
            sign = sign * (-1 if value == "-" else 1)
        elif expect_operand and kind == "num":
            terms.append(Term(sign, const=Decimal(value) if "." in value else int(value)))
            sign, expect_operand = 1, False
        elif expect_operand and kind == "ref":
            terms.append(Term(sign, ref=value))
            sign, expect_operand = 1, False
        elif not expect_operand and kind == "op" and value in "+-":
            sign, expect_operand = (-1 if value == "-" else 1), True
        else:
            raise ExprError(f"“{source}”中“{value}”的位置不对")
    if expect_operand:
        raise ExprError(f"“{source}”不完整")
    return LinearExpr(tuple(terms))


def parse_comparison(text: str) -> Comparison:
    tokens = _tokens(text)
    ops = [i for i, (k, v) in enumerate(tokens) if k == "op" and v in COMPARATORS]
    if len(ops) != 1:
        raise ExprError(f"“{text}”应恰好含一个比较符（= >= <= > < !=）")
    i = ops[0]
    return Comparison(_linear(tokens[:i], text), COMPARATORS[tokens[i][1]], _linear(tokens[i + 1 :], text))


def parse_equation(text: str) -> tuple[str, LinearExpr]:
    """`target = expr` as used for computed cells."""
    comparison = parse_comparison(text)
    left = comparison.left.terms
    if comparison.op != "=" or len(left) != 1 or left[0].ref is None or left[0].sign != 1:
        raise ExprError(f"“{text}”应写成“单元格 = 表达式”")
    return left[0].ref, comparison.right
