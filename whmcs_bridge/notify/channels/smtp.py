"""Mail over SMTP with :mod:`smtplib`: implicit TLS or STARTTLS, optional login.

Used for staff mail, and for customer mail when WHMCS cannot send it. A 4xx answer or a dropped
connection is retried by the outbox; a 5xx answer (unknown mailbox, message refused for good)
goes to the dead letters so a human can look. Each message carries a stable ``Message-ID``
derived from the delivery, a ``Content-Language`` and ``Auto-Submitted: auto-generated`` so
auto-responders do not answer it.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import TYPE_CHECKING

from whmcs_bridge.notify.channels.base import DeliveryError, Outgoing, required

if TYPE_CHECKING:
    from whmcs_bridge.notify.settings import SmtpConfig


def build_message(cfg: SmtpConfig, message: Outgoing) -> EmailMessage:
    """The MIME message: plain text with an HTML alternative."""
    mail = EmailMessage()
    mail["From"] = cfg.sender
    mail["To"] = message.recipient
    mail["Subject"] = message.rendered.subject
    mail["Date"] = formatdate(localtime=False)
    domain = parseaddr(cfg.sender)[1].partition("@")[2] or "whmcs-bridge.invalid"
    mail["Message-ID"] = make_msgid(idstring=message.msg_id, domain=domain)
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-WHMCS-Bridge-Notification"] = message.notification
    mail.set_content(message.rendered.text)
    mail.add_alternative(message.rendered.html, subtype="html")
    # after the body: making the message multipart moves Content-* headers into the parts
    mail["Content-Language"] = message.rendered.language
    return mail


class SmtpChannel:
    name = "smtp"

    def __init__(self, cfg: SmtpConfig) -> None:
        self.cfg = cfg

    def _connect(self) -> smtplib.SMTP:
        cfg = self.cfg
        context = ssl.create_default_context(cafile=cfg.ca_file)
        host = required(cfg.host, "notifications.smtp.host")
        if cfg.ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, cfg.port,
                                                   timeout=cfg.timeout, context=context)
        else:
            client = smtplib.SMTP(host, cfg.port, timeout=cfg.timeout)
        try:
            client.ehlo()
            if cfg.starttls:
                client.starttls(context=context)
                client.ehlo()
            if cfg.username:
                client.login(cfg.username, cfg.password.reveal() if cfg.password else "")
        except BaseException:
            client.close()
            raise
        return client

    def send(self, message: Outgoing) -> None:
        mail = build_message(self.cfg, message)
        try:
            with self._connect() as client:
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"smtp: recipient refused ({', '.join(map(str, codes))})",
                                permanent=all(c >= 500 for c in codes)) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"smtp: authentication failed ({exc.smtp_code})") from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"smtp: server answered {exc.smtp_code}",
                                permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from None
