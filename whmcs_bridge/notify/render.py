"""Render notifications with Jinja2: one template file per notification and language.

Each ``templates/<notification>.<lang>.j2`` defines three blocks:

* ``subject`` — one line (mail subject, chat title);
* ``line`` — one line summarising this notification inside a chat digest;
* ``text`` — the message for people: what happened, what to do, the ticket number, due time.

The ``text`` block is rendered twice: once with autoescaping for the HTML mail body (wrapped in
``_mail.html.j2``) and once without for plain-text mail parts and chat. Both environments use
:class:`~jinja2.StrictUndefined`, so a template that names a key the payload lacks fails loudly
in tests instead of sending a blank. Templates only ever see the payload (which holds no
secrets, by contract) and a few derived values listed in :func:`context`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, pass_context
from markupsafe import Markup, escape

from whmcs_bridge.notify.catalog import LANGUAGES

_FORMATS = {"vi": "%H:%M ngày %d/%m/%Y", "en": "%d %b %Y, %H:%M"}


@dataclass(frozen=True)
class Rendered:
    """A message ready for any channel."""

    subject: str
    text: str
    html: str  # a whole HTML document (SMTP)
    fragment: str  # the HTML body only (WHMCS wraps custom messages in its own template)
    language: str


@pass_context
def localtime(ctx: Any, value: str | datetime | None) -> str:
    """An ISO 8601 instant shown in the recipient's time zone, in their language's format."""
    if value in (None, ""):
        return "—"
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    tz = ZoneInfo(ctx["tz"])
    local = instant.astimezone(tz)
    return f"{local.strftime(_FORMATS.get(ctx['lang'], _FORMATS['en']))} ({ctx['tz']})"


def _link_html(url: str, label: str | None = None) -> Markup:
    return Markup('<a href="{0}">{1}</a>').format(url, label or url)


def _link_text(url: str, label: str | None = None) -> str:
    return f"{label}: {url}" if label else url


@cache
def _env(html: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("whmcs_bridge.notify", "templates"),
        autoescape=html,  # noqa: S701 - the text environment renders plain text and chat only
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["localtime"] = localtime
    env.globals["link"] = _link_html if html else _link_text
    return env


def template_name(notification: str, language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    return f"{notification}.{language}.j2"


#: Names every template may use besides the payload keys.
EXTRAS = frozenset({"lang", "tz", "ticket_url", "recipient_name", "audience", "L"})


def context(payload: Mapping[str, Any], *, language: str, tz: str, audience: str = "staff",
            ticket_url: str | None = None, recipient_name: str = "") -> dict[str, Any]:
    """The template variables: the payload plus ``lang``, ``tz``, ``audience`` (staff or
    customer), ``ticket_url`` (staff only, may be None) and ``recipient_name`` (may be empty).
    ``L`` (the language's label macros) is added at render time."""
    return {**payload, "lang": language, "tz": tz, "audience": audience,
            "ticket_url": ticket_url if audience != "customer" else None,
            "recipient_name": recipient_name}


def _block(template: Template, name: str, variables: Mapping[str, Any], *, html: bool) -> str:
    labels = _env(html).get_template(f"_labels.{variables['lang']}.j2").module
    ctx = template.new_context({**variables, "L": labels})
    return "".join(template.blocks[name](ctx)).strip()


def _document(subject: str, body: Markup, language: str) -> str:
    return _env(True).get_template("_mail.html.j2").render(subject=subject, body=body,
                                                           lang=language)


def _paragraphs(body: str) -> Markup:
    """Already-escaped text (the autoescaped ``text`` block) -> ``<p>`` paragraphs with
    ``<br>`` line breaks. Only markup we add here is trusted; ``body`` was escaped by Jinja."""
    paras = [p.strip() for p in body.split("\n\n") if p.strip()]
    html = "\n".join("<p>" + p.replace("\n", "<br>\n") + "</p>" for p in paras)
    return Markup(html)  # noqa: S704 - built from Jinja-escaped text


def render(notification: str, variables: Mapping[str, Any], *, language: str) -> Rendered:
    """Render one notification (``variables`` from :func:`context`)."""
    name = template_name(notification, language)
    text_t = _env(False).get_template(name)
    html_t = _env(True).get_template(name)
    subject = " ".join(_block(text_t, "subject", variables, html=False).split())
    text = _block(text_t, "text", variables, html=False)
    body = _paragraphs(_block(html_t, "text", variables, html=True))
    return Rendered(subject=subject, text=text, html=_document(subject, body, language),
                    fragment=str(body), language=language)


def render_line(notification: str, variables: Mapping[str, Any], *, language: str) -> str:
    """The one-line summary used inside digests (plain text)."""
    template = _env(False).get_template(template_name(notification, language))
    return " ".join(_block(template, "line", variables, html=False).split())


def render_digest(notification: str, items: Iterable[Mapping[str, Any]], *,
                  language: str) -> Rendered:
    """One message summarising a burst of the same notification kind."""
    lines = [render_line(notification, v, language=language) for v in items]
    variables = {"notification": notification, "count": len(lines), "lines": lines,
                 "lang": language}
    name = template_name("digest", language)
    text_t = _env(False).get_template(name)
    subject = " ".join(_block(text_t, "subject", variables, html=False).split())
    text = _block(text_t, "text", variables, html=False)
    body = _paragraphs(str(escape(text)))
    return Rendered(subject=subject, text=text, html=_document(subject, body, language),
                    fragment=str(body), language=language)
