"""Test sends: a rendered email as a real multipart/alternative message.

A browser preview cannot show what Outlook or the Gmail app do to an email, so
designers send it to themselves. SMTP by default (``localhost:1025`` suits a
local mail catcher such as MailHog or ``python -m aiosmtpd -n``), or SES with the
same raw MIME message the portal's Lambdas send: the message, the transports and
their errors are :mod:`bbws_mail.send`'s, so a test send fails the way a Lambda's
send would. Settings come from options, else ``BBWS_*`` environment variables,
else these defaults; the SMTP password is only ever read from an environment
variable, never from a command line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bbws_mail.errors import MessageError
from bbws_mail.headers import mailboxes
from bbws_mail.render import RenderedEmail
from bbws_mail.send import (
    SendError,
    SesTransport,
    SmtpTransport,
    build_message,
    check_tags,
)

if TYPE_CHECKING:
    from bbws_mail.headers import Recipients

DEFAULT_SENDER = "BBWS mail preview <preview@bbws.local>"


@dataclass(frozen=True)
class SendSettings:
    """How test sends leave this machine."""

    transport: str = "smtp"  # "smtp" or "ses"
    smtp_host: str = "localhost"
    smtp_port: int = 1025
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    starttls: bool = False
    region: str = ""
    sender: str = DEFAULT_SENDER
    timeout: float = 15.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *,
                 password_env: str = "BBWS_SMTP_PASSWORD", **overrides: Any) -> SendSettings:
        """Settings from ``BBWS_SMTP_*``/``BBWS_SES_REGION``/``BBWS_MAIL_FROM``, then overrides.

        Overrides that are None (an option not given) do not replace the environment.
        """
        env = os.environ if env is None else env
        base = cls(
            transport=env.get("BBWS_SEND_TRANSPORT", "smtp").strip().lower() or "smtp",
            smtp_host=env.get("BBWS_SMTP_HOST", "") or "localhost",
            smtp_port=_port(env.get("BBWS_SMTP_PORT", "") or "1025", "BBWS_SMTP_PORT"),
            smtp_user=env.get("BBWS_SMTP_USER", ""),
            smtp_password=env.get(password_env, ""),
            starttls=env.get("BBWS_SMTP_STARTTLS", "").strip().lower() in {"1", "true", "yes"},
            region=env.get("BBWS_SES_REGION", "") or env.get("AWS_REGION", "")
            or env.get("AWS_DEFAULT_REGION", ""),
            sender=env.get("BBWS_MAIL_FROM", "") or DEFAULT_SENDER,
        )
        settings = replace(base, **{k: v for k, v in overrides.items() if v is not None})
        if settings.transport not in {"smtp", "ses"}:
            raise SendError(f"unknown transport {settings.transport!r}: use smtp or ses")
        return settings

    def describe(self) -> str:
        """Where sends go, for the page and the CLI ("SMTP localhost:1025")."""
        return transport(self).describe()


def _port(value: str, what: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise SendError(f"{what} must be a port number, not {value!r}") from None
    if not 0 < port < 65536:
        raise SendError(f"{what} must be between 1 and 65535, not {port}")
    return port


def transport(settings: SendSettings) -> SesTransport | SmtpTransport:
    """The :mod:`bbws_mail.send` transport these settings describe."""
    if settings.transport == "ses":
        return SesTransport(region=settings.region or None)
    return SmtpTransport(settings.smtp_host, settings.smtp_port, starttls=settings.starttls,
                         user=settings.smtp_user, password=settings.smtp_password,
                         timeout=settings.timeout)


def send_email(email: RenderedEmail, to: Recipients, settings: SendSettings) -> str:
    """Send ``email`` to ``to``; returns a one-line description of what happened.

    ``to`` is read by :func:`bbws_mail.headers.mailboxes` (a string is one mailbox,
    several are a list), as every send is; failures are :mod:`bbws_mail.send`'s
    errors (``SendError`` and its subclasses) or a ``MessageError``.
    """
    recipients = mailboxes(to, "To")
    senders = mailboxes(settings.sender, "From")
    if len(senders) != 1:
        raise MessageError(f"From must be exactly one address, got {len(senders)}")
    msg = build_message(email, sender=senders, to=recipients)
    msg["X-BBWS-Preview"] = "test send"
    via = transport(settings)
    done = via.deliver(msg, sender=senders[0].addr, to=[r.addr for r in recipients],
                       tags=check_tags({"template": email.template,
                                        "build": email.build_version}, SendError))
    line = f"sent to {', '.join(r.addr for r in recipients)} via {via.describe()}"
    if via.name == "ses":
        line += f", message id {done.message_id or '?'}"
    if done.refused:
        line += "; refused: " + ", ".join(f"{a} ({code})" for a, code in done.refused)
    return line
