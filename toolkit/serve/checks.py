"""The checks, run in the app's process pool: the same code as `toolkit check`, through toolkit.pipeline."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from toolkit.core.fileio import atomic_write_bytes
from toolkit.pipeline import (
    annotate,
    cell_places,
    check_or_refuse,
    convert_to_pdf,
    get_form,
    is_collection,
    render_report,
    write_template,
)

FORM_IDS = ("gov-info-2021", "gov-info-2019")


def _values(ret) -> dict[str, str]:
    values = {f"值:{k}": str(v) for k, v in ret.values.items()}
    values.update({f"基本信息:{k}": v for k, v in ret.fields.items()})
    values.update({f"文字:{k}": v for k, v in ret.texts.items()})
    return values


@lru_cache(maxsize=4)
def value_names(form_id: str) -> dict[str, str]:
    """What the office reads for each key of `_values` in the diff of two uploads (a key of no known form stays as it is)."""
    try:
        form = get_form(form_id)
    except KeyError:  # a form this toolkit no longer knows: the keys are shown as they are
        return {}
    names = {f"值:{cid}": place for cid, place in cell_places(form).items()}
    names.update({f"基本信息:{f.id}": f"基本信息「{f.label}」" for f in form.fields})
    names.update({f"文字:{s.id}": f"文字「{s.title}」" for s in form.text_sections})
    return names


def check_upload(path: str) -> dict:
    """What the service keeps of one check: status, problems exactly as `check --json`, who and which year the
    file says it is for, and its values (for the diff of two uploads)."""
    ret = check_or_refuse(path)
    readable = ret.status != "unreadable"
    return {
        "status": ret.status,
        "errors": len(ret.errors),
        "warnings": len(ret.warnings),
        "problems": [p.to_dict() for p in ret.problems],
        "agency": (ret.metadata.get("agency") or ret.agency or "") if readable else "",
        "year": ret.year if readable else None,
        "form_id": ret.form_id,
        "collection": readable and is_collection(ret),
        "values": _values(ret) if readable else {},
    }


def warm_up(folder: Path) -> None:
    """Check one generated template of every built-in form in this process, so that forms, layouts and rules are
    loaded once here and inherited by the forked check workers (the first agencies do not wait for it)."""
    for form_id in FORM_IDS:
        path = folder / f"warm-up-{form_id}.xlsx"
        write_template(get_form(form_id), "预热", 2024, path)
        check_upload(str(path))
        path.unlink(missing_ok=True)


def annotated_copy(path: str, out: str) -> str:
    """The upload with its problems marked (fill + 批注), as `toolkit check --annotate` makes it."""
    annotate(check_or_refuse(path), Path(out))
    return out


def word_report(path: str) -> bytes:
    return render_report(check_or_refuse(path))


def pdf_report(path: str, folder: str) -> str:
    """The Word report converted by LibreOffice (headless): the PDF's path in `folder`."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    docx = out / "report.docx"
    atomic_write_bytes(docx, word_report(path))
    return str(convert_to_pdf([docx], out)[0])
