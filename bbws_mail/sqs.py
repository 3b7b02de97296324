"""SQS batches for a Lambda: partial batch failures instead of all-or-nothing.

    def handler(event, context):
        return handle_batch(event, lambda body: sender.send(body["template"], body["data"],
                                                            to=body["to"]))

Recipients in a body are JSON values, never text a consumer builds: ``"to"`` is a
string (exactly one mailbox, ``addr`` or ``Name <addr>``), an object
``{"name": "Nkosi, Thandi", "address": "thandi@example.co.za"}`` (``name``
optional), or an array of these for several recipients; ``Sender.send`` takes them
as they are (:func:`bbws_mail.headers.mailboxes`).

With ``ReportBatchItemFailures`` on the event source mapping, SQS deletes every
message not listed in ``batchItemFailures``. So:

- a message that succeeded, or failed permanently (bad data, an unknown template, a
  rejected address or name, a per-message tag SES refuses, a body that is not JSON), is
  *not* listed: retrying cannot help;
  it is logged (message id and the error's class and message; the body is never
  logged, it holds personal data) and dropped;
- errors that are not the project's own (a handler's ``int(body["qty"])``, strptime,
  a KeyError) are logged by class and where they were raised, never by their text,
  which quotes data;
- a message that failed in a retryable way (throttling, 5xx, timeouts, and the
  deployment's problems: SES sandbox or unverified identity, credentials) or in an
  unforeseen way is listed, and comes back after the visibility timeout (then to the
  dead-letter queue after ``maxReceiveCount``);
- after SES throttling, the rest of the batch is listed without being tried: sending
  into a throttle only burns the account's rate.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from bbws_mail.errors import BadMessageError, BBWSMailError
from bbws_mail.send import RetryableSendError, is_permanent

log = logging.getLogger("bbws_mail.sqs")


def json_body(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's body as a JSON object, or BadMessageError."""
    try:
        body = json.loads(record.get("body") or "")
    except ValueError:
        raise BadMessageError("message body is not JSON") from None
    except RecursionError:  # it can never parse: retrying it would not help
        raise BadMessageError("message body is JSON nested too deeply to read") from None
    if not isinstance(body, dict):
        raise BadMessageError(f"message body is JSON {type(body).__name__}, not an object")
    return body


def handle_batch(event: Mapping[str, Any], handle: Callable[[dict[str, Any]], Any], *,
                 stop_on_throttle: bool = True) -> dict[str, list[dict[str, str]]]:
    """Call ``handle(body)`` for each record's JSON body; the Lambda's return value.

    Returns ``{"batchItemFailures": [{"itemIdentifier": messageId}, ...]}`` listing the
    messages that should be retried.
    """
    failures: list[dict[str, str]] = []
    throttled = False
    for record in event.get("Records", []):
        message_id = str(record.get("messageId", ""))
        if throttled:
            failures.append({"itemIdentifier": message_id})
            continue
        try:
            handle(json_body(record))
        except Exception as exc:
            if isinstance(exc, BadMessageError) or is_permanent(exc):
                log.error("dropping SQS message %s: %s: %s", message_id, type(exc).__name__,
                          describe(exc))
                continue
            log.warning("SQS message %s will be retried: %s: %s", message_id,
                        type(exc).__name__, describe(exc))
            failures.append({"itemIdentifier": message_id})
            if stop_on_throttle and isinstance(exc, RetryableSendError) \
                    and _throttled(exc):
                throttled = True
    return {"batchItemFailures": failures}


def describe(exc: BaseException) -> str:
    """What a log line may say about ``exc``: the project's messages (written to describe
    values, never quote them), else only where it was raised; other errors' text quotes
    data (``invalid literal for int() with base 10: '...'``) and may hold line breaks."""
    if isinstance(exc, BBWSMailError):
        return str(exc)
    tb = exc.__traceback__
    if tb is None:
        return "(message not logged)"
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    where = code.co_filename.replace("\\", "/").rpartition("/")[2]
    return f"raised at {where}:{tb.tb_lineno} in {code.co_name} (message not logged)"


def _throttled(exc: RetryableSendError) -> bool:
    text = str(exc)
    return any(code in text for code in ("TooManyRequests", "Throttl", "LimitExceeded"))
