"""Published report pages made for the tests, laid out as portals publish Word-exported reports:
site chrome around the article, rowspan/colspan tables, labels split over spans.

Labels come from tests/official_labels.py (transcribed from the official formats), never from
the form specs, and each test states the figures it prints, so an expectation is never computed
by the importer under test.
"""

from __future__ import annotations

from html import escape

from official_labels import T2_BLOCKS_2019, T2_BLOCKS_2021, T3_CORNER, T3_ROWS_2019, T3_ROWS_2021

T3_COLUMNS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计")
T4_GROUPS = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
TEXTS = {
    "一、总体情况": [
        "本年度，我局认真贯彻落实《中华人民共和国政府信息公开条例》。",
        "（一）主动公开方面。全年主动公开政府信息 120 条。",
    ],
    "五、存在的主要问题及改进情况": ["存在的主要问题：政策解读形式较为单一。", "改进措施：丰富解读形式。"],
    "六、其他需要报告的事项": ["本年度未收取信息处理费。"],
}
CHROME_TOP = (
    '<div class="nav"><ul><li><a href="/">首页</a></li><li>政务公开</li></ul><p>当前位置：首页 &gt; 政府信息公开年报</p></div>'
)
CHROME_BOTTOM = (
    '<div class="attach"><p>附件下载</p></div><div class="foot"><p>扫一扫在手机上查看当前页面</p><p>网站地图</p></div>'
)


def td(text: object, rowspan: int = 1, colspan: int = 1) -> str:
    spans = (f' rowspan="{rowspan}"' if rowspan > 1 else "") + (f' colspan="{colspan}"' if colspan > 1 else "")
    return f'<td{spans} style="border:1px solid"><p><span>{escape(str(text))}</span></p></td>'


def t2(blocks: tuple, values: dict[str, list[list[object]]]) -> str:
    """Table 二 as one table of blocks: caption row, 信息内容 header row, rows of values (by caption)."""
    width = max(len(cols) for _, cols, _ in blocks) + 1
    rows = []
    for caption, columns, labels in blocks:
        rows.append(td(caption, colspan=width))
        span = (width - 1) // len(columns)
        rows.append(td("信息内容") + "".join(td(c, colspan=span) for c in columns))
        for label, line in zip(labels, values[caption], strict=True):
            rows.append(td(label) + "".join(td(v, colspan=span) for v in line))
    return "<table>" + "".join(f"<tr>{r}</tr>" for r in rows) + "</table>"


def t3_rows(rows_spec: tuple, values: dict[str, tuple], labels: dict[str, str] | None = None) -> list[str]:
    """Table 三's body: group labels as rowspans, leaf labels spanning the label columns left free."""
    labels = labels or {}
    out: list[str] = []
    leaves_under = _leaves_under(rows_spec)
    pending: list[str] = []
    for i, (depth, label) in enumerate(rows_spec):
        if leaves_under[i]:
            pending.append(td(labels.get(label, label), rowspan=leaves_under[i]))
            continue
        cells = "".join(pending) + td(labels.get(label, label), colspan=3 - depth)
        pending = []
        out.append(cells + "".join(td(v) for v in values.get(label, ("0",) * 7)))
    return out


def _leaves_under(rows_spec: tuple) -> list[int]:
    counts = []
    for i, (depth, _) in enumerate(rows_spec):
        n, j = 0, i + 1
        while j < len(rows_spec) and rows_spec[j][0] > depth:
            j += 1
        for k in range(i + 1, j):
            is_leaf = k + 1 >= len(rows_spec) or rows_spec[k + 1][0] <= rows_spec[k][0]
            n += is_leaf
        counts.append(n)
    return counts


def t3_header(columns: tuple[str, ...] = T3_COLUMNS) -> str:
    business = "".join(td(c) for c in columns[1:6])
    return (
        f"<tr>{td(T3_CORNER, rowspan=3, colspan=3)}{td('申请人情况', colspan=7)}</tr>"
        f"<tr>{td(columns[0], rowspan=2)}{td('法人或其他组织', colspan=5)}{td(columns[6], rowspan=2)}</tr>"
        f"<tr>{business}</tr>"
    )


def t3(rows_spec: tuple, values: dict[str, tuple], labels: dict[str, str] | None = None, split_at: int | None = None) -> str:
    body = t3_rows(rows_spec, values, labels)
    if split_at is None:
        return "<table>" + t3_header() + "".join(f"<tr>{r}</tr>" for r in body) + "</table>"
    first = "<table>" + t3_header() + "".join(f"<tr>{r}</tr>" for r in body[:split_at]) + "</table>"
    return first + "<p> </p><table>" + "".join(f"<tr>{r}</tr>" for r in _flat(rows_spec, values)[split_at:]) + "</table>"


def _flat(rows_spec: tuple, values: dict[str, tuple]) -> list[str]:
    """Table 三's body as a table continued on a new page shows it: the group cells left empty."""
    leaves_under = _leaves_under(rows_spec)
    out = []
    for i, (depth, label) in enumerate(rows_spec):
        if not leaves_under[i]:
            cells = td("") * depth + td(label, colspan=3 - depth)
            out.append(cells + "".join(td(v) for v in values.get(label, ("0",) * 7)))
    return out


def t4(values: tuple, headers: tuple[str, ...] = T4_GROUPS) -> str:
    leaves = "".join(td(h) for h in headers)
    return (
        "<table>"
        f"<tr>{td('行政复议', colspan=5)}{td('行政诉讼', colspan=10)}</tr>"
        f"<tr>{''.join(td(h, rowspan=2) for h in headers)}{td('未经复议直接起诉', colspan=5)}{td('复议后起诉', colspan=5)}</tr>"
        f"<tr>{leaves}{leaves}</tr>"
        f"<tr>{''.join(td(v) for v in values)}</tr>"
        "</table>"
    )


def page(title: str, t2_html: str, t3_html: str, t4_html: str, texts: dict[str, list[str]] = TEXTS, closing: str = "") -> str:
    def section(heading: str) -> str:
        return f'<p style="text-indent:2em"><span>{escape(heading)}</span></p>' + "".join(
            f'<p style="text-indent:2em"><span>{escape(p)}</span></p>' for p in texts.get(heading, [])
        )

    article = (
        f"<h1>{escape(title)}</h1>"
        + section("一、总体情况")
        + section("二、主动公开政府信息情况")
        + t2_html
        + section("三、收到和处理政府信息公开申请情况")
        + t3_html
        + section("四、政府信息公开行政复议、行政诉讼情况")
        + t4_html
        + section("五、存在的主要问题及改进情况")
        + section("六、其他需要报告的事项")
        + closing
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}_政府信息公开年报_某某区人民政府</title>'
        "<script>var x = '一、总体情况';</script><style>p{margin:0}</style></head><body>"
        f'{CHROME_TOP}<div class="article"><div class="content">{article}</div></div>{CHROME_BOTTOM}</body></html>'
    )


T2_2021_ZERO = {caption: [["0"] * len(cols) for _ in labels] for caption, cols, labels in T2_BLOCKS_2021}
T2_2019_ZERO = {caption: [["0"] * len(cols) for _ in labels] for caption, cols, labels in T2_BLOCKS_2019}
ROWS = {"gov-info-2021": T3_ROWS_2021, "gov-info-2019": T3_ROWS_2019}
