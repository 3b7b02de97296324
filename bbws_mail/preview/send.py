"""Test sends: a rendered email as a real multipart/alternative message.

A browser preview cannot show what Outlook or the Gmail app do to an email, so
designers send it to themselves. SMTP by default (``localhost:1025`` suits a
local mail catcher such as MailHog or ``python -m aiosmtpd -n``), or SES with the
same raw MIME message the portal's Lambdas send. Settings come from options,
else ``BBWS_*`` environment variables, else these defaults; the SMTP password is
only ever read from an environment variable, never from a command line.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.utils import getaddresses
from typing import Any

from bbws_mail.errors import BBWSMailError
from bbws_mail.render import RenderedEmail

DEFAULT_SENDER = "BBWS mail preview <preview@bbws.local>"


class SendError(BBWSMailError):
    """A test send failed: the message says where (host:port or SES region) and why."""


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
        if self.transport == "ses":
            return f"SES ({self.region or 'default region'})"
        tls = " with STARTTLS" if self.starttls else ""
        user = f" as {self.smtp_user}" if self.smtp_user else ""
        return f"SMTP {self.smtp_host}:{self.smtp_port}{tls}{user}"


def _port(value: str, what: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise SendError(f"{what} must be a port number, not {value!r}") from None
    if not 0 < port < 65536:
        raise SendError(f"{what} must be between 1 and 65535, not {port}")
    return port


def recipients(to: str | list[str]) -> list[str]:
    """Validated addresses from "a@x, B <b@y>"; raises SendError naming the bad one."""
    raw = [to] if isinstance(to, str) else list(to)
    if any("\r" in r or "\n" in r for r in raw):
        raise SendError("recipient addresses must not contain line breaks")
    found = [addr for _, addr in getaddresses(raw) if addr]
    if not found:
        raise SendError("no recipient address given")
    for addr in found:
        local, _, domain = addr.rpartition("@")
        if not local or not domain or " " in addr:
            raise SendError(f"not an email address: {addr!r}")
    return found


def send_email(email: RenderedEmail, to: str | list[str], settings: SendSettings) -> str:
    """Send ``email`` to ``to``; returns a one-line description of what happened."""
    addresses = recipients(to)
    msg = email.to_message(sender=settings.sender, to=addresses)
    msg["X-BBWS-Preview"] = "test send"
    if settings.transport == "ses":
        return _send_ses(msg.as_bytes(), settings, addresses)
    return _send_smtp(msg, settings, addresses)


def _send_smtp(msg: Any, settings: SendSettings, addresses: list[str]) -> str:
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                          timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            refused = smtp.send_message(msg, to_addrs=addresses)
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(f"SMTP server {where} rejected the login of {settings.smtp_user!r}: "
                        f"{_smtp_reply(exc)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        bad = ", ".join(f"{a} ({_smtp_reply(r)})" for a, r in exc.recipients.items())
        raise SendError(f"SMTP server {where} refused the recipient(s): {bad}") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise SendError(f"SMTP server {where} does not support that: {exc}") from None
    except smtplib.SMTPResponseException as exc:
        raise SendError(f"SMTP server {where} refused the message: {_smtp_reply(exc)}") from None
    except smtplib.SMTPException as exc:
        raise SendError(f"SMTP server {where} failed: {exc}") from None
    except ssl.SSLError as exc:
        raise SendError(f"TLS with SMTP server {where} failed: {exc}") from None
    except OSError as exc:  # refused, unreachable, timeout, unknown host
        raise SendError(f"cannot reach SMTP server {where}: {exc.strerror or exc} "
                        "(is a mail catcher running? set --smtp-host/--smtp-port or "
                        "BBWS_SMTP_HOST/BBWS_SMTP_PORT)") from None
    if refused:
        bad = ", ".join(refused)
        raise SendError(f"SMTP server {where} refused some recipient(s): {bad}")
    return f"sent to {', '.join(addresses)} via SMTP {where}"


def _smtp_reply(exc: Any) -> str:
    code, text = (exc.smtp_code, exc.smtp_error) if hasattr(exc, "smtp_code") else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}"


def _send_ses(raw: bytes, settings: SendSettings, addresses: list[str]) -> str:
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise SendError("SES sends need boto3: pip install 'bbws-mail[publish]'") from None
    region = settings.region or None
    try:
        client = boto3.client("sesv2", region_name=region)
        reply = client.send_email(
            FromEmailAddress=settings.sender,
            Destination={"ToAddresses": addresses},
            Content={"Raw": {"Data": raw}},
        )
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raise SendError(f"SES ({region or 'default region'}) refused the message: "
                        f"{err.get('Code', '?')}: {err.get('Message', exc)}") from None
    except BotoCoreError as exc:
        raise SendError(f"cannot use SES ({region or 'default region'}): {exc}") from None
    return f"sent to {', '.join(addresses)} via SES, message id {reply.get('MessageId', '?')}"
