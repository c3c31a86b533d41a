"""How every command shows its results: one block per file for people, one JSON shape for programs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import click

from toolkit.cli.app import debugging
from toolkit.returns.model import ERROR, Problem

JSON_SCHEMA_VERSION = 1
SEVERITY = {"error": "错误", "warning": "警告"}


def echo_file(path: str, who: Iterable[str], verdict: str, problems: Iterable[Problem], err: bool = False) -> None:
    """`== 文件（机关，年度）：结论` and its problems, errors first."""
    names = "，".join(x for x in who if x)
    click.echo(f"== {path}" + (f"（{names}）" if names else "") + f"：{verdict}", err=err)
    for p in sorted(problems, key=lambda p: p.severity != ERROR):
        click.echo(f"  [{SEVERITY[p.severity]}] {p.message}", err=err)
        if p.code == "internal_error" and debugging():
            click.echo(p.value, err=True)


def result_json(files: list[dict[str, Any]], summary: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The one machine-readable shape of check, report and merge (schema documented in README)."""
    return {"schema": JSON_SCHEMA_VERSION, "summary": dict(summary), "files": files, **extra}


def echo_json(result: Mapping[str, Any]) -> None:
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))
