"""handle_batch: which SQS messages come back (retryable) and which are dropped (permanent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bbws_mail.send import RetryableSendError, Sender, SmtpTransport
from bbws_mail.sources import PackagedSource
from bbws_mail.sqs import handle_batch
from tests.runtime.test_send import example, real_templates
from tests.smtp import Catcher


def record(message_id: str, body: Any) -> dict[str, Any]:
    return {"messageId": message_id, "body": body if isinstance(body, str) else json.dumps(body)}


def test_only_retryable_failures_are_reported(smtp: tuple[Catcher, int],
                                              project_build: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    catcher, port = smtp
    sender = Sender(SmtpTransport("127.0.0.1", port, timeout=5), sender="noreply@bbws.co.za",
                    source=PackagedSource(project_build))
    down = Sender(SmtpTransport("127.0.0.1", 1, timeout=5), sender="noreply@bbws.co.za",
                  source=PackagedSource(project_build))
    name = real_templates()[0]
    good = {"template": name, "data": example(name), "to": "a@example.co.za"}
    event = {"Records": [
        record("ok", good),
        record("bad-data", {**good, "data": {**example(name), "extra": 1}}),
        record("unknown", {**good, "template": "no_such_template"}),
        record("not-json", "{oops"),
        record("array", [1, 2]),
        record("bad-to", {**good, "to": "nobody"}),
        record("down", {**good, "via": "down"}),
    ]}

    def handle(body: dict[str, Any]) -> None:
        (down if body.get("via") == "down" else sender).send(
            body["template"], body["data"], to=body["to"])

    result = handle_batch(event, handle)
    assert result == {"batchItemFailures": [{"itemIdentifier": "down"}]}
    assert len(catcher.messages) == 1
    dropped = [r.getMessage() for r in caplog.records if r.name == "bbws_mail.sqs"
               and r.levelname == "ERROR"]
    assert len(dropped) == 5
    assert not any("a@example.co.za" in line or "oops" in line for line in dropped)


def test_after_throttling_the_rest_of_the_batch_is_not_tried() -> None:
    tried: list[str] = []

    def handle(body: dict[str, Any]) -> None:
        tried.append(body["n"])
        if body["n"] == "2":
            raise RetryableSendError("SES did not send: TooManyRequestsException (HTTP 429)")

    event = {"Records": [record(n, {"n": n}) for n in ("1", "2", "3", "4")]}
    result = handle_batch(event, handle)
    assert tried == ["1", "2"]
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == ["2", "3", "4"]
    tried.clear()
    assert len(handle_batch(event, handle, stop_on_throttle=False)["batchItemFailures"]) == 1
    assert tried == ["1", "2", "3", "4"]


def test_unforeseen_errors_are_retried_not_dropped() -> None:
    def handle(body: dict[str, Any]) -> None:
        raise RuntimeError("bug")

    assert handle_batch({"Records": [record("x", {})]}, handle) == {
        "batchItemFailures": [{"itemIdentifier": "x"}]}


def test_data_the_formatting_helpers_refuse_is_dropped_not_retried(
        caplog: pytest.LogCaptureFixture) -> None:
    """An amount or date no helper can show is the record's own fault, as bad render
    data is: retrying only walks it to the dead-letter queue."""
    from decimal import Decimal

    from bbws_mail.formatting import zar

    def handle(body: dict[str, Any]) -> None:
        zar(Decimal(body["amount"]))

    event = {"Records": [record("huge", {"amount": "1e26"})]}
    assert handle_batch(event, handle) == {"batchItemFailures": []}
    [line] = [r.getMessage() for r in caplog.records if r.name == "bbws_mail.sqs"]
    assert line.startswith("dropping SQS message huge: FormattingError")


def test_a_body_nested_past_the_parsers_recursion_is_dropped_not_retried(
        caplog: pytest.LogCaptureFixture) -> None:
    """It can never parse: retrying it only walks it to the dead-letter queue."""
    event = {"Records": [record("deep", "[" * 100_000 + "]" * 100_000)]}
    assert handle_batch(event, lambda body: None) == {"batchItemFailures": []}
    [line] = [r.getMessage() for r in caplog.records if r.name == "bbws_mail.sqs"]
    assert line.startswith("dropping SQS message deep: BadMessageError")


def test_an_unforeseen_errors_text_never_reaches_the_log(caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    """Handlers' own errors quote data (int('...'), strptime, KeyError): only the kind of
    error and where it was raised are logged, so no body text and no forged line."""
    secret = "4111111111111111"

    def handle(body: dict[str, Any]) -> None:
        int(body["amount"])

    event = {"Records": [record("m1", {"amount": f"{secret}\nERROR forged line"})]}
    assert handle_batch(event, handle) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    [line] = [r.getMessage() for r in caplog.records if r.name == "bbws_mail.sqs"]
    assert secret not in line and "\n" not in line and "forged" not in line
    assert "ValueError" in line and "test_send_sqs.py" in line and "handle" in line
