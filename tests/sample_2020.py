"""The real 2020 report of 固原市原州区司法局 (format gov-info-2019), transcribed by hand.

Source: /work/shared/reference/sample_report_2020.txt. Numbers and texts are the sample's; table labels
are the official ones (official_formats.md wins over the sample's noisy extraction: `(一) 予以公开`,
spread headers `结 果 维 持`, 逻辑关系, the 16th empty column of table 四). Texts are verbatim, one string
per paragraph joined by "\\n"; the one paragraph the PDF extraction split across a page break
(…获取政府信息 / 提供方便。) is joined again. Plain data, not derived from the form spec, so it can
check the spec and be reused to build samples/.
"""

from __future__ import annotations

from official_labels import SECTION_TITLES

FORM_ID = "gov-info-2019"
AGENCY = "固原市原州区司法局"
YEAR = 2020
DATE = "2021年1月28日"
CONTACT = ""  # the published report names no contact person or phone
PHONE = ""
FIELDS = {"agency": AGENCY, "year": str(YEAR), "contact": CONTACT, "phone": PHONE, "date": DATE}

HEADINGS = SECTION_TITLES  # the sample's headings are the official ones, word for word

S1 = (
    "2020 年，我局认真贯彻落实《中华人民共和国政府信息公开条例》和区委政府关于推进政府信息公开工作的部署要求，"
    "紧紧围绕区委政府工作中心和人民群众关注热点，坚持以公开为常态，不公开为例外，扎实做好局政府信息公开工作，"
    "打造群众满意的司法行政机关。",
    "1、主动公开方面。宣传解读新修订的《中华人民共和国政府信息公开条例》，更新政府信息公开指南和政府信息公开目录，"
    "制定“双随机一公开”事项清单，加强政府信息公开保密审查工作。2020 年，我局在政务公开网站上主动公开政府信息 12 条，"
    "公开办理政协提案情况 2 条，利用微信公众号“原州司法”及官方微博号“原州司法”发布各类信息及工作动态 301 条。",
    "2、依申请公开方面。2020 年司法局未收到政府信息公开申请。",
    "3、平台建设方面。我局无网络平台，原州区人民政府网站及官方新媒体是我局发布政府信息的主要平台。"
    "我局在“原州司法”微信公众号设置“政府信息公开专栏”，集中展示主动公开信息，为公民、法人或其他组织获取政府信息提供方便。",
    "4、监督保障情况。严格落实信息公开审核制度、网络舆情处理及信息安全制度、新媒体管理制度等，确保应公开尽公开。",
)
S5 = (
    "经梳理，本单位政府信息公开工作存在问题主要有：一是工作动态信息公开有时不够及时；二是官方微博号发挥宣传效果不够；"
    "三是信息公开的广度、深度有待进一步拓展；",
    "接下来，我局将继续深入贯彻落实《中华人民共和国政府信息公开条例》，不断完善政府信息公开工作制度，"
    "落实专人负责政府信息公开工作，提高信息公开工作时效性。进一步加大信息公开工作广度和深度，提高信息公开的质量，"
    "推进政务的公开、公正、透明。",
)
S6 = ("我局 2020 年没有需要报告的事项。",)
PARAGRAPHS = {"s1": S1, "s5": S5, "s6": S6}
TEXTS = {sid: "\n".join(paras) for sid, paras in PARAGRAPHS.items()}

# The only non-zero numbers of the report (every other input cell is 0).
VALUES = {
    "t2_1.normative.made": 1,
    "t2_1.normative.published": 1,
    "t2_1.normative.published_total": 1,
}

# ---------------------------------------------------------------- the sample's tables under the official labels
# Each table: (caption, column header paths, [(row label path, values left to right)]).

_T2_1 = (
    "第二十条第（一）项",
    (("本年新制作数量",), ("本年新公开数量",), ("对外公开总数量",)),
    ((("规章",), (0, 0, 0)), (("规范性文件",), (1, 1, 1))),
)
_T2_5 = (
    "第二十条第（五）项",
    (("上一年项目数量",), ("本年增/减",), ("处理决定数量",)),
    ((("行政许可",), (0, 0, 0)), (("其他对外管理服务事项",), (0, 0, 0))),
)
_T2_6 = (
    "第二十条第（六）项",
    (("上一年项目数量",), ("本年增/减",), ("处理决定数量",)),
    ((("行政处罚",), (0, 0, 0)), (("行政强制",), (0, 0, 0))),
)
_T2_8 = ("第二十条第（八）项", (("上一年项目数量",), ("本年增/减",)), ((("行政事业性收费",), (0, 0)),))
_T2_9 = ("第二十条第（九）项", (("采购项目数量",), ("采购总金额",)), ((("政府集中采购",), (0, 0)),))

_APPLICANT = "申请人情况"
_LEGAL = "法人或其他组织"
_T3_COLUMNS = (
    (_APPLICANT, "自然人"),
    (_APPLICANT, _LEGAL, "商业企业"),
    (_APPLICANT, _LEGAL, "科研机构"),
    (_APPLICANT, _LEGAL, "社会公益组织"),
    (_APPLICANT, _LEGAL, "法律服务机构"),
    (_APPLICANT, _LEGAL, "其他"),
    (_APPLICANT, "总计"),
)
_RESULTS = "三、本年度办理结果"
_WITHHELD, _UNAVAILABLE, _NOT_HANDLED = "（三）不予公开", "（四）无法提供", "（五）不予处理"
_T3_ROW_PATHS = (
    ("一、本年新收政府信息公开申请数量",),
    ("二、上年结转政府信息公开申请数量",),
    (_RESULTS, "（一）予以公开"),
    (_RESULTS, "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
    (_RESULTS, _WITHHELD, "1.属于国家秘密"),
    (_RESULTS, _WITHHELD, "2.其他法律行政法规禁止公开"),
    (_RESULTS, _WITHHELD, "3.危及“三安全一稳定”"),
    (_RESULTS, _WITHHELD, "4.保护第三方合法权益"),
    (_RESULTS, _WITHHELD, "5.属于三类内部事务信息"),
    (_RESULTS, _WITHHELD, "6.属于四类过程性信息"),
    (_RESULTS, _WITHHELD, "7.属于行政执法案卷"),
    (_RESULTS, _WITHHELD, "8.属于行政查询事项"),
    (_RESULTS, _UNAVAILABLE, "1.本机关不掌握相关政府信息"),
    (_RESULTS, _UNAVAILABLE, "2.没有现成信息需要另行制作"),
    (_RESULTS, _UNAVAILABLE, "3.补正后申请内容仍不明确"),
    (_RESULTS, _NOT_HANDLED, "1.信访举报投诉类申请"),
    (_RESULTS, _NOT_HANDLED, "2.重复申请"),
    (_RESULTS, _NOT_HANDLED, "3.要求提供公开出版物"),
    (_RESULTS, _NOT_HANDLED, "4.无正当理由大量反复申请"),
    (_RESULTS, _NOT_HANDLED, "5.要求行政机关确认或重新出具已获取信息"),
    (_RESULTS, "（六）其他处理"),
    (_RESULTS, "（七）总计"),
    ("四、结转下年度继续办理",),
)
_T3 = ("", _T3_COLUMNS, tuple((path, (0,) * 7) for path in _T3_ROW_PATHS))
T3_CORNER = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"

_RESULT_COLUMNS = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
_T4_COLUMNS = (
    *(("行政复议", c) for c in _RESULT_COLUMNS),
    *(("行政诉讼", "未经复议直接起诉", c) for c in _RESULT_COLUMNS),
    *(("行政诉讼", "复议后起诉", c) for c in _RESULT_COLUMNS),
)
_T4 = ("", _T4_COLUMNS, (((), (0,) * 15),))

TABLES = (_T2_1, _T2_5, _T2_6, _T2_8, _T2_9, _T3, _T4)
