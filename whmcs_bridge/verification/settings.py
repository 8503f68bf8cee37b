"""The ``[verification]`` settings section, with the classification rules kept as data.

Patterns are regular expressions matched against *folded* text: lower case, Vietnamese
diacritics removed and ``đ`` written ``d``, invisible characters dropped and look-alike letters
written in Latin (see :func:`whmcs_bridge.verification.classify.fold`), so ``nang cap goi`` and
``nâng cấp gói`` match the same rule. A message is an account-change
request when a change pattern matches, unless an ``exclude`` pattern (price questions, how-to
questions, reports about a past change) matches and no ``intent`` pattern (an explicit ask for
someone to do it) does. An admin can replace any list in the TOML file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from whmcs_bridge.settings import ID_KEY, Secret, SecretField, StrictSchema
from whmcs_bridge.verification import CHANGE_KINDS

_DO = (r"(nang cap|ha cap|doi|thay doi|cap nhat|chinh sua|sua|chuyen|cai|cai dat|them|tang"
       r"|upgrade|downgrade|change|update|modify|install|setup|set up|switch|move|reset|add"
       r"|increase|transfer|edit|correct)")

DEFAULT_PATTERNS: dict[str, list[str]] = {
    "package_change": [
        r"\bnang cap\b",
        r"\bha cap\b",
        r"\b(doi|chuyen|thay)( sang| qua| len| xuong| lai|( [\w.]+){1,3} (sang|qua|len|xuong))?"
        r" goi\b",
        r"\b(tang|them|mo rong|nang) (them )?(dung luong|ram|cpu|core|bang thong|o cung|disk"
        r"|tai nguyen|cau hinh|so luong website|so website|addon domain|email account)",
        r"\bthay doi cau hinh (goi|hosting|vps|server|may chu|dich vu)",
        r"\b(upgrad|downgrad)(e|ed|es|ing)\b",
        r"\bchange (my |the |our |this )?(hosting |vps |server |service )?(plan|package|tier)\b",
        r"\bswitch (to|my|our|us|me) .{0,30}\b(plan|package|tier)\b",
        r"\b(increase|add( more)?|more|extra|bigger) (the )?(disk|storage|ram|memory|cpu|cores?"
        r"|bandwidth|space|resources|inodes|quota)\b",
        r"\bmove (me|us|my account|my site|my hosting) to (a |the )?(bigger|larger|higher|"
        r"smaller|lower|business|pro|premium)",
        r"\b(move|migrate|switch|put|transfer) (me|us|my|our|this|the)( [\w.-]+){0,2} (to|onto"
        r"|into) (a |an |the )?([\w.-]+ ){0,3}(plan|package|tier)\b",
    ],
    "customer_details_change": [
        r"\b(doi|thay doi|cap nhat|sua|chinh sua|thay|bo sung)( lai)? (thong tin|email|e-mail"
        r"|dia chi|so dien thoai|sdt|ten|ho ten|ten cong ty|chu so huu|chu tai khoan|mat khau"
        r"|ma so thue|mst|nguoi lien he|lien he)",
        r"\b(reset|cap lai|dat lai|lay lai) (lai )?(mat khau|password|pass|mk)\b",
        r"\bchuyen (quyen |nhuong |giao )?(so huu|chu so huu|tai khoan|dich vu)( \w+){0,3}"
        r" (sang|cho|qua)\b",
        r"\bsang ten (tai khoan|dich vu|hosting|vps|chu so huu|cho)\b",
        r"\b(gui|cap|cho)( lai)?( cho (em|minh|toi|anh|chi))? (mat khau|password|pass|mk) moi\b",
        r"\breset (lai )?(mat khau |mk |pass )?(cpanel|ftp|directadmin|plesk|whm)\b",
        r"\b(change|update|modify|correct|edit|replace) (my |the |our |account |billing |contact "
        r"|registered |primary |login |company )*(e-?mail|address|phone|phone number|name"
        r"|company|contact|details|information|info|owner|holder|password|tax id|vat)\b",
        r"\breset (my |the |our )?([\w.-]+ ){0,3}(password|passwd)\b",
        r"\b(send|email|mail|give) (me |us )?(a |the )?new ([\w.-]+ ){0,2}(password|passwd)\b",
        r"\b(transfer|hand over) (the |my |our |this )?(hosting |client |whole )?(account|ownership"
        r"|service|hosting)( of (the |my |our |this )?(hosting |client )?(account|service"
        r"|hosting))? to\b",
        r"\b(make|set|register|put) (?!sure ).{1,40} (as )?(the )?new (account )?(owner|holder)\b",
        r"\bnew (billing )?(e-?mail|address|phone number) (is|should be|for my account)",
    ],
    "software_install": [
        r"\bcai dat phan mem\b",
        r"\bcai (dat )?(them |giup |len |cho |ho |giup minh |giup em |giup toi )*(wordpress"
        r"|joomla|drupal|magento|opencart|prestashop|laravel|ssl|php|mysql|node|nodejs|python"
        r"|ioncube|plugin|phan mem|ung dung|module|extension|composer|redis|memcached|imagick"
        r"|ffmpeg|docker|directadmin|cpanel|softaculous|git|java|tomcat|mongodb)",
        r"\binstall(ing|ed)? (a |an |the |some |me )?([\w.-]+ )?(wordpress|joomla|drupal|magento"
        r"|opencart|prestashop|laravel|software|plugin|module|extension|ssl|php|package"
        r"|application|app|ioncube|redis|memcached|nodejs|node|python|docker|imagick|ffmpeg"
        r"|composer|git|java|tomcat|mongodb)\b",
        r"\bset ?up (a |an |the )?(wordpress|joomla|magento|ssl certificate|ssl|mail server"
        r"|docker|node)\b",
        r"\b(enable|kich hoat|bat) (the )?(php )?(extension|module) ",
    ],
}

DEFAULT_EXCLUDE: list[str] = [
    r"\b(hoi gia|bao gia|xin gia|bang gia|gia bao nhieu|bao nhieu tien|chi phi|phi)\b",
    r"\b(how much|price|prices|pricing|cost|costs|quote)\b",
    r"\b(huong dan|lam sao|lam the nao|cach nao|the nao de)\b",
    r"\b(how do i|how can i|how to|is there a guide|where can i)\b",
    r"\bgia\b.{0,60}\bbao nhieu\b",
    r"\bsau khi (nang cap|ha cap|cai|doi|thay doi|cap nhat|chuyen|reset|cap|dat lai)\b",
    r"\b(em|minh|toi|anh|chi|ben em|chung toi) (da|vua) (tu )?(nang cap|doi|reset|cap nhat|cai"
    r"|chuyen(?! khoan))\b",
    r"\b(after|since) (the |i |we |you )?(upgrad|install|chang|updat|reset|mov)",
    r"\b(i|we|i've|we've|i have|we have) (already |just )?(reset|changed|updated|upgraded"
    r"|installed|transferred)\b",
    r"\b(khong|chua) (can|muon) (nang cap|doi|cai)\b",
    r"\b(don't|do not|no need to) (want to |need to )?(upgrade|change|install)\b",
]

DEFAULT_INTENT: list[str] = [
    r"(?<!khong )(?<!chua )(?<!don't )(?<!not )"
    r"\b(giup|nho|hay|vui long|lam on|please|want to|would like to|'d like to|need to|muon"
    r"|can|de nghi|yeu cau|xin|kindly)( (toi|minh|em|anh|chi|giup|help|me|us|to|duoc|cho|se"
    r"|you|kindly|ben))* " + _DO + r"\b",
]


def _compiles(value: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValidationError(f"not a valid regular expression ({exc})") from exc


def _long_enough(value: Any) -> None:
    if len(value.reveal()) < 16:
        raise ValidationError("must be at least 16 characters")


_PATTERN = fields.String(validate=_compiles)
_KIND = fields.String(validate=validate.OneOf(CHANGE_KINDS))


#: The longest window, timeout or validity in hours (a year).
YEAR_HOURS = 365 * 24


@dataclass(frozen=True, slots=True)
class VerificationConfig:
    """``[verification]``: every knob of ownership verification."""

    enabled: bool
    #: change kind -> patterns
    patterns: Mapping[str, Sequence[str]]
    exclude: Sequence[str]
    intent: Sequence[str]
    #: department id (a string: a TOML key) -> change kind
    departments: Mapping[str, str]
    #: custom field id (a string) -> change kind
    custom_fields: Mapping[str, str]
    channels_requiring_proof: Sequence[str]
    lockout_failures: int
    lockout_window_hours: float
    link_ttl_minutes: int
    auto_send_link: bool
    refusal_timeout_hours: float
    verified_ttl_hours: float
    awaiting_status: str
    refused_status: str
    verified_status: str
    redact_in_whmcs: bool
    default_language: str
    company_name: str | None
    old_secret_keys: Sequence[Secret]


class VerificationSettings(StrictSchema):
    """Every knob of ownership verification; defaults follow the published policy."""

    config = VerificationConfig

    enabled = fields.Boolean(load_default=True)
    patterns = fields.Dict(keys=_KIND, values=fields.List(_PATTERN),
                           load_default=lambda: {k: list(v) for k, v in DEFAULT_PATTERNS.items()})
    # a field named like Schema.exclude (the fields left out of a load): marshmallow reads
    # declared fields from the class, and the instance attribute is set in __init__
    exclude = fields.List(  # type: ignore[assignment]
        _PATTERN, load_default=lambda: list(DEFAULT_EXCLUDE))
    intent = fields.List(_PATTERN, load_default=lambda: list(DEFAULT_INTENT))
    #: WHMCS department id -> change kind implied by opening a ticket there.
    departments = fields.Dict(keys=ID_KEY, values=_KIND, load_default=dict)
    #: ticket custom field id -> change kind implied when the field is filled in (not "", "0",
    #: "off", "no").
    custom_fields = fields.Dict(keys=ID_KEY, values=_KIND, load_default=dict)
    #: Channels on which proof is required (client_area never is).
    channels_requiring_proof = fields.List(
        fields.String(validate=validate.OneOf(["email", "phone", "chat", "staff"])),
        load_default=lambda: ["email", "phone", "chat", "staff"])
    lockout_failures = fields.Integer(load_default=5, validate=validate.Range(min=1, max=100))
    # at most a year: longer overflowed a datetime in the running service (OverflowError)
    lockout_window_hours = fields.Float(load_default=24.0,
                                        validate=validate.Range(min=0.1, max=YEAR_HOURS))
    link_ttl_minutes = fields.Integer(load_default=30, validate=validate.Range(min=1, max=1440))
    auto_send_link = fields.Boolean(load_default=True)
    refusal_timeout_hours = fields.Float(load_default=72.0,
                                         validate=validate.Range(min=0.01, max=YEAR_HOURS))
    #: How long a verification authorises the requested change (gates allow it meanwhile).
    verified_ttl_hours = fields.Float(load_default=72.0,
                                      validate=validate.Range(min=0.01, max=YEAR_HOURS))
    awaiting_status = fields.String(load_default="On Hold")
    refused_status = fields.String(load_default="Closed")
    verified_status = fields.String(load_default="Open")
    #: Also rewrite the WHMCS message that holds a credential (UpdateTicketReply / UpdateTicket).
    redact_in_whmcs = fields.Boolean(load_default=False)
    default_language = fields.String(load_default="vi", validate=validate.OneOf(["vi", "en"]))
    #: The company's name, shown on the customer's link pages (so they do not look like
    #: phishing); unset: no name.
    company_name = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    #: Previous ``server.secret_key`` values, still accepted for links and fingerprints.
    old_secret_keys = fields.List(SecretField(validate=_long_enough), load_default=list)

    @validates_schema
    def _kinds_have_patterns(self, data: dict[str, Any], **_: Any) -> None:
        for kind, items in data.get("patterns", {}).items():
            if not items:
                raise ValidationError({"patterns": {kind: ["needs at least one pattern"]}})
