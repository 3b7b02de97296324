"""ZAR money and SAST dates as the schemas' display fields expect them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bbws_mail.formatting import (
    FormattingError,
    display_date,
    display_datetime,
    iso_sast,
    vat_included,
    zar,
    zar_cents,
)
from tests.conftest import ROOT


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("2990"), "R2,990.00"), (Decimal("3743.825"), "R3,743.83"),
    (Decimal("0.005"), "R0.01"), (Decimal("-50"), "-R50.00"), (0, "R0.00"),
    (Decimal("1234567.8"), "R1,234,567.80"), (350, "R350.00"),
])
def test_zar(value: Decimal | int, shown: str) -> None:
    assert zar(value) == shown


def test_cents_from_dynamodb_decimals() -> None:
    assert zar_cents(Decimal("299000")) == zar_cents(299000) == "R2,990.00"
    assert zar_cents(Decimal("5")) == "R0.05"
    with pytest.raises(FormattingError, match="whole number of cents"):
        zar_cents(Decimal("1.5"))


@pytest.mark.parametrize("bad", [2990.0, True, "2990", None, Decimal("NaN")])
def test_money_refuses_what_cannot_hold_cents(bad: object) -> None:
    with pytest.raises(FormattingError):
        zar(bad)  # type: ignore[arg-type]


def test_vat_inside_a_total_matches_the_invoice_example() -> None:
    invoice = json.loads((ROOT / "schemas/examples/invoice.json").read_text())
    totals = invoice.get("totals", invoice)
    total = Decimal(totals["total"].replace("R", "").replace(",", ""))
    assert zar(vat_included(total)) == totals["vat"]


@pytest.mark.parametrize(("value", "shown"), [
    ("2026-11-24T07:14:37Z", "24 Nov 2026, 09:14"),
    ("2026-11-23T23:30:00+00:00", "24 Nov 2026, 01:30"),
    ("2026-11-24T09:14:37+02:00", "24 Nov 2026, 09:14"),
    (datetime(2026, 6, 30, 22, 5, tzinfo=UTC), "1 Jul 2026, 00:05"),
])
def test_display_datetime_in_sast(value: str | datetime, shown: str) -> None:
    assert display_datetime(value) == shown


def test_display_date_and_iso() -> None:
    assert display_date("2026-11-23T23:30:00Z") == "24 Nov 2026"
    assert display_date(date(2026, 12, 8)) == display_date("2026-12-08") == "8 Dec 2026"
    assert iso_sast("2026-11-24T07:14:37Z") == "2026-11-24T09:14:37+02:00"


@pytest.mark.parametrize("bad", [datetime(2026, 11, 24, 9, 14), "24/11/2026 09:14", 1732432477])
def test_ambiguous_or_unknown_times_are_refused(bad: object) -> None:
    with pytest.raises(FormattingError) as info:
        display_datetime(bad)  # type: ignore[arg-type]
    assert str(bad) not in str(info.value)


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.just(UTC)))
def test_fixed_offset_agrees_with_the_tz_database(moment: datetime) -> None:
    want = moment.astimezone(ZoneInfo("Africa/Johannesburg"))
    assert display_datetime(moment) == (f"{want.day} {want:%b} {want.year}, {want:%H:%M}")
    assert want.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize("call", [
    lambda: zar(Decimal("1e26")), lambda: zar(10**30), lambda: zar(Decimal("1e999999")),
    lambda: zar_cents(Decimal("1e40")), lambda: vat_included(Decimal("1e999999")),
    lambda: display_datetime("9999-12-31T23:59:59-02:00"),
    lambda: display_date("0001-01-01T00:00:00+05:00"), lambda: iso_sast("9999-12-31T23:00:00Z"),
    lambda: display_datetime(datetime(9999, 12, 31, 23, tzinfo=UTC)),
    lambda: vat_included(Decimal(100), 0.15),  # type: ignore[arg-type]
])
def test_values_past_what_can_be_shown_are_formatting_errors(call: Any) -> None:
    """A DynamoDB Decimal too large for the decimal context, a date at the edge of the
    calendar: a FormattingError (a project error), not InvalidOperation or OverflowError."""
    from bbws_mail import BBWSMailError

    with pytest.raises(FormattingError) as info:
        call()
    assert isinstance(info.value, BBWSMailError)


def test_the_vat_rate_is_the_one_in_force_on_the_supplys_date() -> None:
    from bbws_mail.formatting import VAT_RATE, vat_percent, vat_rate_on

    assert vat_rate_on(date(1993, 4, 6)) == Decimal("0.10")
    assert vat_rate_on(date(2018, 3, 31)) == Decimal("0.14")
    assert vat_rate_on(date(2018, 4, 1)) == Decimal("0.15") == VAT_RATE
    # 31 Mar 2018 23:30 SAST is 21:30 UTC: the supply's date is the South African one
    assert vat_rate_on(datetime(2018, 3, 31, 22, 30, tzinfo=UTC)) == Decimal("0.15")
    with pytest.raises(FormattingError, match="before South African VAT"):
        vat_rate_on(date(1990, 1, 1))
    assert [vat_percent(r) for r in (Decimal("0.15"), Decimal("0.14"), Decimal("0.155"))] \
        == ["15%", "14%", "15.5%"]
    with pytest.raises(FormattingError):
        vat_percent(0.15)  # type: ignore[arg-type]


def test_the_formatted_rate_is_what_the_schemas_accept() -> None:
    import re

    from bbws_mail.formatting import VAT_RATES, vat_percent, vat_rate_on

    schema = json.loads((ROOT / "schemas/defs/totals.schema.json").read_text())
    pattern = schema["properties"]["vatRate"]["pattern"]
    for _, rate in VAT_RATES:
        assert re.fullmatch(pattern, vat_percent(rate)), rate
    invoice = json.loads((ROOT / "schemas/examples/invoice.json").read_text())
    issued = date(2026, 11, 24)  # the example invoice's issue date, its time of supply
    assert invoice["issueDate"] == "24 Nov 2026"
    assert invoice["totals"]["vatRate"] == vat_percent(vat_rate_on(issued))
