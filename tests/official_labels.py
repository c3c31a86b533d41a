"""The official labels of both report formats, transcribed by hand from the official format text.

Source: /work/shared/reference/official_formats.md (国办公开办函〔2021〕30号 and 〔2019〕60号).
This file is deliberately NOT derived from workbook_templates/*.yaml: the tests compare the generated
workbooks with it, so a wrong label in a spec is caught. Keep every label character for character,
full-width punctuation included.

Header trees are nested tuples `(label, children)`; a leaf has `()` as children.
Row lists are `(depth, label)` from top to bottom; depth is the nesting (indentation) level.
"""

from __future__ import annotations

# ---------------------------------------------------------------- sections (both formats)

SECTION_TITLES = (
    "一、总体情况",
    "二、主动公开政府信息情况",
    "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况",
    "五、存在的主要问题及改进情况",
    "六、其他需要报告的事项",
)
SECTION_PREFIXES = ("一、", "二、", "三、", "四、", "五、", "六、")
TEXT_SECTIONS = ("一、总体情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项")

# ---------------------------------------------------------------- table 二

T2_CORNER = "信息内容"

# (caption, column headers left to right, row labels top to bottom)
T2_BLOCKS_2021 = (
    ("第二十条第（一）项", ("本年制发件数", "本年废止件数", "现行有效件数"), ("规章", "行政规范性文件")),
    ("第二十条第（五）项", ("本年处理决定数量",), ("行政许可",)),
    ("第二十条第（六）项", ("本年处理决定数量",), ("行政处罚", "行政强制")),
    ("第二十条第（八）项", ("本年收费金额（单位：万元）",), ("行政事业性收费",)),
)

T2_BLOCKS_2019 = (
    ("第二十条第（一）项", ("本年新制作数量", "本年新公开数量", "对外公开总数量"), ("规章", "规范性文件")),
    ("第二十条第（五）项", ("上一年项目数量", "本年增/减", "处理决定数量"), ("行政许可", "其他对外管理服务事项")),
    ("第二十条第（六）项", ("上一年项目数量", "本年增/减", "处理决定数量"), ("行政处罚", "行政强制")),
    ("第二十条第（八）项", ("上一年项目数量", "本年增/减"), ("行政事业性收费",)),
    ("第二十条第（九）项", ("采购项目数量", "采购总金额"), ("政府集中采购",)),
)

# ---------------------------------------------------------------- table 三

T3_CORNER = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"

T3_HEADER = (
    (
        "申请人情况",
        (
            ("自然人", ()),
            (
                "法人或其他组织",
                (
                    ("商业企业", ()),
                    ("科研机构", ()),
                    ("社会公益组织", ()),
                    ("法律服务机构", ()),
                    ("其他", ()),
                ),
            ),
            ("总计", ()),
        ),
    ),
)

# The six applicant columns (the ones 总计 adds up) and 总计, left to right.
T3_APPLICANT_COLUMNS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")
T3_TOTAL_COLUMN = "总计"

_T3_ROWS_HEAD = (
    (0, "一、本年新收政府信息公开申请数量"),
    (0, "二、上年结转政府信息公开申请数量"),
    (0, "三、本年度办理结果"),
    (1, "（一）予以公开"),
    (1, "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
    (1, "（三）不予公开"),
    (2, "1.属于国家秘密"),
    (2, "2.其他法律行政法规禁止公开"),
    (2, "3.危及“三安全一稳定”"),
    (2, "4.保护第三方合法权益"),
    (2, "5.属于三类内部事务信息"),
    (2, "6.属于四类过程性信息"),
    (2, "7.属于行政执法案卷"),
    (2, "8.属于行政查询事项"),
    (1, "（四）无法提供"),
    (2, "1.本机关不掌握相关政府信息"),
    (2, "2.没有现成信息需要另行制作"),
    (2, "3.补正后申请内容仍不明确"),
    (1, "（五）不予处理"),
    (2, "1.信访举报投诉类申请"),
    (2, "2.重复申请"),
    (2, "3.要求提供公开出版物"),
    (2, "4.无正当理由大量反复申请"),
    (2, "5.要求行政机关确认或重新出具已获取信息"),
    (1, "（六）其他处理"),
)

_T3_ROWS_OTHER_2021 = (
    (2, "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
    (2, "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
    (2, "3.其他"),
)

_T3_ROWS_TAIL = (
    (1, "（七）总计"),
    (0, "四、结转下年度继续办理"),
)

T3_ROWS_2021 = _T3_ROWS_HEAD + _T3_ROWS_OTHER_2021 + _T3_ROWS_TAIL
T3_ROWS_2019 = _T3_ROWS_HEAD + _T3_ROWS_TAIL

# Row labels used by the 勾稽关系 (rules 1 and 2 of the format).
T3_NEW = "一、本年新收政府信息公开申请数量"
T3_CARRIED = "二、上年结转政府信息公开申请数量"
T3_RESULTS = "三、本年度办理结果"
T3_RESULTS_TOTAL = "（七）总计"
T3_CARRY_OVER = "四、结转下年度继续办理"

# ---------------------------------------------------------------- table 四

_T4_GROUP = (
    ("结果维持", ()),
    ("结果纠正", ()),
    ("其他结果", ()),
    ("尚未审结", ()),
    ("总计", ()),
)

T4_HEADER = (
    ("行政复议", _T4_GROUP),
    (
        "行政诉讼",
        (
            ("未经复议直接起诉", _T4_GROUP),
            ("复议后起诉", _T4_GROUP),
        ),
    ),
)
T4_DATA_COLUMNS = 15

# ---------------------------------------------------------------- per form

FORMS = {
    "gov-info-2021": {
        "sections": SECTION_TITLES,
        "t2_blocks": T2_BLOCKS_2021,
        "t3_rows": T3_ROWS_2021,
        "t3_header": T3_HEADER,
        "t3_corner": T3_CORNER,
        "t4_header": T4_HEADER,
    },
    "gov-info-2019": {
        "sections": SECTION_TITLES,
        "t2_blocks": T2_BLOCKS_2019,
        "t3_rows": T3_ROWS_2019,
        "t3_header": T3_HEADER,
        "t3_corner": T3_CORNER,
        "t4_header": T4_HEADER,
    },
}
