"""Fill, recalculate, inspect and save spreadsheets in a running soffice, over UNO.

Run by Debian's /usr/bin/python3 (the only Python that can `import uno`), never imported by
toolkit: stdlib + uno only. toolkit.office starts soffice, runs this script and kills soffice.

    python3 uno_fill.py CONNECT INPUT.json OUTPUT.json

CONNECT is the UNO connection string without the `uno:` prefix, e.g.
`pipe,name=toolkit_1234;urp;StarOffice.ComponentContext`. INPUT.json:

    {"version": 1, "connect_timeout": 30,
     "jobs": [{"src": "/abs/in.xlsx", "dst": "/abs/out.xlsx" | null,
               "set": [["Sheet", "B3", 12 | "text" | null], ...],
               "read": [["Sheet", "B3"], ...],
               "locks": [["Sheet", "B3"], ...],
               "sheets": true}]}

Values are written with XCellRangeData.setDataArray, which honours sheet protection (a locked
cell of a protected sheet raises), unlike the single-cell setters. After the writes the document
is recalculated (calculateAll), the cells in "read" are read, and it is stored as xlsx to "dst".
OUTPUT.json:

    {"version": 1, "ok": true, "error": null,
     "jobs": [{"ok": true, "error": null,
               "values": [["Sheet", "B3", {"type": "value", "value": 12.0, "text": "12"}], ...],
               "refused": [["Sheet", "B3", "reason"], ...],
               "locked": [["Sheet", "B3", true], ...],
               "sheets": [{"name": "...", "protected": true, "visible": true}, ...],
               "document_protected": true}]}

"sheets" and "document_protected" (workbook structure protection) only when the job asks for "sheets".

"type" is one of empty, value, text, error. The script always ends with os._exit: a UNO client
may crash at interpreter exit otherwise.
"""

import json
import os
import sys
import time
import traceback

PROTOCOL_VERSION = 1
XLSX_FILTER = "Calc MS Excel 2007 XML"


def _props(**kwargs):
    from com.sun.star.beans import PropertyValue

    out = []
    for name, value in kwargs.items():
        p = PropertyValue()
        p.Name, p.Value = name, value
        out.append(p)
    return tuple(out)


def _connect(connect, timeout):
    import uno
    from com.sun.star.connection import NoConnectException

    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + timeout
    while True:
        try:
            ctx = resolver.resolve("uno:" + connect)
            break
        except NoConnectException:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no connection to soffice within {timeout} s") from None
            time.sleep(0.1)
    return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)


def _url(path):
    import uno

    return uno.systemPathToFileUrl(os.path.abspath(path))


def _cell(doc, sheet, a1):
    sheets = doc.getSheets()
    if not sheets.hasByName(sheet):
        raise KeyError(f"no sheet named {sheet!r}")
    return sheets.getByName(sheet).getCellRangeByName(a1)


def _write(doc, sheet, a1, value):
    """Write one value through setDataArray; returns None or why it was refused."""
    rng = _cell(doc, sheet, a1)
    if value is None:
        value = ""
    elif isinstance(value, int):  # bool too
        value = float(value)
    try:
        rng.setDataArray(((value,),))
    except Exception as e:  # the bridge raises com.sun.star.uno.RuntimeException subclasses
        return f"{type(e).__name__}: {getattr(e, 'Message', '') or e}"
    return None


def _read(doc, sheet, a1):
    """{"type": empty|value|text|error, "value": …, "text": what the cell shows[, "formula": …]}."""
    from com.sun.star.table.CellContentType import EMPTY, FORMULA, VALUE

    cell = _cell(doc, sheet, a1).getCellByPosition(0, 0)
    kind, text = cell.getType(), cell.getString()
    out = {"type": "text", "value": text, "text": text}
    if kind == EMPTY:
        out.update(type="empty", value=None)
    elif kind == VALUE:
        out.update(type="value", value=cell.getValue())
    elif kind == FORMULA:
        out["formula"] = cell.getFormula()
        if cell.getError():
            out["type"] = "error"
        elif cell.FormulaResultType2 != 2:  # com.sun.star.sheet.FormulaResult: VALUE 1, STRING 2, ERROR 4
            out.update(type="value", value=cell.getValue())
    return out


def _sheets(doc):
    out = []
    sheets = doc.getSheets()
    for name in sheets.getElementNames():
        sheet = sheets.getByName(name)
        out.append({"name": name, "protected": bool(sheet.isProtected()), "visible": bool(sheet.IsVisible)})
    return out


def _job(desktop, job):
    result = {"ok": False, "error": None, "values": [], "refused": [], "locked": [], "sheets": []}
    doc = desktop.loadComponentFromURL(_url(job["src"]), "_blank", 0, _props(Hidden=True, ReadOnly=False))
    if doc is None:
        result["error"] = f"cannot open {job['src']}"
        return result
    if not doc.supportsService("com.sun.star.sheet.SpreadsheetDocument"):
        doc.close(True)
        result["error"] = f"not a spreadsheet: {job['src']}"
        return result
    try:
        for sheet, a1, value in job.get("set") or []:
            reason = _write(doc, sheet, a1, value)
            if reason is not None:
                result["refused"].append([sheet, a1, reason])
        doc.calculateAll()
        for sheet, a1 in job.get("read") or []:
            result["values"].append([sheet, a1, _read(doc, sheet, a1)])
        for sheet, a1 in job.get("locks") or []:
            cell = _cell(doc, sheet, a1).getCellByPosition(0, 0)
            result["locked"].append([sheet, a1, bool(cell.CellProtection.IsLocked)])
        if job.get("sheets"):
            result["sheets"] = _sheets(doc)
            result["document_protected"] = bool(doc.isProtected())
        if job.get("dst"):
            doc.storeToURL(_url(job["dst"]), _props(FilterName=XLSX_FILTER, Overwrite=True))
        result["ok"] = True
    finally:
        try:
            doc.close(True)
        except Exception:
            doc.dispose()
    return result


def _run(connect, request):
    if request.get("version") != PROTOCOL_VERSION:
        raise ValueError(f"protocol version {request.get('version')!r}, expected {PROTOCOL_VERSION}")
    desktop = _connect(connect, float(request.get("connect_timeout", 30)))
    results = []
    for job in request.get("jobs") or []:
        try:
            results.append(_job(desktop, job))
        except Exception as e:
            results.append({"ok": False, "error": f"{type(e).__name__}: {getattr(e, 'Message', '') or e}"})
    return results


def main(argv):
    connect, in_path, out_path = argv[1:4]
    response = {"version": PROTOCOL_VERSION, "ok": False, "error": None, "jobs": []}
    try:
        with open(in_path, encoding="utf-8") as f:
            request = json.load(f)
        response["jobs"] = _run(connect, request)
        response["ok"] = True
    except Exception as e:
        response["error"] = f"{type(e).__name__}: {getattr(e, 'Message', '') or e}"
        traceback.print_exc()
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(response, f, ensure_ascii=False)
    os.replace(tmp, out_path)


if __name__ == "__main__":
    code = 0
    try:
        if len(sys.argv) != 4:
            sys.stderr.write("usage: uno_fill.py CONNECT INPUT.json OUTPUT.json\n")
            code = 2
        else:
            main(sys.argv)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
