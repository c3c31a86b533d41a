"""The 图表 sheet of collection.xlsx: native Excel charts of what an office looks at first.

Applications received per agency, their outcomes per agency, and the region's outcome breakdown.
What to chart comes from the form spec's `charts` (a cell per agency, and the row group whose
sub-groups are the outcome categories), so each format charts its own groups without code of its own.
"""

from __future__ import annotations

from decimal import Decimal

from toolkit.collection.model import Collection
from toolkit.collection.sizing import column_width, print_setup, row_height
from toolkit.forms.spec import Form, Row

SHEET = "图表"
TOP = 30  # agencies shown in the per-agency charts (the busiest first)
CHART_WIDTH, MAX_HEIGHT, ROW_PX = 960, 620, 20  # pixels: a landscape A4 page holds one chart at full size


def outcome_groups(form: Form) -> list[tuple[str, list[str]]]:
    """(label, cell ids) of each outcome category the form's `charts` names (its leaves, one column)."""
    ch = form.charts
    if ch is None:
        return []
    table = ch.received.split(".")[0]
    categories = [c for c in ch.outcome_group.children if c.id not in ch.outcome_skip]
    return [(_short(c), [f"{table}.{leaf.id}.{ch.outcome_column}" for leaf in c.leaves()]) for c in categories]


def _short(row: Row) -> str:
    """`（二）部分公开（区分处理的…）` -> `（二）部分公开`: a legend needs the head of the label."""
    label = row.label
    cut = label.find("（", 1)
    return label[:cut] if cut > 0 else label


def _sum(values, ids: list[str]) -> int | Decimal:
    return sum((values.get(i, 0) for i in ids), 0)


def write_charts(wb, c: Collection, fmt: dict) -> None:
    ws = wb.add_worksheet(SHEET)
    groups = outcome_groups(c.form)
    if not groups:
        ws.write_string(0, 0, "本表式没有定义图表（表式 YAML 中的 charts），不生成图表。")
        return
    received, title = c.form.charts.received, c.form.charts.received_title
    header = ["机关名称", title, *(label for label, _ in groups)]
    rows = sorted(c.returns, key=lambda r: -r.values.get(received, 0))
    widths = [column_width([header[0], *(r.agency for r in rows)], 12, 28), *(column_width([h], 8, 14) for h in header[1:])]
    for col, text in enumerate(header):
        ws.write_string(0, col, text, fmt["head"])
        ws.set_column(col, col, widths[col])
    ws.set_row(0, row_height(zip(header, widths, strict=True), 20))
    for i, r in enumerate(rows, start=1):
        ws.write_string(i, 0, r.agency, fmt["cell"])
        ws.write_number(i, 1, r.values.get(received, 0), fmt["int"])
        for j, (_, ids) in enumerate(groups, start=2):
            ws.write_number(i, j, _sum(r.values, ids), fmt["int"])
    region = len(rows) + 3
    outcome = c.form.charts.outcome_title
    ws.write_string(region, 0, f"{c.name}{outcome}构成", fmt["head"])
    for k, (label, ids) in enumerate(groups, start=1):
        ws.write_string(region + k, 0, label, fmt["cell"])
        ws.write_number(region + k, 1, _sum(c.totals, ids), fmt["int"])
    charts = _agency_charts(wb, len(groups), min(TOP, len(rows)), title, outcome) if rows else []
    charts.append(_region_chart(wb, region, len(groups), f"{c.name}{outcome}构成"))
    _place(ws, charts, region + len(groups) + 2)
    print_setup(ws, c.title("汇总") + " · 图表", landscape=True)  # no repeated header: it would sit above the charts


def _place(ws, charts: list, row: int) -> None:
    """The charts below the tables, one to a page: a chart never straddles a page break."""
    breaks = []
    for chart, height in charts:
        chart.set_size({"width": CHART_WIDTH, "height": height})
        ws.insert_chart(row, 0, chart)
        breaks.append(row)
        row += -(-height // ROW_PX) + 1
    ws.set_h_pagebreaks(breaks)


def _agency_charts(wb, n_groups: int, n: int, title: str, outcome: str) -> list:
    cats = [SHEET, 1, 0, n, 0]
    height = min(MAX_HEIGHT, max(300, 20 * n + 100))
    received = wb.add_chart({"type": "bar"})
    received.add_series({"name": [SHEET, 0, 1], "categories": cats, "values": [SHEET, 1, 1, n, 1]})
    received.set_title({"name": f"{title}（前 {n} 个机关）"})
    received.set_legend({"none": True})
    received.set_y_axis({"reverse": True})
    received.set_x_axis({"min": 0})  # counts from zero: an axis from 610 makes 643 look like nothing
    outcomes = wb.add_chart({"type": "bar", "subtype": "stacked"})
    for j in range(n_groups):
        col = 2 + j
        outcomes.add_series({"name": [SHEET, 0, col], "categories": cats, "values": [SHEET, 1, col, n, col]})
    outcomes.set_title({"name": f"各机关{outcome}（前 {n} 个机关）"})
    outcomes.set_y_axis({"reverse": True})
    outcomes.set_x_axis({"min": 0})
    outcomes.set_legend({"position": "bottom"})
    return [(received, height), (outcomes, height)]


PIE_LABELS = {"category": True, "percentage": True, "value": False, "series_name": False, "leader_lines": True}


def _region_chart(wb, region: int, n_groups: int, title: str) -> tuple:
    """The region's outcome shares: each slice labelled with its category and share only (no series name)."""
    pie = wb.add_chart({"type": "pie"})
    pie.add_series(
        {
            "name": title,
            "categories": [SHEET, region + 1, 0, region + n_groups, 0],
            "values": [SHEET, region + 1, 1, region + n_groups, 1],
            "data_labels": {**PIE_LABELS, "position": "best_fit"},
        }
    )
    pie.set_title({"name": title})
    pie.set_legend({"none": True})
    return pie, 520
