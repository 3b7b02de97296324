"""Render and send in one call: Amazon SES v2 (boto3, imported on first send) or SMTP.

    from bbws_mail.send import send
    send("order_confirmation_customer", data, to="thandi@example.co.za")

What every portal Lambda otherwise writes itself: one reused client, the From
address, a configuration set (SES events: deliveries, bounces, complaints), message
tags (template and build version, so events can be traced to what was sent), and
errors split into two classes a queue consumer can act on:

- :class:`PermanentSendError` (and ``TemplateDataError``, ``UnknownTemplateError``):
  retrying cannot help (bad data, an unknown template, an address SES or the SMTP
  server rejects); drop the message and log it.
- :class:`RetryableSendError`: throttling, 5xx, timeouts, connection failures, and
  account-level problems (sending paused, a missing configuration set) that an
  operator fixes; leave the message on the queue.

Bounces and complaints are not exceptions: SES accepts the message and reports them
later as events of the configuration set (SNS / EventBridge), which is where a
suppression list belongs.

``List-Unsubscribe`` (RFC 2369) and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
(RFC 8058) are added only for templates whose schema opts in with a top-level
property marked ``"x-one-click-unsubscribe": true`` (an https URL that accepts the
one-click POST), never from the GET preferences link: receipts, invoices, account
and operations mail must not offer a one-click opt-out of mail customers must get.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from bbws_mail.errors import BBWSMailError
from bbws_mail.render import RenderedEmail, render
from bbws_mail.sources import FixedSource, Snapshot, Source

if TYPE_CHECKING:
    from email.message import EmailMessage

ONE_CLICK = "x-one-click-unsubscribe"
_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.@")
# SES v2 error codes that retrying cannot fix, for this message.
_PERMANENT_CODES = {"MessageRejected", "BadRequestException", "InvalidParameterValue",
                    "MailFromDomainNotVerifiedException"}


class SendError(BBWSMailError):
    """Sending failed; see the two subclasses for what to do about it."""


class PermanentSendError(SendError):
    """Retrying cannot help: drop the message (after logging it)."""


class RejectedAddressError(PermanentSendError):
    """A sender or recipient address is malformed or was refused."""


class RetryableSendError(SendError):
    """Throttling, a server or network failure, or an account problem: try again later."""


class SendResult(NamedTuple):
    message_id: str
    template: str
    build_version: str
    transport: str


def is_permanent(exc: BaseException) -> bool:
    """True for failures a retry cannot fix: the record's own data (render data, or a
    value the formatting helpers cannot show), its template name, a rejected address."""
    from bbws_mail.errors import TemplateDataError, UnknownTemplateError
    from bbws_mail.formatting import FormattingError

    return isinstance(exc, (PermanentSendError, TemplateDataError, UnknownTemplateError,
                            FormattingError))


def addresses(value: str | Sequence[str], what: str) -> list[str]:
    """Plain addresses from "a@x.co, B <b@y.co>"; RejectedAddressError naming the field.

    Each must pass the rule the header writer applies (the validator's e-mail format:
    a dot-atom addr-spec, ASCII, a host name domain): refused here, an address is a
    permanent failure a queue consumer drops; refused only when the message is written
    it would be a MessageError, which is retried until the dead-letter queue.
    """
    from email.utils import getaddresses

    from bbws_mail.validate import check_email

    raw = [value] if isinstance(value, str) else list(value)
    if any(not isinstance(r, str) or "\r" in r or "\n" in r for r in raw):
        raise RejectedAddressError(f"{what}: addresses must be strings without line breaks")
    found = [addr for _, addr in getaddresses(raw) if addr]
    if not found:
        raise RejectedAddressError(f"{what}: no address given")
    for i, addr in enumerate(found):
        why = check_email(addr)
        if why:
            raise RejectedAddressError(f"{what}: address #{i + 1} is not an email address "
                                       f"(expected name@domain.tld): {why}")
    return found


def one_click_url(email: RenderedEmail, data: Mapping[str, Any], schema: Mapping[str, Any]
                  ) -> str:
    """The one-click unsubscribe URL of an opted-in template ('' when it does not opt in)."""
    for name, prop in dict(schema.get("properties", {})).items():
        if isinstance(prop, dict) and prop.get(ONE_CLICK) is True:
            value = data.get(name)
            return value if isinstance(value, str) else ""
    return ""


def build_message(email: RenderedEmail, *, sender: str, to: list[str], reply_to: list[str],
                  unsubscribe: str = "") -> EmailMessage:
    """The MIME message: ``RenderedEmail.to_message`` plus the one-click headers."""
    from bbws_mail import headers

    msg = email.to_message(sender=sender, to=to, reply_to=reply_to or None)
    if unsubscribe:
        field = headers.angle_url("List-Unsubscribe", unsubscribe)
        msg[field.name] = field
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return msg


def _check_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    out = []
    for name, value in tags.items():
        for label, text in (("name", name), ("value", value)):
            if not isinstance(text, str) or not text or len(text) > 256 \
                    or not set(text) <= _TAG_CHARS:
                raise SendError(f"message tag {label} ({len(str(text))} characters) must be 1-256 "
                                "of A-Z a-z 0-9 _ - . @ (SES's rule)")
        out.append({"Name": name, "Value": value})
    return out


class SesTransport:
    """SES v2 ``SendEmail`` with raw MIME content; one client per transport, made lazily."""

    name = "ses"

    def __init__(self, *, region: str | None = None, client: Any = None,
                 configuration_set: str | None = None, endpoint_url: str | None = None,
                 connect_timeout: float = 2.0, read_timeout: float = 5.0) -> None:
        self.region = region or os.environ.get("BBWS_SES_REGION") \
            or os.environ.get("AWS_REGION") or "af-south-1"
        self.configuration_set = configuration_set \
            if configuration_set is not None else os.environ.get("BBWS_SES_CONFIGURATION_SET")
        self._client = client
        self._endpoint_url = endpoint_url
        self._timeouts = (connect_timeout, read_timeout)
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    self._client = boto3.session.Session().client(
                        "sesv2", region_name=self.region, endpoint_url=self._endpoint_url,
                        config=Config(connect_timeout=self._timeouts[0],
                                      read_timeout=self._timeouts[1],
                                      retries={"mode": "standard", "total_max_attempts": 3}))
        return self._client

    def deliver(self, msg: EmailMessage, *, sender: str, to: list[str],
                tags: list[dict[str, str]]) -> str:
        params: dict[str, Any] = {
            "FromEmailAddress": addresses(sender, "From")[0],
            "Destination": {"ToAddresses": to},
            "Content": {"Raw": {"Data": msg.as_bytes()}},
            "EmailTags": tags,
        }
        if self.configuration_set:
            params["ConfigurationSetName"] = self.configuration_set
        try:
            response = self.client.send_email(**params)
        except Exception as exc:
            raise _classify_ses(exc) from None
        return str(response.get("MessageId", ""))


def _classify_ses(exc: BaseException) -> SendError:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):  # botocore network errors carry response=None
        return RetryableSendError(f"SES could not be reached: {type(exc).__name__}")
    code = str(response.get("Error", {}).get("Code", "") or "error")
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in _PERMANENT_CODES:
        return RejectedAddressError(f"SES refused the message: {code} (HTTP {status})")
    return RetryableSendError(f"SES did not send: {code} (HTTP {status})")


class SmtpTransport:
    """SMTP (a relay, a local catcher such as aiosmtpd): 5xx answers are permanent."""

    name = "smtp"

    def __init__(self, host: str | None = None, port: int | None = None, *,
                 starttls: bool = False, user: str = "", password_env: str = "BBWS_SMTP_PASSWORD",
                 timeout: float = 10.0) -> None:
        self.host = host or os.environ.get("BBWS_SMTP_HOST") or "localhost"
        self.port = int(port or os.environ.get("BBWS_SMTP_PORT") or 25)
        self.starttls, self.user, self.timeout = starttls, user, timeout
        self._password_env = password_env

    def deliver(self, msg: EmailMessage, *, sender: str, to: list[str],
                tags: list[dict[str, str]]) -> str:
        import smtplib

        where = f"SMTP {self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    import ssl

                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, os.environ.get(self._password_env, ""))
                smtp.send_message(msg, from_addr=addresses(sender, "From")[0], to_addrs=to)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            if codes and all(400 <= c < 500 for c in codes):
                raise RetryableSendError(f"{where} deferred every recipient ({codes})") from None
            raise RejectedAddressError(f"{where} refused every recipient ({codes})") from None
        except smtplib.SMTPResponseException as exc:
            cls = PermanentSendError if 500 <= exc.smtp_code < 600 else RetryableSendError
            raise cls(f"{where} answered {exc.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise RetryableSendError(f"{where}: {type(exc).__name__}") from None
        return str(msg["Message-ID"] or "")


class Sender:
    """Renders and sends; keep one per Lambda (module level) so its client is reused.

    ``sender`` is the From address (default ``BBWS_MAIL_FROM``); ``tags`` are added to
    every message next to ``template`` and ``build``.
    """

    def __init__(self, transport: SesTransport | SmtpTransport | None = None, *,
                 sender: str | None = None, reply_to: str | Sequence[str] | None = None,
                 tags: Mapping[str, str] | None = None, source: Source | str | None = None
                 ) -> None:
        self.transport = transport or default_transport()
        self.sender = sender or os.environ.get("BBWS_MAIL_FROM", "")
        if not self.sender:
            raise SendError("no From address: pass sender= or set BBWS_MAIL_FROM")
        addresses(self.sender, "From")
        self.reply_to = reply_to
        self.tags = dict(tags or {})
        self.source = source

    def send(self, template: str, data: Mapping[str, Any], *, to: str | Sequence[str],
             reply_to: str | Sequence[str] | None = None,
             tags: Mapping[str, str] | None = None) -> SendResult:
        """Validate, render and send ``template`` to ``to``; nothing is sent on any error."""
        recipients = addresses(to, "To")
        reply = reply_to if reply_to is not None else self.reply_to
        reply_list = addresses(reply, "Reply-To") if reply else []
        snapshot = self._snapshot()  # one snapshot for the render and the opt-in lookup
        if not isinstance(data, dict) and isinstance(data, Mapping):
            data = dict(data)  # the validator takes JSON objects as dicts
        email = render(template, data, source=FixedSource(snapshot))
        schema = snapshot.templates[template].schema
        message_tags = _check_tags({"template": template, "build": email.build_version,
                                    **self.tags, **(tags or {})})
        msg = build_message(email, sender=self.sender, to=recipients, reply_to=reply_list,
                            unsubscribe=one_click_url(email, data, schema))
        message_id = self.transport.deliver(msg, sender=self.sender, to=recipients,
                                            tags=message_tags)
        return SendResult(message_id, template, email.build_version, self.transport.name)

    def _snapshot(self) -> Snapshot:
        from bbws_mail.render import _make_source, default_source

        if self.source is None:
            return default_source().snapshot()
        if isinstance(self.source, str):
            return _make_source(self.source).snapshot()
        return self.source.snapshot()


def default_transport() -> SesTransport | SmtpTransport:
    """``BBWS_SEND_TRANSPORT``: ``ses`` (default) or ``smtp`` (``BBWS_SMTP_HOST``/``PORT``)."""
    kind = os.environ.get("BBWS_SEND_TRANSPORT", "ses").strip().lower() or "ses"
    if kind == "ses":
        return SesTransport()
    if kind == "smtp":
        return SmtpTransport()
    raise SendError("BBWS_SEND_TRANSPORT must be 'ses' or 'smtp'")


_default: Sender | None = None
_default_lock = threading.Lock()


def send(template: str, data: Mapping[str, Any], *, to: str | Sequence[str],
         reply_to: str | Sequence[str] | None = None,
         tags: Mapping[str, str] | None = None) -> SendResult:
    """Render ``template`` with ``data`` and send it, with the process-wide :class:`Sender`
    configured from the environment (``BBWS_MAIL_FROM``, ``BBWS_SEND_TRANSPORT``,
    ``BBWS_SES_CONFIGURATION_SET``, ``BBWS_SES_REGION``)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Sender()
    return _default.send(template, data, to=to, reply_to=reply_to, tags=tags)
