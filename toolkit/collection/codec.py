"""A checked Return as plain JSON and back, for the merge cache: data only, never pickle.

A cache folder may be writable by someone else; JSON can only ever give back strings, numbers,
lists and dicts, which are then checked into a Return. Numbers keep their exact type: an int stays
an int, a Decimal travels as its string (so 1.500000 comes back as Decimal("1.500000")).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from toolkit.forms.spec import Form
from toolkit.returns.model import Problem, Return

_PROBLEM_TEXTS = ("code", "severity", "message", "sheet", "cell", "cell_id", "labels", "value", "expected", "rule")


class Unstorable(ValueError):
    """A value the codec does not know how to keep exactly (the return is simply not cached)."""


def _number(value: object) -> int | str | float:
    if isinstance(value, bool):
        raise Unstorable(repr(value))
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    raise Unstorable(repr(value))


def _from_number(value: object) -> int | float | Decimal:
    if isinstance(value, str):
        return Decimal(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise ValueError(f"not a number: {value!r}")


def _strings(data: object) -> dict[str, str]:
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError("not a dict of strings")
    return data


def problem_data(p: Problem) -> list:
    return [*(getattr(p, name) for name in _PROBLEM_TEXTS), [list(pair) for pair in p.expansion]]


def problem_from(data: list) -> Problem:
    *texts, expansion = data
    if len(texts) != len(_PROBLEM_TEXTS) or not all(isinstance(t, str) for t in texts):
        raise ValueError("not a problem")
    return Problem(*texts, expansion=tuple((str(a), str(b)) for a, b in expansion))


def return_data(ret: Return) -> dict[str, Any]:
    """Everything a merge needs of a checked return (its substitutions are the checker's business, not the merge's)."""
    return {
        "path": ret.path,
        "form": ret.form.id if ret.form is not None else None,
        "agency": ret.agency,
        "year": ret.year,
        "fields": dict(ret.fields),
        "values": {k: _number(v) for k, v in ret.values.items()},
        "texts": dict(ret.texts),
        "metadata": dict(ret.metadata),
        "problems": [problem_data(p) for p in ret.problems],
    }


def return_from(data: dict[str, Any], forms: Mapping[str, Form]) -> Return:
    """The Return stored by return_data; ValueError (or KeyError, TypeError) for anything that is not one."""
    form_id = data["form"]
    if form_id is not None and form_id not in forms:
        raise KeyError(form_id)
    year = data["year"]
    if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
        raise ValueError("year")
    if not isinstance(data["path"], str) or not isinstance(data["agency"], str):
        raise ValueError("path or agency")
    return Return(
        path=data["path"],
        form=forms[form_id] if form_id is not None else None,
        agency=data["agency"],
        year=year,
        fields=_strings(data["fields"]),
        values={str(k): _from_number(v) for k, v in data["values"].items()},
        texts=_strings(data["texts"]),
        metadata=_strings(data["metadata"]),
        problems=[problem_from(p) for p in data["problems"]],
    )


def stored_return(data: object, forms: Mapping[str, Form]) -> Return | None:
    """return_from for what came out of a cache entry: None (a miss) for anything that is not a stored return."""
    if not isinstance(data, dict):
        return None
    try:
        return return_from(data, forms)
    except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError):
        return None
