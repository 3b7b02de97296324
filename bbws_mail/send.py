"""Render and send in one call: Amazon SES v2 (boto3, imported on first use) or SMTP.

    from bbws_mail.send import Address, send
    send("order_confirmation_customer", data, to=Address(customer_name, customer_email))

What every portal Lambda otherwise writes itself: one reused client, the From
address, a configuration set (SES events: deliveries, bounces, complaints), message
tags (template and build version, so events can be traced to what was sent), and
errors in classes that say what a retry can change (docs/lambda.md#errors-and-retries-sqs
has the table):

- :class:`PermanentSendError` (and ``TemplateDataError``, ``UnknownTemplateError``,
  ``FormattingError``, ``MessageError``): the message's own data (an address, a
  display name, a header limit, a per-message tag, the template data) or a refusal
  an SMTP server gives with a 5xx; retrying cannot help: drop it and log it.
- :class:`RetryableSendError`: throttling, 5xx from SES, SMTP 4xx, timeouts and
  connection failures before the message was accepted; leave it on the queue.
- :class:`DeploymentError` (retryable): the deployment (From, identity, sandbox,
  configuration set, credentials, Sender-level tags). :class:`Sender` raises it at
  construction where it can be seen then; met while sending it is retried, never
  dropped, until an operator fixes it.

Addresses are values: a string is exactly one mailbox (``addr`` or ``Name <addr>``),
several recipients are a list, and :class:`Address` (or ``{"name", "address"}`` in
a JSON body) carries a name that is never re-parsed; the envelope and the header
come from the same parsed value (:mod:`bbws_mail.headers`).

Once an SMTP server has accepted the message (250 after DATA) it counts as sent: a
failed QUIT is logged, not raised, and recipients the server refused while taking
the others are reported in :attr:`SendResult.refused`, one by one.

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

import logging
import os
import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from bbws_mail import headers
from bbws_mail.errors import (
    DeploymentError,
    MessageError,
    PermanentSendError,
    RejectedAddressError,
    RetryableSendError,
    SendError,
    error_code,
    status_code,
)
from bbws_mail.headers import Address, mailboxes
from bbws_mail.render import RenderedEmail, render
from bbws_mail.sources import FixedSource, Snapshot, Source

if TYPE_CHECKING:
    from email.message import EmailMessage

    from bbws_mail.headers import Recipients

__all__ = ["Address", "DeploymentError", "PermanentSendError", "RejectedAddressError",
           "RetryableSendError", "SendError", "SendResult", "Sender", "SesTransport",
           "SmtpTransport", "is_permanent", "send"]

log = logging.getLogger("bbws_mail.send")

ONE_CLICK = "x-one-click-unsubscribe"
_TAG = re.compile(r"[A-Za-z0-9_-]{1,256}")  # SES v2's rule for tag names and values
# SES v2 error codes by what a retry can change. The deployment's: the sandbox or an
# unverified identity (MessageRejected), a missing configuration set (NotFound),
# credentials and permissions; retried until an operator fixes them, never dropped.
_DEPLOYMENT_CODES = {"MessageRejected", "MailFromDomainNotVerifiedException",
                     "AccountSuspendedException", "SendingPausedException", "NotFoundException",
                     "AccessDeniedException", "UnrecognizedClientException",
                     "InvalidClientTokenId", "ExpiredTokenException", "SignatureDoesNotMatch",
                     "IncompleteSignature", "MissingAuthenticationTokenException"}
# A request SES calls malformed after the project's own checks passed: the message's data.
_PERMANENT_CODES = {"BadRequestException", "InvalidParameterValue"}
# botocore errors without a response that no retry fixes: the deployment's.
_DEPLOYMENT_ERRORS = {"NoCredentialsError", "PartialCredentialsError", "NoRegionError",
                      "CredentialRetrievalError", "UnknownServiceError"}


class SendResult(NamedTuple):
    message_id: str
    template: str
    build_version: str
    transport: str
    # (address, SMTP reply code) for each recipient the server refused while accepting
    # the message for the others; the message was sent and must not be retried.
    refused: tuple[tuple[str, int], ...] = ()


class Delivered(NamedTuple):
    """What a transport reports for a message it handed over."""

    message_id: str
    refused: tuple[tuple[str, int], ...] = ()


def is_permanent(exc: BaseException) -> bool:
    """True for failures a retry cannot fix: the record's own data (render data, an
    address, a name or header value no line can carry, a value the formatting helpers
    cannot show), its template name, a refusal that will not change."""
    from bbws_mail.errors import TemplateDataError, UnknownTemplateError
    from bbws_mail.formatting import FormattingError

    return isinstance(exc, (PermanentSendError, MessageError, TemplateDataError,
                            UnknownTemplateError, FormattingError))


def one_click_url(email: RenderedEmail, data: Mapping[str, Any], schema: Mapping[str, Any]
                  ) -> str:
    """The one-click unsubscribe URL of an opted-in template ('' when it does not opt in)."""
    for name, prop in dict(schema.get("properties", {})).items():
        if isinstance(prop, dict) and prop.get(ONE_CLICK) is True:
            value = data.get(name)
            return value if isinstance(value, str) else ""
    return ""


def build_message(email: RenderedEmail, *, sender: Recipients, to: Recipients,
                  reply_to: Recipients | None = None, unsubscribe: str = "") -> EmailMessage:
    """The MIME message: ``RenderedEmail.to_message`` plus the one-click headers."""
    msg = email.to_message(sender=sender, to=to, reply_to=reply_to or None)
    if unsubscribe:
        field = headers.angle_url("List-Unsubscribe", unsubscribe)
        msg[field.name] = field
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return msg


def check_tags(tags: Mapping[str, str], error: type[SendError] = PermanentSendError
               ) -> list[dict[str, str]]:
    """SES message tags from ``tags``; names and values follow SES v2's rule
    (1-256 of A-Z a-z 0-9 _ -), else ``error`` naming the tag by its position."""
    out = []
    for i, (name, value) in enumerate(tags.items()):
        for label, text in (("name", name), ("value", value)):
            if not isinstance(text, str) or not _TAG.fullmatch(text):
                shown = f"{len(text)} characters" if isinstance(text, str) \
                    else type(text).__name__
                raise error(f"message tag #{i + 1}: its {label} ({shown}) must be 1-256 of "
                            "A-Z a-z 0-9 _ - (SES v2's rule)")
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
        self._session: Any = None
        self._endpoint_url = endpoint_url
        self._timeouts = (connect_timeout, read_timeout)
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"SES ({self.region})"

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    try:
                        import boto3
                        from botocore.config import Config
                    except ImportError:
                        raise DeploymentError("SES sending needs boto3 (the Lambda runtime has "
                                              "it; elsewhere pip install boto3)") from None
                    self._session = boto3.session.Session()
                    self._client = self._session.client(
                        "sesv2", region_name=self.region, endpoint_url=self._endpoint_url,
                        config=Config(connect_timeout=self._timeouts[0],
                                      read_timeout=self._timeouts[1],
                                      retries={"mode": "standard", "total_max_attempts": 3}))
        return self._client

    def check(self, sender: str) -> None:
        """Deployment problems SES can tell before a send: DeploymentError.

        No credentials, sending paused for the account, a configuration set that does
        not exist, a From address whose address and domains are not verified
        identities in the region; an account in the sandbox is logged (its verified
        recipients still receive mail). A check SES does not answer (no permission to
        ask, a network failure) is logged and skipped: the send itself will tell.
        """
        client = self.client
        if self._session is not None and self._session.get_credentials() is None:
            raise DeploymentError("no AWS credentials for SES: give the function a role (or set "
                                  "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
        account = self._ask(client.get_account)
        if isinstance(account, dict):
            if account.get("SendingEnabled") is False:
                raise DeploymentError(f"SES ({self.region}): sending is paused for this account; "
                                      "resume it (PutAccountSendingAttributes) or ask AWS why")
            if account.get("ProductionAccessEnabled") is False:
                log.warning("SES (%s): the account is in the sandbox: only verified recipients "
                            "receive mail, the others are refused (MessageRejected, retried as "
                            "a DeploymentError); request production access", self.region)
        if self.configuration_set:
            answer = self._ask(client.get_configuration_set,
                               ConfigurationSetName=self.configuration_set)
            if answer == "NotFoundException":
                raise DeploymentError(f"SES ({self.region}) has no configuration set named by "
                                      "BBWS_SES_CONFIGURATION_SET / configuration_set=: create "
                                      "it or correct the name")
        domain = sender.rpartition("@")[2]
        labels = domain.split(".")
        parents = [".".join(labels[i:]) for i in range(len(labels) - 1)]  # SES: a verified
        pending = []
        for identity in (sender, *parents):  # domain also verifies its subdomains
            answer = self._ask(client.get_email_identity, EmailIdentity=identity)
            if answer == "NotFoundException":
                continue
            if not isinstance(answer, dict):
                return  # could not tell
            if answer.get("VerifiedForSendingStatus") \
                    or answer.get("VerificationStatus") == "SUCCESS":
                return
            pending.append(identity)
        if pending:
            raise DeploymentError(f"SES ({self.region}): the From identity ({pending[0]!r}) is "
                                  "not verified for sending yet: finish its verification")
        raise DeploymentError(f"SES ({self.region}): neither the From address nor its domain "
                              f"({domain!r}) is a verified identity: verify one, or use a "
                              "From address of a verified domain")

    def _ask(self, call: Any, **params: Any) -> Any:
        """The answer of a check call, the error code when SES refused it, None otherwise."""
        try:
            return call(**params)
        except Exception as exc:
            code = error_code(exc) if isinstance(getattr(exc, "response", None), dict) \
                else type(exc).__name__
            if code == "NotFoundException":
                return code
            if type(exc).__name__ in _DEPLOYMENT_ERRORS:
                raise _classify_ses(exc) from None
            log.warning("SES (%s): could not check %s at start-up (%s); the first send will "
                        "tell", self.region, call.__name__, code)
            return None

    def deliver(self, msg: EmailMessage, *, sender: str, to: list[str],
                tags: list[dict[str, str]]) -> Delivered:
        params: dict[str, Any] = {
            "FromEmailAddress": sender,
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
        return Delivered(str(response.get("MessageId", "")))


def _classify_ses(exc: BaseException) -> SendError:
    if not isinstance(getattr(exc, "response", None), dict):  # a network error: no answer
        name = type(exc).__name__
        if name in _DEPLOYMENT_ERRORS:
            return DeploymentError(f"SES cannot be used: {name} (credentials or region of the "
                                   "deployment)")
        return RetryableSendError(f"SES could not be reached: {name}")
    code, status = error_code(exc) or "error", status_code(exc)
    if code in _DEPLOYMENT_CODES:
        return DeploymentError(f"SES refused to send for a reason of the deployment: {code} "
                               f"(HTTP {status}); the sandbox (verify the recipient or request "
                               "production access), the From identity, the configuration set "
                               "or the credentials; retried until fixed")
    if code in _PERMANENT_CODES:
        return PermanentSendError(f"SES refused the message as malformed: {code} "
                                  f"(HTTP {status})")
    return RetryableSendError(f"SES did not send: {code} (HTTP {status})")


class SmtpTransport:
    """SMTP (a relay, a local catcher such as aiosmtpd).

    4xx answers, timeouts and connection failures before the server accepted the
    message are retryable; 5xx answers are permanent, except a refused login, From
    or STARTTLS, which are the deployment's (DeploymentError). Once the server
    answered 250 to DATA the message is sent: a failure to QUIT is logged, and
    recipients refused while others were accepted are returned, not raised.
    """

    name = "smtp"

    def __init__(self, host: str | None = None, port: int | None = None, *,
                 starttls: bool = False, user: str = "", password_env: str = "BBWS_SMTP_PASSWORD",
                 password: str | None = None, timeout: float = 10.0) -> None:
        self.host = host or os.environ.get("BBWS_SMTP_HOST") or "localhost"
        self.port = int(port or os.environ.get("BBWS_SMTP_PORT") or 25)
        self.starttls, self.user, self.timeout = starttls, user, timeout
        self._password_env = password_env
        self._password = password

    def __repr__(self) -> str:
        return f"SmtpTransport({self.describe()!r})"

    def describe(self) -> str:
        tls = " with STARTTLS" if self.starttls else ""
        user = f" as {self.user}" if self.user else ""
        return f"SMTP {self.host}:{self.port}{tls}{user}"

    def check(self, sender: str) -> None:
        """Nothing to ask an SMTP server before a send that would not cost a connection."""

    def deliver(self, msg: EmailMessage, *, sender: str, to: list[str],
                tags: list[dict[str, str]]) -> Delivered:
        import smtplib

        where = f"SMTP server {self.host}:{self.port}"
        smtp = None
        stage = "connect"  # until "send", nothing the message holds is in play
        refused: dict[str, tuple[int, bytes]] = {}
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                import ssl

                stage = "STARTTLS"
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                stage = "login"
                password = self._password if self._password is not None \
                    else os.environ.get(self._password_env, "")
                smtp.login(self.user, password)
            stage = "send"
            refused = smtp.send_message(msg, from_addr=sender, to_addrs=to)
            stage = "sent"
        except smtplib.SMTPAuthenticationError as exc:
            raise DeploymentError(f"{where} refused the login of the configured user "
                                  f"({exc.smtp_code}): check the user and password") from None
        except smtplib.SMTPNotSupportedError:
            raise DeploymentError(f"{where} does not offer what is configured (STARTTLS or "
                                  "AUTH)") from None
        except smtplib.SMTPSenderRefused as exc:
            if 400 <= exc.smtp_code < 500:
                raise RetryableSendError(f"{where} deferred the From address "
                                         f"({exc.smtp_code})") from None
            raise DeploymentError(f"{where} refused the From address ({exc.smtp_code}): use a "
                                  "From address the server accepts") from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            shown = ", ".join(f"#{i + 1} {code}" for i, code in enumerate(codes))
            if any(400 <= c < 500 for c in codes):
                raise RetryableSendError(f"{where} deferred the recipients ({shown})") from None
            raise RejectedAddressError(f"{where} refused every recipient ({shown})") from None
        except (smtplib.SMTPConnectError, smtplib.SMTPHeloError) as exc:
            raise RetryableSendError(f"{where} would not start a session ({exc.smtp_code}); "
                                     "the message was not sent") from None
        except smtplib.SMTPResponseException as exc:
            if stage != "send":  # the server or the deployment, never the message
                cls: type[SendError] = DeploymentError if exc.smtp_code >= 500 \
                    else RetryableSendError
                raise cls(f"{where} answered {exc.smtp_code} to {stage}") from None
            cls = PermanentSendError if 500 <= exc.smtp_code < 600 else RetryableSendError
            raise cls(f"{where} answered {exc.smtp_code} to the message") from None
        except (OSError, smtplib.SMTPException) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror \
                else type(exc).__name__
            raise RetryableSendError(f"cannot reach {where}: {why}") from None
        finally:
            if smtp is not None:
                _quit(smtp, where, sent=stage == "sent")
        for code, _ in refused.values():
            log.warning("%s refused one recipient (%s) and accepted the message for the "
                        "others; not retried", where, code)
        return Delivered(str(msg["Message-ID"] or ""),
                         tuple((addr, int(code)) for addr, (code, _) in refused.items()))


def _quit(smtp: Any, where: str, *, sent: bool) -> None:
    """End the session; a server that fails to say goodbye does not unsend a message."""
    import smtplib

    try:
        code, _ = smtp.quit()
    except (OSError, smtplib.SMTPException) as exc:
        smtp.close()
        if sent:
            log.warning("%s: QUIT failed (%s) after the server accepted the message; it "
                        "counts as sent", where, type(exc).__name__)
        return
    if code != 221 and sent:
        log.warning("%s answered QUIT with %s after accepting the message; it counts as sent",
                    where, code)


class Sender:
    """Renders and sends; keep one per Lambda (module level) so its client is reused.

    ``sender`` is the From mailbox (default ``BBWS_MAIL_FROM``), ``reply_to`` the
    default Reply-To (one mailbox or a list), ``tags`` SES tags added to every
    message next to ``template`` and ``build``. All are checked here, by the header
    writer's rules, and with ``check`` (default) the transport is asked what it can
    tell before a send (SES: credentials, configuration set, From identity): a
    ``Sender`` that constructs can send, and one that cannot raises DeploymentError.
    """

    def __init__(self, transport: SesTransport | SmtpTransport | None = None, *,
                 sender: Recipients | None = None, reply_to: Recipients | None = None,
                 tags: Mapping[str, str] | None = None, source: Source | str | None = None,
                 check: bool = True) -> None:
        self.transport = transport or default_transport()
        raw = sender if sender is not None else os.environ.get("BBWS_MAIL_FROM", "")
        if not raw:
            raise DeploymentError("no From address: pass sender= or set BBWS_MAIL_FROM")
        try:
            senders = mailboxes(raw, "From")
            if len(senders) != 1:
                raise MessageError(f"From must be exactly one address, got {len(senders)}")
            self.sender: Address = senders[0]
            self.reply_to: list[Address] = mailboxes(reply_to, "Reply-To") \
                if reply_to is not None else []
            headers.addresses("From", [self.sender])
            if self.reply_to:
                headers.addresses("Reply-To", self.reply_to)
        except MessageError as exc:
            raise DeploymentError(f"this Sender cannot send: {exc}") from None
        self.tags = dict(tags or {})
        check_tags(self.tags, DeploymentError)
        self.source = source
        if check:
            self.transport.check(self.sender.addr)

    def send(self, template: str, data: Mapping[str, Any], *, to: Recipients,
             reply_to: Recipients | None = None,
             tags: Mapping[str, str] | None = None) -> SendResult:
        """Validate, render and send ``template`` to ``to``; nothing is sent on any error.

        ``to`` and ``reply_to``: a string (exactly one mailbox), an :class:`Address`,
        ``{"name": ..., "address": ...}``, or a list of these; ``reply_to=[]`` sends
        without the Sender's default Reply-To.
        """
        try:
            recipients = mailboxes(to, "To")
            reply = self.reply_to if reply_to is None \
                else [] if reply_to == [] else mailboxes(reply_to, "Reply-To")
        except MessageError as exc:
            raise RejectedAddressError(str(exc)) from None
        snapshot = self._snapshot()  # one snapshot for the render and the opt-in lookup
        if not isinstance(data, dict) and isinstance(data, Mapping):
            data = dict(data)  # the validator takes JSON objects as dicts
        email = render(template, data, source=FixedSource(snapshot))
        schema = snapshot.templates[template].schema
        message_tags = check_tags({"template": template, "build": email.build_version,
                                   **self.tags, **(tags or {})})
        msg = build_message(email, sender=self.sender, to=recipients, reply_to=reply,
                            unsubscribe=one_click_url(email, data, schema))
        done = self.transport.deliver(msg, sender=self.sender.addr,
                                      to=[r.addr for r in recipients], tags=message_tags)
        return SendResult(done.message_id, template, email.build_version, self.transport.name,
                          done.refused)

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
    raise DeploymentError("BBWS_SEND_TRANSPORT must be 'ses' or 'smtp'")


_default: Sender | None = None
_default_lock = threading.Lock()


def send(template: str, data: Mapping[str, Any], *, to: Recipients,
         reply_to: Recipients | None = None,
         tags: Mapping[str, str] | None = None) -> SendResult:
    """Render ``template`` with ``data`` and send it, with the process-wide :class:`Sender`
    configured from the environment (``BBWS_MAIL_FROM``, ``BBWS_SEND_TRANSPORT``,
    ``BBWS_SES_CONFIGURATION_SET``, ``BBWS_SES_REGION``); made on the first call, so a
    deployment problem found then is a DeploymentError (retried, never dropped)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Sender()
    return _default.send(template, data, to=to, reply_to=reply_to, tags=tags)
