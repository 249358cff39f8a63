"""Chinese number formatting: 亿 / 万 / 万亿 through babel, published precision kept.

Two sources of a figure:
- a *published* figure (value_submitted + unit_submitted, e.g. '369.0' + '亿笔') is printed
  exactly as submitted while it is in the page's unit: the newsletter's own precision is
  part of the fact. Submitted in another scale ('368000亿元', '3690000万笔') it is printed in
  the page's unit, the scale word babel's compact format gives it ('36.8万亿元', '369亿笔');
- a *derived* figure (a lead over the runner-up, a value without a submission) is scaled by
  babel's Chinese compact decimal format, with the fewest decimals that state it exactly
  (at most two, then rounded).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_compact_decimal

LOCALE = "zh_Hans_CN"
# Units whose word already carries a scale (万户, 亿元, 万亿元 ...): the submitted figure is
# in newsletter form and is printed as is.
_SCALE_PREFIXES = ("万亿", "亿", "万")
_SCALES = {
    "万亿": Decimal(10) ** 12,
    "亿": Decimal(10) ** 8,
    "万": Decimal(10) ** 4,
    "": Decimal(1),
}
_COMPACT_RE = re.compile(r"^(-?[\d.]+)(万亿|亿|万)?$")

QUALIFIERS_BEFORE = ("超过", "近", "接近")
QUALIFIER_AFTER = "余"

CHINESE_DIGITS = "零一二三四五六七八九十"


def _to_decimal(value: Decimal | float | int | str) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _plain(value: Decimal, max_decimals: int) -> str:
    """Round half up to `max_decimals`, then drop trailing zeros ('17.70' -> '17.7')."""
    quantum = Decimal(1).scaleb(-max_decimals)
    text = f"{value.quantize(quantum, rounding=ROUND_HALF_UP):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _compact_value(text: str) -> Decimal:
    match = _COMPACT_RE.match(text.replace(",", ""))
    if not match:
        raise ValueError(f"unexpected compact format {text!r}")
    return Decimal(match.group(1)) * _SCALES[match.group(2) or ""]


def compact_number(value: Decimal | float | int | str, max_decimals: int = 2) -> str:
    """385000000 -> '3.85亿', 17620000 -> '1762万', 3.15e13 -> '31.5万亿', 53.44 -> '53.44'.

    babel chooses the scale word; we choose the fewest fraction digits that are exact.
    """
    number = _to_decimal(value)
    text = ""
    for digits in range(max_decimals + 1):
        text = format_compact_decimal(number, locale=LOCALE, fraction_digits=digits)
        text = text.replace(",", "")
        if _compact_value(text) == number:
            return text
    return text


def is_scaled_unit(unit: str | None) -> bool:
    return bool(unit) and unit.startswith(_SCALE_PREFIXES)


def unit_word(base_unit: str) -> str:
    """The word printed after a scaled number: '%' and '位' never get a scale."""
    return "" if base_unit in ("%",) else base_unit


def with_qualifier(number: str, unit: str, qualifier: str | None) -> str:
    """Place the qualifier as the page does: '超过4800亿元', '近20万件', '3000余个'."""
    if not qualifier:
        return f"{number}{unit}"
    if qualifier == QUALIFIER_AFTER:
        return f"{number}{QUALIFIER_AFTER}{unit}"
    if qualifier in QUALIFIERS_BEFORE:
        return f"{qualifier}{number}{unit}"
    raise ValueError(f"unknown qualifier {qualifier!r}")


# A value this close to a 2-decimal figure was stated at that precision (58.35%); anything
# else is a computed ratio (0.2178217822) and reads best with one decimal (21.8%).
_STATED_TOLERANCE = Decimal("0.00005")


def sensible_decimals(value: Decimal, max_decimals: int = 2, fallback: int = 1) -> str:
    """'58.35' for 58.35, '10' for 10.0, '21.8' for 21.78217822, '17.7' for 17.70262:
    the fewest decimals (up to `max_decimals`) that state the value, else `fallback`."""
    for digits in range(max_decimals + 1):
        rounded = value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        if abs(rounded - value) <= _STATED_TOLERANCE:
            return _plain(value, digits)
    return _plain(value, fallback)


def format_percent(fraction: Decimal | float | str, max_decimals: int = 2) -> str:
    """0.177 -> '17.7%', 0.5835 -> '58.35%', 0.3 -> '30%', 0.2178217822 -> '21.8%'."""
    return sensible_decimals(_to_decimal(fraction) * 100, max_decimals) + "%"


def format_points(points: Decimal | float | str, decimals: int = 1) -> str:
    """A percentage-point move at one decimal, as the page prints them: 10.0 -> '10个百分点',
    10.57 -> '10.6个百分点' (magnitude only; the verb carries the sign)."""
    return _plain(abs(_to_decimal(points)), decimals) + "个百分点"


def format_rate_change(fraction: Decimal | float | str, decimals: int = 1) -> str:
    """Magnitude of a computed relative change at the catalogue's `decimals` (one unless it
    says two, as the page prints them): 0.254 -> '25.4%', 0.1114 -> '11.1%', -0.031 ->
    '3.1%', 0.2 -> '20%'; 0.583497 -> '58.35%' with 2."""
    return _plain(abs(_to_decimal(fraction)) * 100, decimals) + "%"


def scale_word(unit: str) -> str:
    """'万亿' for '万亿元', '亿' for '亿笔', '' for '户' or '%'."""
    return next((prefix for prefix in _SCALE_PREFIXES if unit.startswith(prefix)), "")


def _page_scale_word(value_base: Decimal) -> str:
    """The scale word the page prints a base-unit value with: 3.68e13 -> '万亿'."""
    match = _COMPACT_RE.match(compact_number(value_base))
    return (match.group(2) or "") if match else ""


def format_value(
    *,
    kind: str,
    base_unit: str,
    value_base: Decimal | None,
    value_submitted: str | None = None,
    unit_submitted: str | None = None,
    qualifier: str | None = None,
) -> str | None:
    """A KPI value as the newsletter prints it, or None when there is no value at all."""
    if value_submitted not in (None, "") and unit_submitted:
        submitted = value_submitted.strip()
        if unit_submitted == "%":
            return with_qualifier(submitted, unit_submitted, qualifier)
        if is_scaled_unit(unit_submitted):
            if value_base is None or scale_word(unit_submitted) == _page_scale_word(
                _to_decimal(value_base)
            ):
                return with_qualifier(submitted, unit_submitted, qualifier)
            page_number = compact_number(_to_decimal(value_base))
            return with_qualifier(page_number, unit_word(base_unit), qualifier)
        # A figure submitted in base units: print it plainly while it is small, else scale it.
        if abs(Decimal(submitted)) < 10000:
            return with_qualifier(submitted, unit_submitted, qualifier)
        return with_qualifier(compact_number(Decimal(submitted)), unit_submitted, qualifier)
    if value_base is None:
        return None
    if kind == "ratio":
        # Ratios are fractions in the warehouse; the '%' is the unit word.
        return with_qualifier(format_percent(value_base)[:-1], "%", qualifier)
    if kind == "rank":
        return f"第{_plain(value_base, 0)}位"
    return with_qualifier(compact_number(value_base), unit_word(base_unit), qualifier)


def format_quantity(kind: str, base_unit: str, amount: Decimal | float | str) -> str:
    """A derived quantity in base units (a lead, a difference): '1762万户', '2个百分点'."""
    number = abs(_to_decimal(amount))
    if kind == "ratio":
        return format_points(number * 100)
    return compact_number(number) + unit_word(base_unit)


def chinese_ordinal(n: int) -> str:
    """2 -> '二', 10 -> '十', 12 -> '十二'; beyond 99 the Arabic digits."""
    if 0 <= n <= 10:
        return CHINESE_DIGITS[n]
    if n < 20:
        return "十" + CHINESE_DIGITS[n - 10]
    if n < 100:
        tens, ones = divmod(n, 10)
        return CHINESE_DIGITS[tens] + "十" + (CHINESE_DIGITS[ones] if ones else "")
    return str(n)
