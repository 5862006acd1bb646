"""The words of the national tables 二, 三 and 四, held once: every key of REPORT_MODEL.md with
the labels the formats print, its display name, and the keywords that recognise it.

Labels are the cells of the blank 2021 template (tests/reference/template-2021-blank.docx),
and of the 2019 format (国办公开办函〔2019〕60号) where it differs. `labels` builds its matchers
from this; archive/views.py and the test farm's layout take their labels from it;
tests/test_vocabulary.py checks metadata.yml and docs/REPORT_MODEL.md against it.

A term claims a label when the label's matching form (`Vocabulary.form`) holds one of its
`keywords` and none of its `unless` words, or is one of its `exact` texts (tried last). The
matcher takes the first claimant in `match_order`: a term whose labels or synonyms hold
another term's keywords names that term in `precedes`, and must come before it.
"""
from __future__ import annotations

from dataclasses import dataclass

from parsers.normalize import norm, strip_numbering


@dataclass(frozen=True)
class Term:
    key: str
    label: str                      # as printed: the 2021 format (a 2019-only term: 2019's)
    label_2019: str | None = None   # as the 2019 format prints it, where it differs
    template: str | None = None     # "2019" or "2021" when only that format has the term
    group: str | None = None        # the spanning header or row label it sits under
    name: str | None = None         # short display name, where the label is long
    keywords: tuple[str, ...] = ()  # words in matching form (normalised), any one claims
    unless: tuple[str, ...] = ()    # ...unless one of these is there too
    exact: tuple[str, ...] = ()     # whole matching forms that claim, tried after keywords
    synonyms: tuple[str, ...] = ()  # other ways real reports print it (typos included)
    precedes: tuple[str, ...] = ()  # keys whose keywords its labels or synonyms also hold
    item: str | None = None         # table 二 categories: the 第二十条 item
    money: bool = False             # table 二 measures: an amount of money

    def label_in(self, template: str) -> str | None:
        """The label the given national format prints, None if it has no such line."""
        if self.template and self.template != template:
            return None
        return self.label_2019 if template == "2019" and self.label_2019 else self.label

    def claims(self, text: str) -> bool:
        """Whether a matching form holds one of the keywords and none of the unless words."""
        return any(w in text for w in self.keywords) and not any(w in text for w in self.unless)

    @property
    def labels(self) -> tuple[str, ...]:
        """The canonical labels, 2021 first."""
        return (self.label,) + ((self.label_2019,) if self.label_2019 else ())

    @property
    def display(self) -> str:
        return self.name or self.label

    @property
    def names(self) -> tuple[str, ...]:
        """The display names, 2021 first (a 2019 label that differs is its own name)."""
        return (self.display,) + ((self.label_2019,) if self.label_2019 else ())

    @property
    def title(self) -> str:
        """The display name with its group: '（三）不予公开 1.属于国家秘密'."""
        return f"{self.group} {self.display}" if self.group else self.display


@dataclass(frozen=True)
class Vocabulary:
    terms: tuple[Term, ...]         # in the order the national format prints them
    match_order: tuple[str, ...]    # the keys with keywords, in the order they are tried
    strip: bool = True              # labels lose their list marker (（三）, 1.) before matching

    def keys(self) -> list[str]:
        return [t.key for t in self.terms]

    def __getitem__(self, key: str) -> Term:
        return next(t for t in self.terms if t.key == key)

    def form(self, label: str) -> str:
        """A label's matching form."""
        return strip_numbering(label) if self.strip else norm(label)

    def ranked(self) -> list[Term]:
        """The terms with keywords, in match order."""
        return [self[k] for k in self.match_order]

    def exact(self) -> dict[str, str]:
        return {text: t.key for t in self.terms for text in t.exact}

    def claimants(self, label: str) -> list[str]:
        """Every key whose rules claim the label, in the order the matcher tries them."""
        text = self.form(label)
        keys = [t.key for t in self.ranked() if t.claims(text)]
        return keys + [k for whole, k in self.exact().items() if whole == text and k not in keys]


# 二、主动公开政府信息情况 ---------------------------------------------------------------

ITEM_HEADINGS = {"20.1": "第二十条第（一）项", "20.5": "第二十条第（五）项",
                 "20.6": "第二十条第（六）项", "20.8": "第二十条第（八）项",
                 "20.9": "第二十条第（九）项"}
CONTENT_HEADING = "信息内容"

TABLE2_CATEGORIES = Vocabulary(
    terms=(
        Term("regulations", "规章", item="20.1", keywords=("规章",)),
        Term("normative_documents", "行政规范性文件", label_2019="规范性文件", item="20.1",
             keywords=("规范性文件",)),
        Term("licensing", "行政许可", item="20.5", keywords=("行政许可",)),
        Term("other_management_services", "其他对外管理服务事项", template="2019", item="20.5",
             keywords=("对外管理服务", "其他对外管理")),
        Term("punishment", "行政处罚", item="20.6", keywords=("行政处罚",)),
        Term("coercion", "行政强制", item="20.6", keywords=("行政强制",)),
        Term("fees", "行政事业性收费", item="20.8", keywords=("事业性收费", "行政事业收费"),
             synonyms=("行政事业收费",)),
        Term("procurement", "政府集中采购", template="2019", item="20.9",
             keywords=("集中采购", "政府采购"), synonyms=("政府采购",)),
    ),
    match_order=("normative_documents", "regulations", "licensing", "other_management_services",
                 "punishment", "coercion", "fees", "procurement"),
)

TABLE2_MEASURES = Vocabulary(
    terms=(
        Term("issued", "本年制发件数", template="2021", keywords=("制发",)),
        Term("repealed", "本年废止件数", template="2021", keywords=("废止", "度止", "止件数"),
             synonyms=("本年度止件数",)),
        # 截至本年度止现行有效件数 holds 度止 too, and is in force
        Term("in_force", "现行有效件数", template="2021", keywords=("现行有效", "有效件数"),
             synonyms=("截至本年度止现行有效件数",), precedes=("repealed",)),
        Term("fee_amount", "本年收费金额（单位：万元）", name="本年收费金额", template="2021",
             money=True, keywords=("收费金额",)),
        Term("made", "本年新制作数量", template="2019", keywords=("新制作", "制作数量")),
        Term("published", "本年新公开数量", template="2019", keywords=("新公开", "公开数量")),
        Term("total_public", "对外公开总数量", template="2019", keywords=("公开总", "对外公开")),
        Term("prior_items", "上一年项目数量", template="2019", keywords=("上一年", "上年项目"),
             synonyms=("上年项目数量",)),
        Term("change", "本年增/减", template="2019", keywords=("增/减", "增减", "增(减)"),
             synonyms=("本年增减", "本年增（减）")),
        Term("procurement_items", "采购项目数量", template="2019", keywords=("采购项目",)),
        Term("procurement_amount", "采购总金额", template="2019", money=True,
             keywords=("采购总金额", "采购金额", "总金额"), synonyms=("采购金额",)),
        Term("decisions", "本年处理决定数量", label_2019="处理决定数量",
             keywords=("处理决定", "决定数量")),
    ),
    match_order=("issued", "in_force", "repealed", "decisions", "fee_amount", "made",
                 "total_public", "published", "prior_items", "change", "procurement_items",
                 "procurement_amount"),
)

# How each form prints table 二: per 第二十条 item, ([(measure, colspan)], [category]), in the
# form's order (the report page and the farm's report files lay it out from here)
TABLE2_LAYOUT = {
    "2021": [
        ("20.1", [("issued", 1), ("repealed", 1), ("in_force", 1)],
         ["regulations", "normative_documents"]),
        ("20.5", [("decisions", 3)], ["licensing"]),
        ("20.6", [("decisions", 3)], ["punishment", "coercion"]),
        ("20.8", [("fee_amount", 3)], ["fees"]),
    ],
    "2019": [
        ("20.1", [("made", 1), ("published", 1), ("total_public", 1)],
         ["regulations", "normative_documents"]),
        ("20.5", [("prior_items", 1), ("change", 1), ("decisions", 1)],
         ["licensing", "other_management_services"]),
        ("20.6", [("prior_items", 1), ("change", 1), ("decisions", 1)],
         ["punishment", "coercion"]),
        ("20.8", [("prior_items", 1), ("change", 2)], ["fees"]),
        ("20.9", [("procurement_items", 1), ("procurement_amount", 2)], ["procurement"]),
    ],
}

# 三、收到和处理政府信息公开申请情况 ----------------------------------------------------

BALANCE_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
APPLICANTS_HEADING = "申请人情况"
RESULTS_HEADING = "三、本年度办理结果"  # spans every row from （一） to （七）

_ORG = "法人或其他组织"
TABLE3_COLUMNS = Vocabulary(
    terms=(
        Term("natural_person", "自然人", keywords=("自然人",)),
        Term("commercial", "商业企业", group=_ORG, keywords=("商业企业", "企业")),
        Term("research", "科研机构", group=_ORG, keywords=("科研机构", "科研")),
        Term("social_welfare", "社会公益组织", group=_ORG,
             keywords=("公益组织", "社会组织", "公益"), synonyms=("社会组织",)),
        Term("legal_services", "法律服务机构", group=_ORG, keywords=("法律服务",)),
        # 其他 must be the whole cell: the spanning header 法人或其他组织 also holds it
        Term("other_org", "其他", group=_ORG, exact=("其他", "其它", "其他组织"),
             synonyms=("其它", "其他组织")),
        Term("total", "总计", keywords=("总计", "合计"), synonyms=("合计",)),
    ),
    match_order=("natural_person", "commercial", "research", "social_welfare", "legal_services",
                 "total"),
)

_DENIED, _UNABLE = "（三）不予公开", "（四）无法提供"
_NOT_PROCESSED, _OTHER = "（五）不予处理", "（六）其他处理"
TABLE3_ROWS = Vocabulary(
    terms=(
        Term("new_received", "一、本年新收政府信息公开申请数量", keywords=("新收",)),
        Term("carried_over", "二、上年结转政府信息公开申请数量",
             keywords=("上年结转", "上年度结转"), synonyms=("二、上年度结转政府信息公开申请数量",)),
        Term("granted", "（一）予以公开", keywords=("予以公开",)),
        Term("partially_granted", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
             name="（二）部分公开", keywords=("部分公开",)),
        Term("denied_state_secret", "1.属于国家秘密", group=_DENIED, keywords=("国家秘密",)),
        Term("denied_prohibited", "2.其他法律行政法规禁止公开", group=_DENIED,
             keywords=("禁止公开", "法律行政法规", "法律法规禁止"),
             synonyms=("2.其他法律法规禁止公开",)),
        Term("denied_three_safeties", "3.危及“三安全一稳定”", group=_DENIED,
             keywords=("三安全", "危及", "一稳定")),
        Term("denied_third_party", "4.保护第三方合法权益", group=_DENIED, keywords=("第三方",)),
        Term("denied_internal_affairs", "5.属于三类内部事务信息", group=_DENIED,
             keywords=("内部事务",)),
        Term("denied_process_info", "6.属于四类过程性信息", group=_DENIED, keywords=("过程性",)),
        Term("denied_enforcement_files", "7.属于行政执法案卷", group=_DENIED,
             keywords=("执法案卷",)),
        Term("denied_query_matters", "8.属于行政查询事项", group=_DENIED, keywords=("查询事项",)),
        Term("unable_not_held", "1.本机关不掌握相关政府信息", group=_UNABLE, keywords=("不掌握",)),
        Term("unable_needs_creation", "2.没有现成信息需要另行制作", group=_UNABLE,
             keywords=("另行制作", "现成信息")),
        Term("unable_unclear", "3.补正后申请内容仍不明确", group=_UNABLE,
             keywords=("仍不明确", "不明确")),
        Term("not_processed_petition", "1.信访举报投诉类申请", group=_NOT_PROCESSED,
             keywords=("信访", "举报投诉")),
        Term("not_processed_repeat", "2.重复申请", group=_NOT_PROCESSED, keywords=("重复申请",)),
        Term("not_processed_publication", "3.要求提供公开出版物", group=_NOT_PROCESSED,
             keywords=("出版物",)),
        Term("not_processed_mass_repeat", "4.无正当理由大量反复申请", group=_NOT_PROCESSED,
             keywords=("大量反复", "反复申请")),
        Term("not_processed_confirmation", "5.要求行政机关确认或重新出具已获取信息",
             group=_NOT_PROCESSED, keywords=("重新出具", "确认或")),
        # the 2019 format's single row; many 2021 reports print it instead of the three below
        Term("other_processing", _OTHER, template="2019", keywords=("其他处理",)),
        Term("other_no_correction", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
             name="1.申请人无正当理由逾期不补正", template="2021", group=_OTHER,
             keywords=("不补正", "逾期不补"),
             synonyms=("（六）其他处理 1.申请人无正当理由逾期不补正",), precedes=("other_processing",)),
        Term("other_no_fee", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
             name="2.申请人逾期未按收费通知要求缴纳费用", template="2021", group=_OTHER,
             keywords=("缴纳费用", "收费通知", "未按收费"),
             synonyms=("2、申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
                       "（六）其他处理 2.申请人逾期未按收费通知要求缴纳费用"),
             precedes=("other_processing",)),
        # 其他 alone: in table 三 a data row labelled just 其他 has no other reading
        Term("other_other", "3.其他", template="2021", group=_OTHER, exact=("其他", "其它"),
             synonyms=("3.其它",)),
        Term("results_total", "（七）总计", keywords=("总计", "合计"), synonyms=("（七）合计",)),
        Term("carried_forward", "四、结转下年度继续办理",
             keywords=("结转下年", "转下年度", "继续办理")),
    ),
    # specific phrases first; the table's most generic words (其他处理, 予以公开, 总计) last
    match_order=(
        "new_received", "carried_over", "carried_forward", "partially_granted",
        "denied_state_secret", "denied_prohibited", "denied_three_safeties", "denied_third_party",
        "denied_internal_affairs", "denied_process_info", "denied_enforcement_files",
        "denied_query_matters", "unable_not_held", "unable_needs_creation", "unable_unclear",
        "not_processed_petition", "not_processed_repeat", "not_processed_publication",
        "not_processed_mass_repeat", "not_processed_confirmation",
        "other_no_correction", "other_no_fee", "other_processing", "granted", "results_total",
    ),
)

# 四、政府信息公开行政复议、行政诉讼情况 -------------------------------------------------

_SUIT = "行政诉讼"
TABLE4_GROUPS = Vocabulary(
    terms=(
        Term("review", "行政复议", keywords=("复议",), unless=("诉讼",)),
        Term("litigation_direct", "未经复议直接起诉", group=_SUIT,
             keywords=("未经复议", "直接起诉"), synonyms=("直接起诉",), precedes=("review",)),
        Term("litigation_after_review", "复议后起诉", group=_SUIT, keywords=("复议后",),
             precedes=("review",)),
    ),
    match_order=("litigation_after_review", "litigation_direct", "review"),
    strip=False,
)

TABLE4_MEASURES = Vocabulary(
    terms=(
        Term("maintained", "结果维持", keywords=("维持",)),
        Term("corrected", "结果纠正", keywords=("纠正",)),
        Term("other", "其他结果", keywords=("其他", "其它"), synonyms=("其它结果",)),
        Term("pending", "尚未审结", keywords=("尚未", "审结", "未结"), synonyms=("未结",)),
        Term("total", "总计", keywords=("总计", "合计"), synonyms=("合计",)),
    ),
    match_order=("maintained", "corrected", "pending", "other", "total"),
    strip=False,
)

VOCABULARIES = {
    "table2.categories": TABLE2_CATEGORIES, "table2.measures": TABLE2_MEASURES,
    "table3.rows": TABLE3_ROWS, "table3.columns": TABLE3_COLUMNS,
    "table4.groups": TABLE4_GROUPS, "table4.measures": TABLE4_MEASURES,
}
