"""Display values as the templates' schemas expect them: ZAR money and SAST dates.

Every Lambda that renders an email otherwise writes its own "R2,990.00" and
"24 Nov 2026, 09:14", and they drift apart. Data from DynamoDB arrives as
``Decimal`` (boto3's deserializer), so money is taken as ``Decimal`` (rands) or
integral cents, never as a float (a float cannot hold 0.10 exactly).

Times are shown in South African Standard Time. SAST is UTC+02:00 all year (no
daylight saving), so a fixed offset is exact and avoids ``zoneinfo``, which needs
the tzdata package on Lambda. Standard library only, imported only when used.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from bbws_mail.errors import FormattingError

SAST = timezone(timedelta(hours=2), "SAST")
# South Africa's standard VAT rate by the date it took effect, newest first: a supply is
# taxed at the rate in force on its date (its time of supply), so an invoice for an older
# supply shows the older rate. Templates show the rate from data (totals.vatRate).
VAT_RATES = ((date(2018, 4, 1), Decimal("0.15")), (date(1993, 4, 7), Decimal("0.14")),
             (date(1991, 9, 30), Decimal("0.10")))
VAT_RATE = VAT_RATES[0][1]  # the rate in force today
_CENT = Decimal("0.01")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _amount(value: Decimal | int, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise FormattingError(f"{what}: expected a Decimal or an int, got {type(value).__name__}"
                              " (floats cannot hold cents exactly; use Decimal)")
    amount = Decimal(value)
    if not amount.is_finite():
        raise FormattingError(f"{what}: expected a finite amount, got NaN or infinity")
    return amount


def zar(rands: Decimal | int) -> str:
    """``Decimal("2990")`` -> ``"R2,990.00"``; rounded half up to the cent; ``"-R50.00"``."""
    try:
        amount = _amount(rands, "zar()").quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than the decimal context holds (28)
        raise FormattingError("zar(): the amount is too large to show to the cent") from None
    sign = "-" if amount < 0 else ""
    return f"{sign}R{abs(amount):,.2f}"


def zar_cents(cents: Decimal | int) -> str:
    """Integral cents (``299000`` or ``Decimal("299000")``) -> ``"R2,990.00"``."""
    amount = _amount(cents, "zar_cents()")
    if amount != amount.to_integral_value():
        raise FormattingError("zar_cents(): expected a whole number of cents, got a fraction")
    return zar(amount / 100)


def vat_included(total: Decimal | int, rate: Decimal = VAT_RATE) -> Decimal:
    """The VAT inside a VAT-inclusive ``total`` (rands), to the cent: 15/115 of it."""
    amount = _amount(total, "vat_included()")
    if isinstance(rate, bool) or not isinstance(rate, (Decimal, int)):
        raise FormattingError("vat_included(): the rate must be a Decimal fraction")
    try:
        return (amount * rate / (1 + rate)).quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise FormattingError("vat_included(): the amount is too large to show to the cent"
                              ) from None


def vat_rate_on(day: date | datetime) -> Decimal:
    """The standard VAT rate in force on ``day`` (a datetime counts by its SAST date)."""
    if isinstance(day, datetime):
        day = _to_sast(day, "vat_rate_on()").date()
    for start, rate in VAT_RATES:
        if day >= start:
            return rate
    raise FormattingError("vat_rate_on(): the date is before South African VAT (30 Sep 1991)")


def vat_percent(rate: Decimal) -> str:
    """``Decimal("0.15")`` -> ``"15%"``, ``Decimal("0.155")`` -> ``"15.5%"``: totals.vatRate."""
    if isinstance(rate, bool) or not isinstance(rate, Decimal) or not 0 <= rate < 1:
        raise FormattingError("vat_percent(): the rate must be a Decimal fraction (0.15)")
    return f"{(rate * 100).normalize():f}%"


def _to_sast(value: datetime | date | str, what: str) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z",
                                                                                       "+00:00"))
        except ValueError:
            raise FormattingError(f"{what}: expected an ISO 8601 date-time with a time zone "
                                  "(2026-11-24T07:14:00Z)") from None
        value = parsed
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise FormattingError(f"{what}: the date-time has no time zone; pass an aware "
                                  "datetime (UTC from DynamoDB) so it can be shown in SAST")
        try:
            return value.astimezone(SAST)
        except OverflowError:  # 0001-01-01 east of SAST, 9999-12-31 west of it
            raise FormattingError(f"{what}: the date-time is outside the calendar in SAST"
                                  ) from None
    raise FormattingError(f"{what}: expected a datetime or an ISO 8601 string, "
                          f"got {type(value).__name__}")


def display_date(value: datetime | date | str) -> str:
    """``"24 Nov 2026"``: a date as is, a date-time (aware, or ISO) in SAST."""
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and len(value.strip()) == 10:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise FormattingError("display_date(): expected YYYY-MM-DD or an ISO 8601 "
                                  "date-time") from None
    else:
        day = _to_sast(value, "display_date()").date()
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def display_datetime(value: datetime | str) -> str:
    """``"24 Nov 2026, 09:14"`` in SAST, from an aware datetime or an ISO 8601 string."""
    at = _to_sast(value, "display_datetime()")
    return f"{at.day} {_MONTHS[at.month - 1]} {at.year}, {at:%H:%M}"


def iso_sast(value: datetime | str) -> str:
    """RFC 3339 in SAST (``2026-11-24T09:14:37+02:00``), as the audit fields take it."""
    return _to_sast(value, "iso_sast()").isoformat(timespec="seconds")
