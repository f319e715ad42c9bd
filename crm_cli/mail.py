"""Sending e-mail through the configured SMTP server (campaigns, the agenda digest).

Settings come from `crm config` (smtp_host, smtp_port, smtp_user, smtp_security, smtp_from), each
overridden by the environment (CRM_SMTP_HOST …). The password is read only from CRM_SMTP_PASSWORD:
never stored, never printed.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from email.message import EmailMessage

from crm_cli import settings
from crm_cli.errors import CrmError, InvalidInput

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class MailError(CrmError):
    code = "smtp_error"


class MailRefused(MailError):
    """The server answered and refused this one message (recipient, sender or data rejected); the
    session is still usable for the next message."""

    code = "smtp_refused"


@dataclass
class SmtpConfig:
    host: str
    port: int
    security: str
    user: str | None
    password: str | None
    sender: str


def config(conn: sqlite3.Connection, *, default_sender: str | None = None) -> SmtpConfig:
    """The SMTP settings. `default_sender` is used when neither smtp_from nor an address-like
    smtp_user is set (campaigns pass USER@HOST, like a local mail program)."""

    def value(key: str) -> str | None:
        return os.environ.get(f"CRM_{key.upper()}") or settings.get(conn, key)

    host = value("smtp_host")
    sender = value("smtp_from") or value("smtp_user")
    if (not sender or "@" not in sender) and default_sender:
        sender = default_sender
    if not host:
        raise InvalidInput("no SMTP server configured; run `crm config set smtp_host HOST` (or set CRM_SMTP_HOST)")
    if not sender or "@" not in sender:
        raise InvalidInput("no sender address; run `crm config set smtp_from you@example.com` (or CRM_SMTP_FROM)")
    security = (value("smtp_security") or "starttls").lower()
    if security not in DEFAULT_PORTS:
        raise InvalidInput(f"invalid smtp_security {security!r}; choose starttls, ssl or none")
    port_text = value("smtp_port")
    if port_text and not port_text.isdigit():
        raise InvalidInput(f"invalid smtp_port {port_text!r}; use a number")
    return SmtpConfig(
        host=host,
        port=int(port_text) if port_text else DEFAULT_PORTS[security],
        security=security,
        user=value("smtp_user"),
        password=os.environ.get("CRM_SMTP_PASSWORD"),
        sender=sender,
    )


def build(sender: str, to: str, subject: str, text: str, html: str | None = None, *, headers=None) -> EmailMessage:
    """A UTF-8 message; Arabic subjects are RFC 2047-encoded, bodies quoted-printable or base64."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    for key, val in (headers or {}).items():
        message[key] = val
    message.set_content(text, charset="utf-8")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8")
    return message


class Connection:
    """One SMTP session for many messages: `with mail.Connection(cfg) as smtp: smtp.send(msg)`."""

    def __init__(self, cfg: SmtpConfig, timeout: float = 30):
        self.cfg, self.timeout, self.smtp = cfg, timeout, None

    def __enter__(self) -> Connection:
        import smtplib
        import ssl

        cfg = self.cfg
        try:
            if cfg.security == "ssl":
                self.smtp = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                self.smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=self.timeout)
                if cfg.security == "starttls":
                    self.smtp.starttls(context=ssl.create_default_context())
            if cfg.user and cfg.password:
                self.smtp.login(cfg.user, cfg.password)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(
                f"cannot reach SMTP server {cfg.host}:{cfg.port} ({cfg.security}): {_reason(exc)}"
            ) from None
        return self

    def send(self, message: EmailMessage) -> None:
        import smtplib

        try:
            self.smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise MailRefused(f"SMTP server refused the message to {message['To']}: {_reason(exc)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"SMTP server refused the message to {message['To']}: {_reason(exc)}") from None

    def __exit__(self, *exc_info) -> None:
        # Closing a broken session must not hide the real error.
        with contextlib.suppress(Exception):
            self.smtp.quit()


def _reason(exc: Exception) -> str:
    import smtplib

    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code, answer = next(iter(exc.recipients.values()))
        text = f"{code} {answer.decode('utf-8', 'replace') if isinstance(answer, bytes) else answer}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        answer = exc.smtp_error
        text = f"{exc.smtp_code} {answer.decode('utf-8', 'replace') if isinstance(answer, bytes) else answer}"
    else:
        text = str(exc) or type(exc).__name__
    password = os.environ.get("CRM_SMTP_PASSWORD")
    return text.replace(password, "***") if password else text
