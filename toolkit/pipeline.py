"""The pipeline's public API: what the command line (and the web service) call.

It decides what a file is from what the file says about itself: a return goes to reading and
checking, a collection made by `toolkit merge` to the collection stage, anything else is refused
by the reading guards with a reason. Stages below never call upwards; this module joins them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from toolkit.checking.annotate import annotate
from toolkit.checking.check import check_return, refusal
from toolkit.collection.merge import duplicates, merge_returns, not_returned
from toolkit.collection.merge import exit_code as merge_exit_code
from toolkit.collection.model import FATES, Collection, Entry
from toolkit.collection.outputs import write_outputs
from toolkit.collection.readback import verify_collection
from toolkit.collection.summary import read_summary_text
from toolkit.forms.spec import Form, get_form
from toolkit.reading.guards import DEFAULT_LIMITS, Limits
from toolkit.reading.interpret import COLLECTION, RETURN, interpret, kind_of, read_metadata, read_workbook
from toolkit.reports.batch import render_all
from toolkit.reports.pdf import convert_to_pdf, find_soffice
from toolkit.reports.render import lint_template, render_report, template_variables
from toolkit.returns.model import Return
from toolkit.workbook.mailing import (
    Agency,
    check_agency,
    check_year,
    read_agencies,
    read_agency_list,
    write_mailing,
    write_template,
)

__all__ = [
    "COLLECTION",
    "FATES",
    "RETURN",
    "Agency",
    "Collection",
    "Entry",
    "Return",
    "annotate",
    "check_agency",
    "check_file",
    "check_or_refuse",
    "check_return",
    "check_year",
    "convert_to_pdf",
    "duplicates",
    "find_soffice",
    "get_form",
    "is_collection",
    "lint_template",
    "merge_exit_code",
    "merge_returns",
    "not_returned",
    "read_agencies",
    "read_agency_list",
    "read_file",
    "read_return",
    "read_summary_text",
    "render_all",
    "render_report",
    "template_variables",
    "write_mailing",
    "write_outputs",
    "write_template",
]


def read_file(path: str | Path, forms: Mapping[str, Form] | None = None, limits: Limits = DEFAULT_LIMITS) -> tuple[str, Return]:
    """(what the file is, what it holds): RETURN read back, or COLLECTION verified; UnreadableFile for anything else."""
    book = read_workbook(path, limits)
    meta = read_metadata(book)
    if kind_of(meta) == COLLECTION:
        return COLLECTION, verify_collection(book, str(path), meta, forms)
    return RETURN, interpret(book, str(path), forms)


def is_collection(ret: Return) -> bool:
    """Whether a file read back is a collection made by `toolkit merge` (no agency's figures of its own)."""
    return kind_of(ret.metadata) == COLLECTION


def read_return(path: str | Path, forms: Mapping[str, Form] | None = None, limits: Limits = DEFAULT_LIMITS) -> Return:
    """One file read back (a return, or a collection verified against its own 明细), before the rules are checked."""
    return read_file(path, forms, limits)[1]


def check_file(path: str | Path, forms: Mapping[str, Form] | None = None, limits: Limits = DEFAULT_LIMITS) -> Return:
    """Everything known about one file: a return read and checked, or a collection verified."""
    kind, ret = read_file(path, forms, limits)
    return check_return(ret) if kind == RETURN else ret


def check_or_refuse(path: str | Path, forms: Mapping[str, Form] | None = None, limits: Limits = DEFAULT_LIMITS) -> Return:
    """check_file, with an unreadable file (or one a bug of ours stopped) turned into a Return holding that one problem."""
    try:
        return check_file(path, forms, limits)
    except Exception as e:  # one file's fate, whatever it is; the batch goes on
        return refusal(path, e)
