"""Formats, patterns and numbers mean what their standards say.

Where ``jsonschema`` with its ``format-nongpl`` checkers is a sound oracle (date,
date-time, uuid) each case is decided as it decides it, and a differential test
compares the two on generated strings. Where it is not (pattern uses Python's
``re``, email is ``"@" in s``, it has no uri checker, it refuses Decimal), the
validator table of docs/reference/rules.md#validator-rules states the project's rule
and each rule has a test here.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bbws_mail.mustache import Template
from bbws_mail.validate import Validator, check_email, check_url, ecma_pattern
from tests.conftest import ROOT

CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


def _ours(fmt: str, value: str) -> bool:
    return Validator({"type": "string", "format": fmt}).problems(value) == []


def _theirs(fmt: str, value: str) -> bool:
    return CHECKER.conforms(value, fmt)


def test_the_oracle_checks_these_formats() -> None:
    """Without the format-nongpl extra, jsonschema would accept anything as a date-time."""
    assert not _theirs("date-time", "tomorrow") and not _theirs("uuid", "x")


@pytest.mark.parametrize(("fmt", "value", "valid"), [
    ("date", "2026-W01-1", False),
    ("date", "2026-02-29", False),
    ("date", "2028-02-29", True),
    ("date", "2026-11-24", True),
    ("date", "2026-11-24\n", False),
    ("date", "٢٠٢٦-١١-٢٤", False),
    ("date-time", "2026-11-24T10:00Z", False),
    ("date-time", "20261124T100000Z", False),
    ("date-time", "2026-11-24T10:00:00+0200", False),
    ("date-time", "2026-11-24T10:00:00", False),
    ("date-time", "2026-11-24 10:00:00Z", False),
    ("date-time", "2026-11-24t09:21:05z", True),
    ("date-time", "2026-11-24T09:21:05.123+02:00", True),
    ("date-time", "2026-11-24T24:00:00Z", False),
    ("uuid", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", True),
    ("uuid", "3F2504E0-4F89-11D3-9A0C-0305E82C3301", True),
    ("uuid", "3f2504e0-4f89-11d3-9a0c-0305e82c3301\n", False),
    ("uuid", "3f2504e04f8911d39a0c0305e82c3301", False),
])
def test_oracle_formats_decide_as_jsonschema_does(fmt: str, value: str, valid: bool) -> None:
    assert _theirs(fmt, value) is valid
    assert _ours(fmt, value) is valid


def _mutations(valid: str, alphabet: str) -> st.SearchStrategy[str]:
    """Strings near a valid value: a few characters replaced, inserted or deleted."""
    def mutate(ops: list[tuple[int, int, str]]) -> str:
        s = valid
        for kind, pos, char in ops:
            pos %= len(s) + 1
            s = (s[:pos] + char + s[pos + 1:] if kind == 0 else
                 s[:pos] + char + s[pos:] if kind == 1 else s[:pos] + s[pos + 1:])
        return s
    op = st.tuples(st.integers(0, 2), st.integers(0, 40), st.sampled_from(alphabet))
    return st.lists(op, max_size=3).map(mutate)


# The differential test skips exactly the documented stricter rules
# (docs/reference/rules.md#validator-rules):
def _documented_difference(fmt: str, value: str) -> bool:
    if fmt == "date-time" and value.endswith("\n"):
        return True  # rfc3339-validator's `$` admits a trailing newline; RFC 3339 does not
    # Python's UUID() (jsonschema's check) strips braces, "urn:uuid:", whitespace and every
    # hyphen, and int() accepts "+" and "_": RFC 4122's string form is 8-4-4-4-12 hex digits.
    return fmt == "uuid" and (bool(set(value) - set("0123456789abcdefABCDEF-"))
                              or value.count("-") != 4)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([
    ("date", "2028-02-29", "0123456789-W:T\n ٢"),
    ("date-time", "2026-11-24T09:21:05.5+02:00", "0123456789-:+.TtZz \n٢"),
    ("date-time", "2026-12-31t23:59:59z", "0123456789-:+.TtZz \n"),
    ("uuid", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "0123456789abcdefABCDEFg-{} \n"),
]).flatmap(lambda c: st.tuples(st.just(c[0]), _mutations(c[1], c[2]))))
def test_differential_against_jsonschema(case: tuple[str, str]) -> None:
    fmt, value = case
    assume(not _documented_difference(fmt, value))
    assert _ours(fmt, value) == _theirs(fmt, value), (fmt, value)


def test_documented_difference_date_time_trailing_newline() -> None:
    assert _theirs("date-time", "2026-11-24T10:00:00Z\n")
    assert not _ours("date-time", "2026-11-24T10:00:00Z\n")


@pytest.mark.parametrize("lenient", ["3f2504e0-4f89-11d3-9a0c-0305e82c3301}",
                                     " f2504e0-4f89-11d3-9a0c-0305e82c3301",
                                     "3f_504e0-4f89-11d3-9a0c-0305e82c3301"])
def test_documented_difference_uuid_only_hex_and_hyphens(lenient: str) -> None:
    assert _theirs("uuid", lenient) and not _ours("uuid", lenient)


# --- the project's own rules (docs/reference/rules.md), one test each ---------------------------

@pytest.mark.parametrize(("pattern", "value", "valid"), [
    ("^BB-\\d{4}-\\d{5}$", "BB-2026-00417", True),
    ("^BB-\\d{4}-\\d{5}$", "BB-2026-00417\n", False),  # ECMA: $ is the end
    ("^INV-\\d{4}-\\d{5}$", "INV-٢٠٢٦-٠٠٢٨٨", False),  # ECMA: \d is [0-9]
    ("^\\w+$", "naïve", False),  # ECMA: \w is ASCII
    ("^a.b$", "a\rb", False),  # ECMA: . stops at line terminators
    ("^a.b$", "a\u2028b", False),
    ("^a\\sb$", "a\u00a0b", True),  # ECMA: \s includes NBSP
    ("^(?<year>\\d{4})$", "2026", True),  # ECMA named group
    ("x", "axb", True),  # unanchored, as JSON Schema says
])
def test_pattern_is_ecma_262(pattern: str, value: str, valid: bool) -> None:
    assert (Validator({"type": "string", "pattern": pattern}).problems(value) == []) is valid


@pytest.mark.parametrize("pattern", ["\\Aabc", "abc\\Z", "(?P<x>a)", "(?i)abc", "[]"])
def test_python_only_pattern_syntax_is_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        ecma_pattern(pattern)


@pytest.mark.parametrize(("value", "valid"), [
    ("thandi@example.com", True), ("t.nkosi+mail@mail.example.co.za", True),
    ("thandi@example.com\n", False), (" thandi@example.com", False), ("thandi@localhost", False),
    ("a..b@example.com", False), (".a@example.com", False), ('"a b"@example.com', False),
    ("thandi@exa_mple.com", False), ("thandi@-example.com", False), ("tha\u202endi@x.co", False),
    ("thändi@example.com", False), ("a@b.co\r\nBcc: x@y.co", False), ("a@1.2.3.4", False),
    ("a" * 65 + "@example.com", False), ("a@b@example.com", False),
])
def test_email_is_an_rfc_5322_addr_spec(value: str, valid: bool) -> None:
    assert (check_email(value) == "") is valid


@pytest.mark.parametrize(("url", "valid"), [
    ("https://portal.bbws.co.za/invoices/INV-2026-00288/pay?x=1&y=%20#top", True),
    ("https://portal.bbws.co.za:8443/a", True),
    ("HTTPS://portal.bbws.co.za/", True),
    ("https://portal.bbws.co.za/pay\u00a0or pay at https://evil.com", False),  # NBSP
    ("https://portal.bbws.co.za/\u202ezyx", False),
    ("https://portal.bbws.co.za/\u2028x", False),
    ("https://portal.bbws.co.za/%zz", False),
    ("https://portal.bbws.co.za:99999/", False),
    ("https://portal.bbws.co.za:0/", False),
    ("https://thandi:S3cr3t@portal.bbws.co.za/", False),
    ("https://portal.bbws.co.za/a#b#c", False),
    ("https://pörtal.bbws.co.za/", False),
    ("https://[::1]/", False),
    ("https://portal.bbws.co.za/a b", False),
    ("https://portal.bbws.co.za/<x>", False),
    ("https://portal.bbws.co.za/\n", False),
    ("http://portal.bbws.co.za/", False),
    ("javascript:alert(1)", False),
])
def test_uri_is_rfc_3986_and_https(url: str, valid: bool) -> None:
    assert (check_url(url) == "") is valid


@pytest.mark.parametrize(("value", "kind", "valid"), [
    (2, "integer", True), (2.0, "integer", True), (Decimal("2"), "integer", True),
    (Decimal("2.00"), "integer", True), (Decimal("2.5"), "integer", False),
    (Decimal("2.5"), "number", True), (True, "integer", False), (False, "number", False),
    (float("nan"), "number", False), (float("inf"), "number", False),
    (Decimal("NaN"), "number", False), (Decimal("Infinity"), "integer", False),
    ("2", "number", False),
])
def test_numbers(value: Any, kind: str, valid: bool) -> None:
    assert (Validator({"type": kind, "minimum": 0}).problems(value) == []) is valid


@pytest.mark.parametrize(("value", "shown"), [
    (2, "2"), (2.0, "2"), (Decimal("2"), "2"), (Decimal("2.00"), "2"), (Decimal("1.50"), "1.5"),
    (1.5, "1.5"), (Decimal("0.1"), "0.1"), (True, "true"), (Decimal("-3E+2"), "-300"),
])
def test_integral_numbers_print_as_integers(value: Any, shown: str) -> None:
    assert Template("{{x}}").render({"x": value}) == shown


def test_invoice_number_and_order_number_patterns_refuse_the_issue_cases() -> None:
    schemas = {n: json.loads((ROOT / "schemas/defs" / f"{n}.schema.json").read_text())
               for n in ("order", "invoice")}
    order = Validator(schemas["order"]["$defs"]["orderNumber"])
    invoice = Validator(schemas["invoice"]["$defs"]["invoiceNumber"])
    assert order.problems("BB-2026-00417") == [] and order.problems("BB-2026-00417\n")
    assert invoice.problems("INV-2026-00288") == [] and invoice.problems("INV-٢٠٢٦-٠٠٢٨٨")
