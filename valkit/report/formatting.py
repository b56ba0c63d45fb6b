"""How numbers from results.json are printed. Formatting only: no arithmetic on results.

Every function accepts ``None`` (an undefined value, written as null in results.json)
and prints "not estimable" for it, never "nan".

>>> pct(0.7586206896551724)
'75.9%'
>>> pct(None)
'not estimable'
>>> ci_text({"low": 0.6828, "high": 0.8210, "confidence_level": 0.95, "method": "wilson"}, "proportion")
'68.3–82.1%'
>>> p_value(4.9e-13)
'< 0.001'
"""
from __future__ import annotations

import math
from typing import Any

NOT_ESTIMABLE = "not estimable"
INSUFFICIENT = "insufficient evidence"

#: How each kind of estimate is printed: proportions as percents, AUC and ratios as numbers.
KINDS = ("proportion", "auc", "ratio")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def pct(x: Any, digits: int = 1) -> str:
    """A proportion in [0, 1] as a percent with ``digits`` decimals."""
    if not _is_number(x):
        return NOT_ESTIMABLE
    return f"{x * 100:.{digits}f}%"


def num(x: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals, or "not estimable"."""
    if not _is_number(x):
        return NOT_ESTIMABLE
    return f"{x:.{digits}f}"


def value_text(x: Any, kind: str) -> str:
    """An estimate's point value in the style of its kind (see :data:`KINDS`)."""
    if kind == "proportion":
        return pct(x)
    if kind == "ratio":
        return num(x, 2)
    return num(x, 3)


def ci_text(interval: dict | None, kind: str) -> str:
    """``low–high`` for an interval dict, in the style of its kind; an en dash between bounds.

    A signed interval (e.g. of a difference between groups) that reaches below 0 reads
    "low to high" with a true minus sign, so the dash cannot be mistaken for one:

    >>> ci_text({"low": -0.034, "high": 0.052}, "proportion")
    '−3.4 to 5.2%'
    """
    if not interval or not (_is_number(interval.get("low")) and _is_number(interval.get("high"))):
        return "no interval"
    low, high = interval["low"], interval["high"]
    sep = " to " if low < 0 else "–"
    if kind == "proportion":
        return f"{low * 100:.1f}{sep}{high * 100:.1f}%".replace("-", "−")
    digits = 2 if kind == "ratio" else 3
    return f"{low:.{digits}f}{sep}{high:.{digits}f}".replace("-", "−")


def level_text(confidence_level: Any) -> str:
    """0.95 → '95%' (the label of a confidence interval)."""
    if not _is_number(confidence_level):
        return "95%"
    text = f"{confidence_level * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def count(x: Any) -> str:
    """An integer count with thin grouping (``12 345``); ``None`` prints an em dash."""
    if x is None:
        return "—"
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    if isinstance(x, int):
        return f"{x:,}".replace(",", "\u202f")
    return str(x)


def plural(n: Any, noun: str, *, plural_form: str | None = None, every: bool = False) -> str:
    """``n`` and ``noun`` in the right number: never "case(s)".

    ``plural_form`` gives an irregular plural (default: ``noun + "s"``); ``every=True`` reads as
    "all n nouns" (the one, both, all n), for a statement about every member of a set.

    >>> plural(2, "endpoint"), plural(1, "endpoint"), plural(0, "case")
    ('2 endpoints', '1 endpoint', '0 cases')
    >>> plural(3, "study", plural_form="studies")
    '3 studies'
    >>> plural(1, "primary endpoint", every=True), plural(2, "primary endpoint", every=True)
    ('the primary endpoint', 'both primary endpoints')
    >>> plural(4, "primary endpoint", every=True)
    'all 4 primary endpoints'
    """
    many = plural_form or noun + "s"
    try:
        one = int(str(n).replace("\u202f", "").replace(",", "")) == 1
    except (TypeError, ValueError):
        one = False
    if every:
        if one:
            return f"the {noun}"
        return f"both {many}" if str(n) == "2" else f"all {count(n)} {many}"
    return f"{count(n)} {noun if one else many}"


def file_name(path: Any) -> str:
    """A file as the report names it: its name, without the folders of the machine the run was on
    (a relative path such as ``../models/x/model.yaml`` means nothing to a reader; the digest identifies it).

    >>> file_name("../datasets/manifests/demo.csv"), file_name(None)
    ('demo.csv', '')
    """
    if not path:
        return ""
    return str(path).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def fraction(numerator: Any, denominator: Any) -> str:
    """``110/145`` from an estimate's counts; empty when the estimate has none (AUC, LR)."""
    if numerator is None or denominator is None:
        return ""
    return f"{count(numerator)}/{count(denominator)}"


def p_value(p: Any) -> str:
    """A p-value: three significant decimals, '< 0.001' below that."""
    if not _is_number(p):
        return NOT_ESTIMABLE
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}"


def p_text(p: Any, name: str = "p") -> str:
    """``name`` with its p-value as a phrase: 'p = 0.042', 'p < 0.001' (never 'p = < 0.001').

    >>> p_text(0.0421), p_text(1e-5), p_text(0.2, "adjusted p")
    ('p = 0.042', 'p < 0.001', 'adjusted p = 0.200')
    """
    text = p_value(p)
    return f"{name} {text}" if text.startswith(("<", ">")) else f"{name} = {text}"


def warning_text(warning: Any) -> str:
    """A warning from results.json as a reader sees it: the message, without the machine-readable code
    that the statistics put in front of it (``zero_cell: LR+ has a zero cell`` → ``LR+ has a zero cell``).

    >>> warning_text("no_predicted_positives: PPV is undefined: its denominator is 0")
    'PPV is undefined: its denominator is 0'
    >>> warning_text("sensitivity: not estimable")
    'sensitivity: not estimable'
    """
    import re

    return re.sub(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+:\s*", "", str(warning))


def estimate_cells(est: dict | None, kind: str = "proportion") -> dict[str, Any]:
    """The printed pieces of one Estimate dict from results.json.

    Returns ``value``, ``ci``, ``counts`` (numerator/denominator), ``n``, ``method``,
    ``level`` and ``warnings``; ``estimable`` is False when the value is null. An estimate
    marked ``insufficient_evidence`` (below the evidence rule) gives its counts only:

    >>> c = estimate_cells({"value": 0.4286, "interval": {"low": 0.4286, "high": 0.4286},
    ...                     "numerator": 3, "denominator": 7, "insufficient_evidence": True})
    >>> c["value"], c["ci"], c["counts"], c["insufficient"]
    ('insufficient evidence', '', '3/7', True)
    """
    est = est or {}
    value = est.get("value")
    interval = est.get("interval")
    if est.get("insufficient_evidence"):
        # below the evidence rule: the counts only, never a value or interval that looks precise
        return {
            "estimable": False, "insufficient": True, "value": INSUFFICIENT, "ci": "",
            "counts": fraction(est.get("numerator"), est.get("denominator")), "n": count(est.get("n")),
            "method": "", "level": level_text((interval or {}).get("confidence_level")), "warnings": [],
        }
    estimable = _is_number(value)
    return {
        "insufficient": False,
        "estimable": estimable,
        "value": value_text(value, kind),
        "ci": ci_text(interval, kind) if estimable else "",
        "counts": fraction(est.get("numerator"), est.get("denominator")),
        "n": count(est.get("n")),
        "method": (interval or {}).get("method") or est.get("method") or "",
        "level": level_text((interval or {}).get("confidence_level")),
        "warnings": [warning_text(w) for w in est.get("warnings") or []],
    }
