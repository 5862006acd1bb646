"""The arithmetic checks of REPORT_MODEL.md, evaluated on the values as printed.

A check is listed only when it could be evaluated (its cells are not all null). A blank
cell inside a sum counts as 0 and the detail says so; a printed total that does not add up
fails, it is never corrected.
"""
from __future__ import annotations

from parsers.labels import APPLICANT_COLUMNS, RESULT_ROWS, REVIEW_MEASURES

_EPS = 1e-6


def _fmt(v: float | int | None) -> str:
    if v is None:
        return "blank"
    return str(int(v)) if float(v).is_integer() else str(v)


def _check(rule: str, total, parts: list, what: str) -> dict | None:
    if total is None or all(p is None for p in parts):
        return None
    s = sum(p for p in parts if p is not None)
    blanks = sum(p is None for p in parts)
    ok = abs(total - s) < _EPS
    detail = f"{what}: {_fmt(total)} vs {_fmt(s)}"
    if blanks:
        detail += f" ({blanks} blank cell{'s' if blanks > 1 else ''} counted as 0)"
    return {"rule": rule, "ok": ok, "detail": detail}


def evaluate_checks(report: dict) -> list[dict]:
    checks: list[dict | None] = []
    apps = report.get("applications") or {}
    for col in APPLICANT_COLUMNS:
        def cell(row: str) -> float | None:
            return (apps.get(row) or {}).get(col)
        incoming = [cell("new_received"), cell("carried_over")]
        outgoing = [cell("results_total"), cell("carried_forward")]
        if None not in incoming + outgoing:
            ok = abs(sum(incoming) - sum(outgoing)) < _EPS
            checks.append({"rule": f"applications.balance.{col}", "ok": ok,
                           "detail": f"新收 {_fmt(incoming[0])} + 上年结转 {_fmt(incoming[1])} = "
                                     f"{_fmt(sum(incoming))}; 总计 {_fmt(outgoing[0])} + 结转下年 "
                                     f"{_fmt(outgoing[1])} = {_fmt(sum(outgoing))}"})
        results = [cell(r) for r in RESULT_ROWS if r in apps]
        checks.append(_check(f"applications.results_sum.{col}", cell("results_total"), results,
                             "（七）总计 vs the sum of the result rows"))
    for row, values in apps.items():
        parts = [values.get(c) for c in APPLICANT_COLUMNS[:-1]]
        checks.append(_check(f"applications.row_total.{row}", values.get("total"), parts,
                             "总计 vs the sum of the six applicant columns"))
    for group, values in (report.get("review_litigation") or {}).items():
        parts = [values.get(m) for m in REVIEW_MEASURES[:-1]]
        checks.append(_check(f"review_litigation.total.{group}", values.get("total"), parts,
                             "总计 vs 维持 + 纠正 + 其他 + 尚未审结"))
    return [c for c in checks if c]
