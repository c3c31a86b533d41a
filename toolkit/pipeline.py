"""The pipeline's public API: what the command line (and the web service) call.

It decides what a file is from what the file says about itself: a return goes to reading and
checking, a collection made by `toolkit merge` to the collection stage, anything else is refused
by the reading guards with a reason. Stages below never call upwards; this module joins them.

What it re-exports from the stages is imported on first use (module `__getattr__`): `toolkit check`
does not import what rendering (docxtpl), annotating (openpyxl) or merging (xlsxwriter) need.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.checking.check import check_return, refusal
from toolkit.forms.layout import layout_of
from toolkit.forms.spec import Form, get_form
from toolkit.reading.guards import DEFAULT_LIMITS, Limits
from toolkit.reading.interpret import COLLECTION, RETURN, interpret, kind_of, read_metadata, read_workbook
from toolkit.returns.model import Return

if TYPE_CHECKING:  # imported on first use below; named here for type checkers and the layers contract
    from toolkit.checking.annotate import annotate
    from toolkit.collection.merge import duplicates, merge_returns, not_returned
    from toolkit.collection.merge import exit_code as merge_exit_code
    from toolkit.collection.model import FATES, Collection, Entry
    from toolkit.collection.outputs import write_outputs
    from toolkit.collection.summary import read_summary_text
    from toolkit.core.agencies import Agency
    from toolkit.importing.importer import Options as ImportOptions
    from toolkit.importing.importer import import_report
    from toolkit.importing.model import Imported
    from toolkit.importing.output import write_audit, write_return
    from toolkit.importing.sources import find_reports
    from toolkit.reports.batch import render_all
    from toolkit.reports.pdf import convert_to_pdf, find_soffice
    from toolkit.reports.render import lint_template, render_report, template_variables
    from toolkit.workbook.mailing import (
        check_agency,
        check_year,
        read_agencies,
        read_agency_list,
        write_mailing,
        write_template,
    )

# name -> (module, its name there): imported when first asked for
_LAZY = {
    "annotate": ("toolkit.checking.annotate", "annotate"),
    "duplicates": ("toolkit.collection.merge", "duplicates"),
    "merge_returns": ("toolkit.collection.merge", "merge_returns"),
    "not_returned": ("toolkit.collection.merge", "not_returned"),
    "merge_exit_code": ("toolkit.collection.merge", "exit_code"),
    "FATES": ("toolkit.collection.model", "FATES"),
    "Collection": ("toolkit.collection.model", "Collection"),
    "Entry": ("toolkit.collection.model", "Entry"),
    "write_outputs": ("toolkit.collection.outputs", "write_outputs"),
    "read_summary_text": ("toolkit.collection.summary", "read_summary_text"),
    "render_all": ("toolkit.reports.batch", "render_all"),
    "convert_to_pdf": ("toolkit.reports.pdf", "convert_to_pdf"),
    "find_soffice": ("toolkit.reports.pdf", "find_soffice"),
    "lint_template": ("toolkit.reports.render", "lint_template"),
    "render_report": ("toolkit.reports.render", "render_report"),
    "template_variables": ("toolkit.reports.render", "template_variables"),
    "Agency": ("toolkit.core.agencies", "Agency"),
    "ImportOptions": ("toolkit.importing.importer", "Options"),
    "import_report": ("toolkit.importing.importer", "import_report"),
    "Imported": ("toolkit.importing.model", "Imported"),
    "write_audit": ("toolkit.importing.output", "write_audit"),
    "write_return": ("toolkit.importing.output", "write_return"),
    "find_reports": ("toolkit.importing.sources", "find_reports"),
    **{
        name: ("toolkit.workbook.mailing", name)
        for name in (
            "check_agency",
            "check_year",
            "read_agencies",
            "read_agency_list",
            "write_mailing",
            "write_template",
        )
    },
}

__all__ = [
    "COLLECTION",
    "FATES",
    "RETURN",
    "Agency",
    "Collection",
    "Entry",
    "ImportOptions",
    "Imported",
    "Return",
    "annotate",
    "check_agency",
    "check_file",
    "check_or_refuse",
    "check_return",
    "check_year",
    "convert_to_pdf",
    "duplicates",
    "find_reports",
    "find_soffice",
    "get_form",
    "import_report",
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
    "write_audit",
    "write_mailing",
    "write_outputs",
    "write_return",
    "write_template",
]


def __getattr__(name: str):
    """A re-exported name, its stage imported now (and the name kept here for the next use)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def read_file(path: str | Path, forms: Mapping[str, Form] | None = None, limits: Limits = DEFAULT_LIMITS) -> tuple[str, Return]:
    """(what the file is, what it holds): RETURN read back, or COLLECTION verified; UnreadableFile for anything else."""
    book = read_workbook(path, limits)
    meta = read_metadata(book)
    if kind_of(meta) == COLLECTION:
        from toolkit.collection.readback import verify_collection  # a collection's stage, imported for one only

        return COLLECTION, verify_collection(book, str(path), meta, forms)
    return RETURN, interpret(book, str(path), forms)


def cell_places(form: Form) -> dict[str, str]:
    """Where a clerk finds each cell of the form: `二、主动公开!B5「规章 / 本年制发件数」`, as problems name it."""
    layout = layout_of(form)
    return {cid: f"{layout.cells[cid].ref}「{cell.label}」" for cid, cell in form.cells.items()}


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
