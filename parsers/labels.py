"""The national format's vocabulary: every row, column, category and measure key of
REPORT_MODEL.md with the words real reports use for it, and the matchers that map a printed
label to a key.

Matching is by keywords on the normalised label (see `normalize.norm`), most specific
first, so that typos and paraphrases still land (本年度止件数 is 本年废止件数, 社会组织 is
社会公益组织). A label that matches nothing returns None; the caller decides what to do
(fixed row order, a warning), never this module.
"""
from __future__ import annotations

import difflib
import re
from functools import lru_cache

from parsers.normalize import norm, strip_numbering

# 三、收到和处理政府信息公开申请情况 ----------------------------------------------------

APPLICANT_COLUMNS = ["natural_person", "commercial", "research", "social_welfare",
                     "legal_services", "other_org", "total"]


# Canonical order of table 三's rows (2021 format with the three (六) sub-rows; the 2019
# format and many 2021 reports have the single other_processing row in their place).
APPLICATION_ROWS = [
    "new_received", "carried_over", "granted", "partially_granted",
    "denied_state_secret", "denied_prohibited", "denied_three_safeties", "denied_third_party",
    "denied_internal_affairs", "denied_process_info", "denied_enforcement_files",
    "denied_query_matters",
    "unable_not_held", "unable_needs_creation", "unable_unclear",
    "not_processed_petition", "not_processed_repeat", "not_processed_publication",
    "not_processed_mass_repeat", "not_processed_confirmation",
    "other_processing", "other_no_correction", "other_no_fee", "other_other",
    "results_total", "carried_forward",
]
RESULT_ROWS = APPLICATION_ROWS[2:24]  # every row that (七) 总计 sums

ROW_LABELS = {
    "new_received": "一、本年新收政府信息公开申请数量",
    "carried_over": "二、上年结转政府信息公开申请数量",
    "granted": "（一）予以公开",
    "partially_granted": "（二）部分公开",
    "denied_state_secret": "（三）不予公开 1.属于国家秘密",
    "denied_prohibited": "2.其他法律行政法规禁止公开",
    "denied_three_safeties": "3.危及“三安全一稳定”",
    "denied_third_party": "4.保护第三方合法权益",
    "denied_internal_affairs": "5.属于三类内部事务信息",
    "denied_process_info": "6.属于四类过程性信息",
    "denied_enforcement_files": "7.属于行政执法案卷",
    "denied_query_matters": "8.属于行政查询事项",
    "unable_not_held": "（四）无法提供 1.本机关不掌握相关政府信息",
    "unable_needs_creation": "2.没有现成信息需要另行制作",
    "unable_unclear": "3.补正后申请内容仍不明确",
    "not_processed_petition": "（五）不予处理 1.信访举报投诉类申请",
    "not_processed_repeat": "2.重复申请",
    "not_processed_publication": "3.要求提供公开出版物",
    "not_processed_mass_repeat": "4.无正当理由大量反复申请",
    "not_processed_confirmation": "5.要求行政机关确认或重新出具已获取信息",
    "other_processing": "（六）其他处理",
    "other_no_correction": "（六）1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "other_no_fee": "（六）2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "other_other": "（六）3.其他",
    "results_total": "（七）总计",
    "carried_forward": "四、结转下年度继续办理",
}

# (keywords, key): the first rule with any keyword contained in the label wins. Order matters:
# specific phrases before generic ones (部分公开 before 公开, 不补正 before 其他).
_ROW_RULES: list[tuple[tuple[str, ...], str]] = [
    (("新收",), "new_received"),
    (("上年结转", "上年度结转"), "carried_over"),
    (("结转下年", "转下年度", "继续办理"), "carried_forward"),
    (("部分公开",), "partially_granted"),
    (("国家秘密",), "denied_state_secret"),
    (("禁止公开", "法律行政法规", "法律法规禁止"), "denied_prohibited"),
    (("三安全", "危及", "一稳定"), "denied_three_safeties"),
    (("第三方",), "denied_third_party"),
    (("内部事务",), "denied_internal_affairs"),
    (("过程性",), "denied_process_info"),
    (("执法案卷",), "denied_enforcement_files"),
    (("查询事项",), "denied_query_matters"),
    (("不掌握",), "unable_not_held"),
    (("另行制作", "现成信息"), "unable_needs_creation"),
    (("仍不明确", "不明确"), "unable_unclear"),
    (("信访", "举报投诉"), "not_processed_petition"),
    (("重复申请",), "not_processed_repeat"),
    (("出版物",), "not_processed_publication"),
    (("大量反复", "反复申请"), "not_processed_mass_repeat"),
    (("重新出具", "确认或"), "not_processed_confirmation"),
    (("不补正", "逾期不补"), "other_no_correction"),
    (("缴纳费用", "收费通知", "未按收费"), "other_no_fee"),
    (("其他处理",), "other_processing"),
    (("予以公开",), "granted"),
    (("总计", "合计"), "results_total"),
]


@lru_cache(maxsize=8192)
def match_application_row(label: str) -> str | None:
    """Map one printed row label (a single cell's text) to a row key, or None.

    '其他' alone (the third (六) sub-row of the 2021 format) is other_other: in table 三 a
    data row labelled just 其他 has no other reading."""
    text = strip_numbering(label)
    if not text:
        return None
    for keywords, key in _ROW_RULES:
        if any(k in text for k in keywords):
            return key
    if text in ("其他", "其它"):
        return "other_other"
    return _fuzzy(text, _ROW_CHOICES)


_ROW_CHOICES = {k: strip_numbering(v.split()[-1]) for k, v in ROW_LABELS.items()}

_COLUMN_RULES: list[tuple[tuple[str, ...], str]] = [
    (("自然人",), "natural_person"),
    (("商业企业", "企业"), "commercial"),
    (("科研机构", "科研"), "research"),
    (("公益组织", "社会组织", "公益"), "social_welfare"),
    (("法律服务",), "legal_services"),
    (("总计", "合计"), "total"),
]


@lru_cache(maxsize=4096)
def match_applicant_column(label: str) -> str | None:
    """Map a header cell of table 三 to a column key. 其他 must be the whole cell: the
    spanning header 法人或其他组织 also contains it."""
    text = strip_numbering(label)
    for keywords, key in _COLUMN_RULES:
        if any(k in text for k in keywords):
            return key
    if text in ("其他", "其它", "其他组织"):
        return "other_org"
    return None


# 二、主动公开政府信息情况 ---------------------------------------------------------------

CATEGORY_ITEMS = {
    "regulations": "20.1", "normative_documents": "20.1", "licensing": "20.5",
    "other_management_services": "20.5", "punishment": "20.6", "coercion": "20.6",
    "fees": "20.8", "procurement": "20.9",
}

_CATEGORY_RULES: list[tuple[tuple[str, ...], str]] = [
    (("规范性文件",), "normative_documents"),
    (("规章",), "regulations"),
    (("行政许可",), "licensing"),
    (("对外管理服务", "其他对外管理"), "other_management_services"),
    (("行政处罚",), "punishment"),
    (("行政强制",), "coercion"),
    (("事业性收费", "行政事业收费"), "fees"),
    (("集中采购", "政府采购"), "procurement"),
]


@lru_cache(maxsize=4096)
def match_category(label: str) -> str | None:
    """Map the first cell of a table 二 row to a category key."""
    text = strip_numbering(label)
    if not text or len(text) > 20:
        return None
    for keywords, key in _CATEGORY_RULES:
        if any(k in text for k in keywords):
            return key
    return None


MEASURE_TEMPLATE = {
    "issued": "2021", "repealed": "2021", "in_force": "2021", "fee_amount": "2021",
    "made": "2019", "published": "2019", "total_public": "2019", "prior_items": "2019",
    "change": "2019", "procurement_items": "2019", "procurement_amount": "2019",
    "decisions": None,
}
MONEY_MEASURES = {"fee_amount", "procurement_amount"}

_MEASURE_RULES: list[tuple[tuple[str, ...], str]] = [
    (("制发",), "issued"),
    # in force before the typo rule for 本年度止件数 (repealed): 截至本年度止现行有效件数
    # holds 度止 too, and is in force
    (("现行有效", "有效件数"), "in_force"),
    (("废止", "度止", "止件数"), "repealed"),
    (("处理决定", "决定数量"), "decisions"),
    (("收费金额",), "fee_amount"),
    (("新制作", "制作数量"), "made"),
    (("公开总", "对外公开"), "total_public"),
    (("新公开", "公开数量"), "published"),
    (("上一年", "上年项目"), "prior_items"),
    (("增/减", "增减", "增/ 减", "增(减)"), "change"),
    (("采购项目",), "procurement_items"),
    (("采购总金额", "采购金额", "总金额"), "procurement_amount"),
]


@lru_cache(maxsize=4096)
def match_measure(label: str) -> str | None:
    """Map a table 二 column header to a measure key."""
    text = strip_numbering(label)
    for keywords, key in _MEASURE_RULES:
        if any(k in text for k in keywords):
            return key
    return None


_ITEM_RE = re.compile(r"第二十[六条]*条?第?[(（]?([一二三四五六七八九十]{1,2})[)）]?项")


@lru_cache(maxsize=4096)
def match_item_heading(label: str) -> str | None:
    """'第二十条第（六）项' -> '20.6'; also the misprint 第二十六条第（六）项 -> '20.6'."""
    from parsers.normalize import cn_numeral_value

    m = _ITEM_RE.search(norm(label))
    if not m:
        return None
    n = cn_numeral_value(m.group(1))
    return f"20.{n}" if n else None


def unit_in(label: str) -> str | None:
    """A money unit stated in a header or cell: '本年收费金额（单位：万元）' -> '万元'."""
    text = norm(label)
    for unit in ("亿元", "万元", "千元"):
        if unit in text:
            return unit
    if re.search(r"(单位[:：]?元|[（(]元[)）])", text):
        return "元"
    return None


# 四、政府信息公开行政复议、行政诉讼情况 -------------------------------------------------

REVIEW_GROUPS = ["review", "litigation_direct", "litigation_after_review"]
REVIEW_MEASURES = ["maintained", "corrected", "other", "pending", "total"]


def match_review_group(label: str) -> str | None:
    text = norm(label)
    if "复议后" in text:
        return "litigation_after_review"
    if "未经复议" in text or "直接起诉" in text:
        return "litigation_direct"
    if "复议" in text and "诉讼" not in text:
        return "review"
    return None


def match_review_measure(label: str) -> str | None:
    text = norm(label)
    if "维持" in text:
        return "maintained"
    if "纠正" in text:
        return "corrected"
    if "尚未" in text or "审结" in text or "未结" in text:
        return "pending"
    if "其他" in text or "其它" in text:
        return "other"
    if "总计" in text or "合计" in text:
        return "total"
    return None


def _fuzzy(text: str, choices: dict[str, str], cutoff: float = 0.75) -> str | None:
    """Closest canonical label for a typo the keyword rules missed."""
    if len(text) < 4 or not re.search(r"[\u4e00-\u9fff]{3}", text):
        return None
    best, best_ratio = None, cutoff
    for key, canonical in choices.items():
        ratio = difflib.SequenceMatcher(None, text, canonical).ratio()
        if ratio > best_ratio:
            best, best_ratio = key, ratio
    return best
